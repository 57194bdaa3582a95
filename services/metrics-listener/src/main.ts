// metrics-listener: sees the cluster and says what it sees (DESIGN.md section 3; seed 000 signals, seed 004 bridge).
import { runService } from '@scalewise/service';
import { defineMetricsListener } from './service.ts';

await runService(defineMetricsListener());
