import { createServer } from 'node:net';

/**
 * A port of 127.0.0.1 that was free a moment ago: bound, then closed. Nothing listens there
 * (until something else takes it), so a connection to it is refused; or a server of the test
 * may listen on it.
 *
 * @throws Error when no port can be bound.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
