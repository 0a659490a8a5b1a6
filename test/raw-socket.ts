/**
 * A graphql-transport-ws socket driven by hand, for tests of what the gateway does at the
 * protocol's edges (a refused ConnectionInit, a close code, an operation refused mid-socket)
 * that a client library would hide.
 */
import WebSocket from 'ws';
import { until } from './stack.ts';

/** Opens a socket to the gateway at `url` and sends ConnectionInit with `payload` (omitted when undefined). */
export function rawSocket(url: string, options: { payload?: Record<string, unknown>; localAddress?: string } = {}) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
    localAddress: options.localAddress,
  });
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  /** 'ack' once acknowledged, or how the socket closed first. */
  const outcome = new Promise<'ack' | { code: number; reason: string }>((resolve) => {
    socket.on('message', () => messages.some((m) => m.type === 'connection_ack') && resolve('ack'));
    void closed.then(resolve);
  });
  const { payload } = options;
  socket.once('open', () =>
    socket.send(
      JSON.stringify(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload }),
    ),
  );
  let next = 0;
  return {
    socket,
    messages,
    outcome,
    closed,
    /** Sends an operation; returns its id. */
    send(query: string, variables?: Record<string, unknown>): string {
      const id = String(++next);
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      return id;
    },
    /** The end of operation `id`: its error payload, or 'complete'. */
    end: (id: string) =>
      until(`operation ${id} ends`, () => {
        const m = messages.find((x) => x.id === id && (x.type === 'error' || x.type === 'complete'));
        return m && (m.type === 'error' ? (m.payload as any[]) : ('complete' as const));
      }),
  };
}
