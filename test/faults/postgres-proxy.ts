/**
 * A TCP proxy in front of a Postgres server that can hold back the server's replies on one
 * connection and hand them over later in a single write, the way a client whose event loop
 * was busy finds several messages waiting in one read. With it a test makes a race
 * deterministic: the answer to a query and the FATAL of a terminated backend read together.
 *
 * It reads just enough of the protocol (https://www.postgresql.org/docs/current/protocol-message-formats.html):
 * the client's simple Query messages ('Q') and the server's BackendKeyData ('K', the backend
 * pid). Everything else is forwarded untouched. No TLS (the tests' servers use none).
 */
import net from 'node:net';
import { freePort } from './ports.ts';

/** A connection whose replies are held: its backend pid, and the release of what was held. */
export interface HeldReplies {
  /** The server process of the connection (for pg_terminate_backend). */
  readonly pid: number;
  /** Resolves once the server has ended the connection (a terminated backend's FATAL is then held too). */
  readonly serverEnded: Promise<void>;
  /** Sends everything held in one write (then the end of the stream, if the server ended it) and stops holding. */
  release(): void;
}

/** A running proxy. */
export interface PostgresProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  /**
   * The next time a client sends a simple query matching `pattern`, the server's replies on
   * that connection are held from then on; resolves once that query has been sent on.
   */
  holdRepliesTo(pattern: RegExp): Promise<HeldReplies>;
  close(): Promise<void>;
}

/** Starts a proxy on a free port, forwarding to `target`. */
export async function startPostgresProxy(target: { host: string; port: number }): Promise<PostgresProxy> {
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let armed: { pattern: RegExp; resolve: (held: HeldReplies) => void } | undefined;

  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    let pid = 0;
    let held: Buffer[] | undefined;
    let upstreamEnded = false;
    let onUpstreamEnd = () => {};
    const serverEnded = new Promise<void>((resolve) => (onUpstreamEnd = resolve));
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close);

    // Client -> server: the startup message has no type byte; then every message is type + int32 length.
    let fromClient = Buffer.alloc(0);
    let startup = true;
    client.on('data', (chunk: Buffer) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      for (;;) {
        const headerBytes = startup ? 0 : 1;
        if (fromClient.length < headerBytes + 4) break;
        const size = headerBytes + fromClient.readInt32BE(headerBytes);
        if (fromClient.length < size) break;
        const message = fromClient.subarray(0, size);
        fromClient = fromClient.subarray(size);
        startup = false;
        if (armed && message[0] === 0x51 /* 'Q' */) {
          const query = message.subarray(5, message.length - 1).toString('utf8');
          if (armed.pattern.test(query)) {
            const { resolve } = armed;
            armed = undefined;
            held = [];
            upstream.write(message);
            resolve({
              pid,
              serverEnded,
              release() {
                const data = Buffer.concat(held ?? []);
                held = undefined;
                if (data.length > 0) client.write(data);
                if (upstreamEnded) client.end();
              },
            });
            continue;
          }
        }
        upstream.write(message);
      }
    });

    // Server -> client: forwarded (or held) as it comes; the backend pid is read on the way.
    let fromServer = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      if (pid === 0) {
        fromServer = Buffer.concat([fromServer, chunk]);
        while (pid === 0 && fromServer.length >= 5) {
          const size = 1 + fromServer.readInt32BE(1);
          if (fromServer.length < size) break;
          if (fromServer[0] === 0x4b /* 'K' */) pid = fromServer.readInt32BE(5);
          fromServer = fromServer.subarray(size);
        }
      }
      if (held) held.push(chunk);
      else client.write(chunk);
    });
    upstream.on('end', () => {
      upstreamEnded = true;
      onUpstreamEnd();
      if (!held) client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    port,
    urlFor(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.href;
    },
    holdRepliesTo(pattern) {
      return new Promise((resolve) => (armed = { pattern, resolve }));
    },
    async close() {
      armed = undefined;
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
