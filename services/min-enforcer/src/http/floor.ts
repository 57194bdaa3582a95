/**
 * min-enforcer's REST route: a pool's floor as it stands (read routes: any configured bearer
 * token, the kit's auth, docs/security.md).
 */
import { ScalewiseError } from '@scalewise/errors';
import { type FloorStatus, floorStatusJsonSchema, poolParamsJsonSchema } from '@scalewise/events';
import { desiredOf, inFlightOf, limitsOf, lossesSince, workersOf } from '@scalewise/pool';
import type { FastifyInstance } from 'fastify';
import type { MinEnforcer } from '../app.ts';

/** `GET /v1/pools/:pool/floor`: the workers, the limits in force, the violation, the repairs in flight. */
export function floorRoutes(app: FastifyInstance, enforcer: () => MinEnforcer, now: () => number): void {
  app.get<{ Params: { pool: string } }>(
    '/v1/pools/:pool/floor',
    { schema: { params: poolParamsJsonSchema, response: { 200: floorStatusJsonSchema } } },
    async (req): Promise<FloorStatus> => {
      const e = enforcer();
      const { pool } = req.params;
      const policy = e.policies.get(pool);
      if (!policy) {
        throw new ScalewiseError('NOT_FOUND', `no pool named '${pool}' in the configuration`, {
          details: { pool },
        });
      }
      const stored = await e.poolState(pool);
      if (!stored) return { pool, state: null };
      const t = now();
      const { floor, ledger } = stored;
      return {
        pool,
        workers: workersOf(ledger),
        desired: desiredOf(ledger, t),
        ...limitsOf(ledger, policy.min, policy.max),
        violation: floor.violation,
        retry_at: floor.retryAt,
        in_flight: inFlightOf(ledger, t),
        losses: lossesSince(ledger, t - policy.emergencyWindowSeconds * 1000),
      };
    },
  );
}
