// The smallest service the kit builds: it consumes PoolMetricsObserved and logs it. Run with
// `SCALEWISE_CONFIG=config/scalewise.local.yaml node packages/service/examples/minimal.ts`;
// bench/ uses it to measure the idle memory of a kit-based service.
import { eventLogger } from '@scalewise/telemetry';
import { runService } from '../src/index.ts';

await runService({
  name: 'minimal',
  version: '0.1.0',
  handlers: ({ telemetry }) => ({
    'io.scalewise.PoolMetricsObserved': async (e) => {
      eventLogger(telemetry.logger, e).debug({ pool: e.data.pool, workers: e.data.workers }, 'observed');
    },
  }),
});
