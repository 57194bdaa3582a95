/**
 * `GET /events` (WebSocket): live events matching the filter the client sends. Its upgrade
 * needs a bearer token like every route (the kit's auth, docs/security.md); it may also carry
 * it as `?token=` (redacted from the logs) or as a subprotocol `bearer.<token>` beside the one
 * the server selects (`scalewise.v1`), as browsers cannot set headers on it.
 */
import websocket from '@fastify/websocket';
import { selectSubprotocol } from '@scalewise/service';
import type { FastifyInstance } from 'fastify';
import type { StreamHub } from '../adapters/stream.ts';

export async function streamRoutes(app: FastifyInstance, hub: StreamHub): Promise<void> {
  await app.register(websocket, {
    options: { maxPayload: 64 * 1024, handleProtocols: (protocols) => selectSubprotocol(protocols) },
  });

  app.get('/events', { websocket: true }, (socket, req) => {
    // Its request line is the only other one: the stream's clients are named here (token_name).
    req.log.info({ clients: hub.clients + 1 }, 'stream client connected');
    hub.accept(socket);
  });
}
