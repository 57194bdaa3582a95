/**
 * A service's start and stop, and the readiness checks that follow them. start() may be called
 * again after it failed (runService does, with backoff): it goes on from where it stopped, and
 * /readyz names the last failure until it succeeds. stop() drains in order, once.
 */
import { deadLetterOwners, type HandlerRegistry, type Subscriber } from '@scalewise/bus';
import { consumerGroupId } from '@scalewise/config';
import { ScalewiseError } from '@scalewise/errors';
import type { EventType } from '@scalewise/events';
import type { FastifyInstance } from 'fastify';
import { type ReadinessCheck, runChecks } from './app.ts';
import { type kafkaCheck, redisCheck, s3Check } from './checks.ts';
import type { ServiceContext, ServiceDefinition } from './service.ts';

export class Lifecycle<T extends EventType> {
  /** The readiness checks: the start, Kafka, the consumer, Redis, S3, the service's own. */
  readonly checks: ReadinessCheck[];
  private started = false;
  /** Why the last start failed, until one succeeds. */
  private startProblem: string | undefined;
  private drainingNow = false;
  /** The dependencies the service can work without, checked on their own every 10 s. */
  private watch: NodeJS.Timeout | undefined;
  private subscriber: Subscriber | undefined;
  private handlers: HandlerRegistry<T> | undefined;
  private stopped: Promise<void> | undefined;
  // How far start() got: a call after a failure goes on from there.
  private busStarted = false;
  private onStartRan = false;
  private onStartFailed = false;

  private readonly def: ServiceDefinition<T>;
  private readonly ctx: ServiceContext;
  private readonly kafkaReady: ReturnType<typeof kafkaCheck>;

  constructor(
    def: ServiceDefinition<T>,
    ctx: ServiceContext,
    kafkaReady: ReturnType<typeof kafkaCheck>,
    s3Bucket: string,
  ) {
    this.def = def;
    this.ctx = ctx;
    this.kafkaReady = kafkaReady;
    const { bus } = ctx;
    this.checks = [
      {
        // Until start() succeeded the service does not do its job, whatever the other checks
        // say (an S3 bucket refused at start only degrades them).
        name: 'start',
        check: async () => {
          if (!this.started)
            throw new Error(this.startProblem ? `start failed: ${this.startProblem}` : 'not started yet');
        },
      },
      kafkaReady,
      {
        // A consumer fenced by a replica under the same instance id has stopped for good.
        name: 'consumer',
        async check() {
          const why = bus.failures();
          if (why.length > 0) throw new Error(why.join('; '));
        },
      },
      redisCheck(bus.redis, def.redisDegrades, bus.redisProblem),
      // Through the S3 breaker once started only: before, the bucket may not exist yet (start
      // creates it), and the probes' 404s would hold the breaker open against that very start.
      s3Check(bus.s3, s3Bucket, {
        call: (fn) => (this.started ? bus.breakers.s3.call(fn) : fn()),
      }),
      ...(def.checks?.(ctx) ?? []),
    ];
  }

  get draining(): boolean {
    return this.drainingNow;
  }

  /** False once `onStart` failed: it is not run twice in one process. */
  get resumable(): boolean {
    return !this.onStartFailed;
  }

  async start(): Promise<void> {
    if (this.started) return;
    if (this.onStartFailed) {
      throw new ScalewiseError('INTERNAL', `${this.def.name}: onStart failed before; it is not run twice`);
    }
    try {
      await this.startSteps();
    } catch (err) {
      this.startProblem = err instanceof Error ? err.message : String(err);
      throw err;
    }
    this.started = true;
    this.startProblem = undefined;
    this.ctx.telemetry.logger.info(
      { groupId: this.def.groupId, handlers: this.def.handlers !== undefined },
      'service started',
    );
  }

  /** Drains: /readyz turns 503, the consumer finishes its record, everything closes (once). */
  stop(app: FastifyInstance): Promise<void> {
    this.stopped ??= this.drain(app);
    return this.stopped;
  }

  /** The bus, the watch of degrading dependencies, then `onStart` while the consumer joins. */
  private async startSteps(): Promise<void> {
    if (!this.busStarted) {
      await this.ctx.bus.start();
      this.busStarted = true;
    }
    this.watchDegrading();
    // The service's own work (min-enforcer's floor checks, the sensing, the syncs) starts
    // while the consumer joins its group: after a crash the join waits out the dead
    // member's session (events.session_timeout_ms), and the floor must not.
    const joining = this.join();
    joining.catch(() => undefined);
    if (!this.onStartRan) {
      this.onStartRan = true;
      try {
        await this.def.onStart?.(this.ctx);
      } catch (err) {
        this.onStartFailed = true;
        throw err;
      }
    }
    await joining;
  }

  /** Probed or not, the degrading dependencies' metric stays true and an outage opens its breaker. */
  private watchDegrading(): void {
    if (this.watch) return;
    const degrading = this.checks.filter((c) => c.degrades);
    const { metrics } = this.ctx.telemetry;
    this.watch = setInterval(() => {
      void runChecks(degrading, 2000).then((results) => {
        for (const r of results) metrics.dependencyUp(r.name, r.ok);
      });
    }, 10_000);
    this.watch.unref();
  }

  /** Joins the consumer group with the service's handlers (none: nothing to join). */
  private async join(): Promise<void> {
    const { def, ctx } = this;
    if (!def.handlers) return;
    this.handlers ??= def.handlers(ctx);
    this.subscriber ??= ctx.bus.subscribe({
      groupId: def.groupId ?? consumerGroupId(ctx.config, def.name),
      handlers: this.handlers,
      ...(def.topics ? { topics: def.topics } : {}),
      ...(def.fromBeginning !== undefined ? { fromBeginning: def.fromBeginning } : {}),
      ownsTopic: (topic) => deadLetterOwners[topic] === def.name,
    });
    const s = this.subscriber;
    try {
      await s.start();
    } catch (err) {
      // A consumer that did not join is not restarted: the next attempt makes a new one.
      this.subscriber = undefined;
      await s.stop(5000).catch(() => undefined);
      throw err;
    }
  }

  /** Each step in turn, every one tried even after another failed; their errors together. */
  private async drain(app: FastifyInstance): Promise<void> {
    const { def, ctx } = this;
    const log = ctx.telemetry.logger;
    this.drainingNow = true;
    const deadlineMs = ctx.config.shutdown_timeout_seconds * 1000;
    const errors: unknown[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        log.error({ err, step: what }, 'shutdown step failed');
      }
    };
    if (this.watch) clearInterval(this.watch);
    await step('onStop', async () => def.onStop?.(ctx));
    // The bus drains its subscribers (the record in hand finishes and is committed).
    await step('bus', () => ctx.bus.stop(deadlineMs));
    await step('readiness', () => this.kafkaReady.close());
    await step('http', () => app.close());
    log.info({ errors: errors.length }, 'service stopped');
    await step('telemetry', () => ctx.telemetry.shutdown());
    if (errors.length > 0)
      throw new AggregateError(errors, `${def.name}: ${errors.length} shutdown step(s) failed`);
  }
}
