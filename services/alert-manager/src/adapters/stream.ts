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
  if (options.meter) {
    const m = options.meter;
    m.createObservableGauge('scalewise_stream_clients', {
      description: 'WebSocket clients connected',
    }).addCallback((r) => r.observe(clients.size));
    m.createObservableCounter('scalewise_stream_events_sent_total', {
      description: 'Events sent to stream clients',
    }).addCallback((r) => r.observe(sent));
    m.createObservableCounter('scalewise_stream_events_skipped_total', {
      description: 'Events dropped for clients that did not keep up',
    }).addCallback((r) => r.observe(skipped));
  }

  const flush = (c: Client) => {
    while (c.socket.readyState === c.socket.OPEN && c.socket.bufferedAmount < highWater) {
      const [msg] = c.buffer.drain(1);
      if (!msg) return;
      if (msg.kind === 'event') sent += 1;
      c.socket.send(JSON.stringify(msg));
    }
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
        let parsed: unknown;
        try {
          parsed = JSON.parse(String(raw));
        } catch {
          socket.send(JSON.stringify({ kind: 'error', problems: ['the filter is not JSON'] }));
          return;
        }
        const problems = filterProblems(parsed);
        if (problems.length > 0) {
          socket.send(JSON.stringify({ kind: 'error', problems }));
          return;
        }
        c.filter = parsed as StreamFilter;
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
