/**
 * Free TCP ports on 127.0.0.1 for throwaway servers that must come back on the SAME port
 * after being stopped.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Lowest port we hand out: clear of the well-known and common development ports. */
const LOWEST_PORT = 15_000;
/** Used when the kernel's ephemeral range cannot be read (not Linux). */
const DEFAULT_EPHEMERAL_START = 32_768;
const MAX_ATTEMPTS = 200;

/**
 * Ports handed out by this process. Two servers of one test file must never get the same
 * port, even if the first has not bound it yet (a server starts a while after freePort).
 */
const handedOut = new Set<number>();

/**
 * A port nobody listens on now, picked at random BELOW the kernel's ephemeral range.
 *
 * Why not `listen(0)`: that returns a port from the ephemeral range, which the kernel also
 * gives to outgoing connections as their local port. While a throwaway server is stopped,
 * the gateway's clients keep reconnecting to it (and to everything else), and one of those
 * sockets can take the stopped server's port, so its restart fails with EADDRINUSE. Ports
 * below the range are never auto-assigned, so only an explicit bind can take them.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralRangeStart();
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (high - LOWEST_PORT));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort: no free port in [${LOWEST_PORT}, ${high}) after ${MAX_ATTEMPTS} attempts`);
}

/** First port of the range Linux assigns to outgoing connections (net.ipv4.ip_local_port_range). */
function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(start);
    // A range configured to start very low leaves no room below it; fall back to the default.
    return Number.isInteger(port) && port > LOWEST_PORT + 1_000 ? port : DEFAULT_EPHEMERAL_START;
  } catch {
    return DEFAULT_EPHEMERAL_START;
  }
}

/** True when a listener can bind 127.0.0.1:port right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    // exclusive: a cluster primary must not hand us a shared handle and hide a conflict.
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
