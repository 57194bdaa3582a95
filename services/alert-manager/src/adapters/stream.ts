/**
 * The live event stream over WebSocket: each client sends a filter (seed 001's shape) and gets
 * the matching events as they are consumed. A client that does not read is never waited for:
 * while its socket holds more than `highWaterBytes` unsent, its events go into a bounded
 * buffer that drops the oldest and later tells the client how many it missed.
 */

import type { Meter } from '@opentelemetry/api';
import type { AnyScalewiseEvent } from '@scalewise/events';
import type { WebSocket } from 'ws';
import { BoundedBuffer, filterProblems, matches, type StreamFilter } from '../core/index.ts';

interface Client {
  socket: WebSocket;
  filter: StreamFilter | undefined;
  buffer: BoundedBuffer<AnyScalewiseEvent>;
  timer: NodeJS.Timeout;
}

export interface StreamHub {
  /** Takes a new connection; the client must send a filter before it receives events. */
  accept(socket: WebSocket): void;
  publish(event: AnyScalewiseEvent): void;
  readonly clients: number;
  close(): void;
}

export function createStreamHub(
  options: { capacity?: number; highWaterBytes?: number; meter?: Meter } = {},
): StreamHub {
  const capacity = options.capacity ?? 1000;
  const highWater = options.highWaterBytes ?? 1 << 20;
  const clients = new Set<Client>();
  let sent = 0;
  let skipped = 0;
  if (options.meter) observeStream(options.meter, () => ({ clients: clients.size, sent, skipped }));

  const flush = (c: Client) => {
    sent += send(c, highWater);
  };

  return {
    accept(socket) {
      const c: Client = {
        socket,
        filter: undefined,
        buffer: new BoundedBuffer(capacity),
        // A blocked socket drains as the client reads: look again every 100 ms.
        timer: setInterval(() => flush(c), 100),
      };
      clients.add(c);
      socket.on('message', (raw) => {
        const asked = filterOf(raw);
        if ('problems' in asked) {
          socket.send(JSON.stringify({ kind: 'error', problems: asked.problems }));
          return;
        }
        c.filter = asked.filter;
        socket.send(JSON.stringify({ kind: 'subscribed', filter: c.filter }));
      });
      socket.on('close', () => {
        clearInterval(c.timer);
        clients.delete(c);
      });
      socket.on('error', () => socket.terminate());
    },
    publish(event) {
      for (const c of clients) {
        if (!c.filter || !matches(c.filter, event)) continue;
        const before = c.buffer.skippedTotal;
        c.buffer.push(event);
        // Counted when dropped: a client that never reads never drains its skip notice.
        skipped += c.buffer.skippedTotal - before;
        flush(c);
      }
    },
    get clients() {
      return clients.size;
    },
    close() {
      for (const c of clients) {
        clearInterval(c.timer);
        c.socket.close(1001, 'alert-manager is shutting down');
      }
      clients.clear();
    },
  };
}

/**
 * Sends what the client's buffer holds while its socket is open and holds less than
 * `highWater` unsent; returns how many events it sent.
 */
function send(c: Client, highWater: number): number {
  let events = 0;
  while (c.socket.readyState === c.socket.OPEN && c.socket.bufferedAmount < highWater) {
    const [msg] = c.buffer.drain(1);
    if (!msg) break;
    if (msg.kind === 'event') events += 1;
    c.socket.send(JSON.stringify(msg));
  }
  return events;
}

/** The filter a client's message sets, or the problems to answer it with. */
function filterOf(raw: unknown): { filter: StreamFilter } | { problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(raw));
  } catch {
    return { problems: ['the filter is not JSON'] };
  }
  const problems = filterProblems(parsed);
  return problems.length > 0 ? { problems } : { filter: parsed as StreamFilter };
}

/** The stream's gauge and counters, read from `counts` whenever the meter collects. */
function observeStream(m: Meter, counts: () => { clients: number; sent: number; skipped: number }): void {
  m.createObservableGauge('scalewise_stream_clients', {
    description: 'WebSocket clients connected',
  }).addCallback((r) => r.observe(counts().clients));
  m.createObservableCounter('scalewise_stream_events_sent_total', {
    description: 'Events sent to stream clients',
  }).addCallback((r) => r.observe(counts().sent));
  m.createObservableCounter('scalewise_stream_events_skipped_total', {
    description: 'Events dropped for clients that did not keep up',
  }).addCallback((r) => r.observe(counts().skipped));
}
