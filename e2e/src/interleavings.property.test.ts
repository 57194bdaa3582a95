/**
 * Property tests of the four services' pure cores together, sharing one pool ledger, with the
 * events between them delivered in random interleavings: reordered across topics, repeated,
 * late. No I/O: Kafka, Redis and Kubernetes are small models here.
 *
 * - **Kubernetes** is a set of nodes: the initial ones, those node-manager's provider creates
 *   (Ready a few seconds later) and removes, and those deleted out of band (lost).
 * - **Redis** is the pool record: the ledger, each service's part, and each service's outbox
 *   per input id, applied as `createPoolStore` applies a step (a replayed input gets its stored
 *   outputs back; a step that changes nothing and says nothing writes nothing). The store's
 *   compare-and-set makes the steps of the services sequential: one step at a time here.
 * - **Kafka** is one log per topic (the partition of the pool: events keep their order within a
 *   topic), read by each consumer group at its own pace: decision-engine, min-enforcer and
 *   node-manager each read the next event of one of their topics at random moments, so topics
 *   are read in any order relative to each other, and late. A consumer may be rewound (a crash
 *   before its commit: the events after the last commit are read again), and a producer may
 *   publish an event again (a retry); a handler's outputs are published again when its input is
 *   replayed, as the shells return them to the bus.
 * - **The shells** are modelled as they call their cores: min-enforcer's `enforce` on every
 *   consumed event and on its periodic check (`check/<pool>/<interval>`), decision-engine's
 *   `decide` with the stored state and the pruned ledger, state-sync's `reconcile` of a listing
 *   (taken from a watch that lags the API by up to two seconds), node-manager's `start` and
 *   `observe` with its action records (by decision id) and `recordFacts` on every batch of
 *   events before it is published.
 *
 * What must hold, whatever the interleaving (checked at every step, and at quiescence: every
 * event read, node-manager done, state-sync listed, min-enforcer checked again):
 * 1. Numbers: every event states the ledger's numbers at the point it was produced: workers,
 *    current/desired/previous/target/new/remaining workers, min and max, the losses in the
 *    window, the actions in flight in the explanations (the ledger the step was given, with the
 *    actions claimed earlier in the same step).
 * 2. One action per deficit: a floor action only when the actions in flight, whoever claimed
 *    them, leave the pool short, for exactly what the rule gives, claimed in the same write (and
 *    never again under an id node-manager has started); a scale-up decision below the floor goes
 *    to the floor, not past it unless its own rule wants more. End to end (second and third
 *    tests): the nodes that repair a deficit add up to it, however the events are delivered.
 * 3. Never a NodeUnexpectedlyLost for a node an action removed, nor a loss in the ledger for it;
 *    one NodeUnexpectedlyLost per node, and one for every member lost out of band.
 * 4. At quiescence the ledger's members are Kubernetes' nodes, nothing is in flight, the pool is
 *    within [min, max] with the violation closed, and where the rule's target is known the pool
 *    is at exactly it: the minimum below the emergency threshold, EmergencyScaleUp's twice the
 *    deficit within max above it (a pool of 5 with min 3 that loses 3 goes to 4, not back to 5).
 *
 * Four problems were found this way, each reproduced by a todo test at the end (B1 to B4). The
 * properties keep clear of B1 to B3 (Sim.strict) so that they guard everything else; B4 (a
 * stale PendingPodsDetected grows the pool a second time) is outside what they check exactly:
 * the first property's signals make the right size unknowable, the other two send none.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  consumedEventTypes,
  decide,
  definePoolPolicy,
  type EngineInput,
  type Intent,
  initialState,
  type PoolPolicy,
  type PoolState,
  withPolicies,
} from '@scalewise/decision-engine/core';
import {
  type EventData,
  type EventType,
  eventIdOf,
  parseData,
  sampleData,
  scalingTypes,
  shortName,
  type TopicKey,
  topicOf,
} from '@scalewise/events';
import {
  defineFloorPolicy,
  type EnforcerInput,
  type EnforcerIntent,
  enforce,
  enforcerEventTypes,
  type FloorPolicy,
  type FloorPoolState,
  initialEnforcerState,
} from '@scalewise/min-enforcer/core';
import { checkFloorAction, floorTypes } from '@scalewise/min-enforcer/test-support/floor';
import {
  type Action,
  type ActionIntent,
  type ActionPolicy,
  type Command,
  type Decision,
  type Observation,
  observe,
  outstanding,
  start,
} from '@scalewise/node-manager/core';
import {
  claim,
  desiredOf,
  emptyLedger,
  inFlightOf,
  type Ledger,
  lossesSince,
  memberNames,
  pruned,
  recordFacts,
  workersOf,
} from '@scalewise/pool';
import {
  type Instance,
  type KubeNode,
  reconcile,
  type SyncIntent,
  type PoolStore as SyncPart,
} from '@scalewise/state-sync/core';
import fc from 'fast-check';

const POOL = 'workers';
const CLUSTER = 'test';
const T0 = Date.parse('2026-11-22T11:00:00.000Z');
/** The action timeout: node-manager gives up on a scale-up after half of it, the ledger after all of it. */
const ACTION_TIMEOUT_S = 900;
const ACTION_TIMEOUT_MS = ACTION_TIMEOUT_S * 1000;
const nmPolicy: ActionPolicy = {
  readyTimeoutSeconds: Math.max(10, Math.floor(ACTION_TIMEOUT_S * 0.5)),
  drainTimeoutSeconds: Math.max(10, Math.floor(ACTION_TIMEOUT_S * 0.9)),
};
const syncPolicy = {
  notReadyTimeoutSeconds: 300,
  registrationGraceSeconds: 120,
  actionTimeoutMs: ACTION_TIMEOUT_MS,
};

/** A listing this long after the last change is past the ledger's listing lag (5 s). */
const LISTING_SETTLE_MS = 6_000;

type Service = 'decision-engine' | 'min-enforcer' | 'node-manager' | 'state-sync';
type Data = Record<string, unknown>;
/** An event on the bus: the parts of a CloudEvent the cores read. */
interface Ev {
  id: string;
  type: EventType;
  source: string;
  data: Data;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const num = (d: Data, k: string): number => {
  const v = d[k];
  assert.equal(typeof v, 'number', `${k} is a number`);
  return v as number;
};

const decisionTypes: ReadonlySet<string> = new Set(scalingTypes);

/** What a consumer group reads: the topics of the types it handles (the other types there it skips). */
const group = (types: readonly string[]) => ({
  topics: [...new Set(types.map((t) => topicOf(t as EventType)))],
  handles: new Set(types),
});
const consumers = {
  'decision-engine': group(consumedEventTypes),
  'min-enforcer': group(enforcerEventTypes),
  'node-manager': group([...decisionTypes]),
};
type Consumer = keyof typeof consumers;
const consumerNames = Object.keys(consumers) as Consumer[];

// ---------------------------------------------------------------- the model

interface KNode {
  name: string;
  createdAt: number;
  /** When the kubelet reports it Ready. */
  readyAt: number;
  ready: boolean;
}

interface Setup {
  min: number;
  max: number;
  initial: number;
  emergencyScaleThreshold: number;
  emergencyWindowSeconds: number;
  checkIntervalSeconds: number;
  cooldownSeconds: number;
  underutilizedForSeconds: number;
  scaleDownWindowSeconds: number;
  /** Seconds from creation to Ready, used in turn. */
  readyDelays: number[];
}

type Op =
  | { k: 'deliver'; who: number; pick: number } // a consumer reads the next event of one of its topics
  | { k: 'rewind'; who: number; pick: number; by: number } // ... or reads the last `by` again
  | { k: 'republish'; pick: number } // a producer's retry publishes an event again
  | { k: 'nm'; pick: number; fail: boolean } // node-manager runs a command or applies what it observed
  | { k: 'sync'; lag: number } // state-sync lists the pool (its watch `lag` ms behind)
  | { k: 'tick' } // min-enforcer's periodic check
  | { k: 'lose'; pick: number } // a node is deleted out of band
  | { k: 'metrics'; cpu: number } // metrics-listener: a sample
  | { k: 'pending'; needed: number } // metrics-listener: pods pending that need `needed` nodes
  | { k: 'under'; picks: number[] }; // metrics-listener: underutilised, these nodes removable

interface Counts {
  floorActions: Ev[];
  upDecisions: Ev[];
  downDecisions: Ev[];
  started: Map<string, number>;
  lossEvents: Map<string, Set<string>>;
  replays: number;
  rewinds: number;
  republished: number;
}

class Sim {
  now = T0;
  ledger: Ledger = emptyLedger(POOL);
  private readonly parts = new Map<Service, string>();
  private readonly outbox = new Map<string, Ev[]>();
  readonly topics: Record<string, Ev[]> = {};
  private readonly offsets: Record<Consumer, Record<string, number>> = {
    'decision-engine': {},
    'min-enforcer': {},
    'node-manager': {},
  };
  /** Every distinct event published, in order (for the producers' retries). */
  private readonly published: Ev[] = [];
  private readonly seen = new Set<string>();

  readonly cluster = new Map<string, KNode>();
  /** The cluster after each change, for the lagging watch. */
  private readonly history: { at: number; nodes: KNode[] }[] = [];
  private lastSnapshot = 0;
  readonly initialNodes: string[] = [];
  /** Nodes deleted out of band, and those node-manager's provider removed (with the action). */
  readonly lostOutOfBand = new Set<string>();
  readonly removedByAction = new Map<string, string>();
  /** Nodes a scale-down decision named (its claim in the ledger names them as its victims). */
  readonly namedForRemoval = new Set<string>();
  /** Nodes whose NodeReady was written after their loss was (B2). */
  readonly rejoined = new Set<string>();

  // node-manager: its action records (by decision id) and their outbox, what it waits for, its queue.
  private readonly records = new Map<string, Action>();
  private readonly recordOutbox = new Map<string, Ev[]>();
  private readonly running = new Set<string>();
  private readonly waiting = new Map<string, string>();
  readonly queue: (
    | { kind: 'command'; c: Command }
    | { kind: 'observe'; actionId: string; o: Observation }
  )[] = [];
  private delayIndex = 0;
  private seq = 0;

  readonly floor: FloorPolicy;
  readonly engine: PoolPolicy;
  readonly counts: Counts = {
    floorActions: [],
    upDecisions: [],
    downDecisions: [],
    started: new Map(),
    lossEvents: new Map(),
    replays: 0,
    rewinds: 0,
    republished: 0,
  };
  readonly trace: string[] = [];

  readonly setup: Setup;
  /**
   * Off: the properties keep clear of the known bugs B1 to B3 (the todo tests at the end): a
   * drain does not fail while another victim of its scale-down is being removed (B3), a node a
   * scale-down decision named may go unreported when lost (B1), and a node whose NodeReady was
   * written after its loss may be reported lost twice (B2).
   */
  readonly strict: boolean;

  constructor(setup: Setup, strict = false) {
    this.setup = setup;
    this.strict = strict;
    this.floor = defineFloorPolicy({
      name: POOL,
      min: setup.min,
      max: setup.max,
      checkIntervalSeconds: setup.checkIntervalSeconds,
      emergencyScaleThreshold: setup.emergencyScaleThreshold,
      emergencyWindowSeconds: setup.emergencyWindowSeconds,
      actionTimeoutSeconds: ACTION_TIMEOUT_S,
    });
    this.engine = definePoolPolicy({
      name: POOL,
      min: setup.min,
      max: setup.max,
      cooldownSeconds: setup.cooldownSeconds,
      underutilizedForSeconds: setup.underutilizedForSeconds,
      actionTimeoutSeconds: ACTION_TIMEOUT_S,
      behavior: { scaleDown: { stabilizationWindowSeconds: setup.scaleDownWindowSeconds } },
    });
    for (let i = 1; i <= setup.initial; i++) {
      const name = `${POOL}-old-${i}`;
      this.cluster.set(name, { name, createdAt: T0 - 3_600_000, readyAt: T0 - 3_590_000, ready: true });
      this.initialNodes.push(name);
    }
    this.changed();
    // state-sync lists the pool first: from then on its size is known.
    this.sync(0);
  }

  private log(line: string): void {
    this.trace.push(`+${((this.now - T0) / 1000).toFixed(3)}s ${line}`);
  }

  private changed(): void {
    this.history.push({ at: this.now, nodes: [...this.cluster.values()].map((n) => ({ ...n })) });
  }

  /** The cluster as a watch `lag` ms behind the API had it (never older than the last one read). */
  private snapshot(lag: number): KNode[] {
    const at = Math.max(this.lastSnapshot, this.now - lag);
    this.lastSnapshot = at;
    let nodes: KNode[] = [];
    for (const h of this.history) if (h.at <= at) nodes = h.nodes;
    return nodes;
  }

  // ------------------------------------------------------------ Redis: the pool record

  /** One step of a service on the pool record, as createPoolStore applies it. */
  private apply<P>(
    service: Service,
    inputId: string,
    step: (ledger: Ledger, part: P | null) => { ledger: Ledger; part?: P; outputs: Ev[] },
  ): { outputs: Ev[]; replayed: boolean } {
    const key = `${service}:${inputId}`;
    const done = this.outbox.get(key);
    if (done) {
      this.counts.replays += 1;
      return { outputs: clone(done), replayed: true };
    }
    const ledgerJson = JSON.stringify(this.ledger);
    const partJson = this.parts.get(service);
    const next = step(
      JSON.parse(ledgerJson) as Ledger,
      partJson === undefined ? null : (JSON.parse(partJson) as P),
    );
    const nextLedger = JSON.stringify(next.ledger);
    const nextPart = next.part === undefined ? undefined : JSON.stringify(next.part);
    const ledgerChanged = nextLedger !== ledgerJson;
    const partChanged = nextPart !== undefined && nextPart !== partJson;
    if (!ledgerChanged && !partChanged && next.outputs.length === 0) return { outputs: [], replayed: false };
    if (ledgerChanged) {
      this.ledger = JSON.parse(nextLedger) as Ledger;
      this.ledgerWritten();
    }
    if (partChanged && nextPart !== undefined) this.parts.set(service, nextPart);
    this.outbox.set(key, clone(next.outputs));
    return { outputs: next.outputs, replayed: false };
  }

  /** (3) After every write: a node an action removed is never a loss in the ledger. */
  private ledgerWritten(): void {
    const losses = new Set(lossesSince(this.ledger, 0).map((l) => l.node));
    for (const [node, action] of this.removedByAction) {
      assert.ok(!losses.has(node), `the ledger has ${node} lost, but action ${action} removed it`);
      assert.notEqual(this.ledger.members[node]?.lost, true, `${node} marked lost, removed by ${action}`);
    }
  }

  // ------------------------------------------------------------ Kafka

  private publish(events: readonly Ev[]): void {
    for (const e of events) {
      parseData(e.type, e.data);
      const topic = topicOf(e.type);
      this.topics[topic] ??= [];
      this.topics[topic].push(e);
      if (this.seen.has(e.id)) continue;
      this.seen.add(e.id);
      this.published.push(e);
      if (e.type === 'io.scalewise.NodeUnexpectedlyLost') {
        const node = e.data.node_name as string;
        assert.ok(
          !this.removedByAction.has(node),
          `NodeUnexpectedlyLost ${node}, removed by ${this.removedByAction.get(node)}`,
        );
        const ids = this.counts.lossEvents.get(node) ?? new Set<string>();
        ids.add(e.id);
        this.counts.lossEvents.set(node, ids);
        if (this.strict || !this.rejoined.has(node)) {
          assert.equal(ids.size, 1, `one NodeUnexpectedlyLost per node: ${node} ${[...ids].join(', ')}`);
        }
      }
      if (floorTypes.has(e.type)) this.counts.floorActions.push(e);
      if (e.type === 'io.scalewise.ScaleUpDecision') this.counts.upDecisions.push(e);
      if (e.type === 'io.scalewise.ScaleDownDecision') {
        this.counts.downDecisions.push(e);
        for (const n of (e.data.nodes as string[] | undefined) ?? []) this.namedForRemoval.add(n);
      }
    }
  }

  private unread(who: Consumer): TopicKey[] {
    return consumers[who].topics.filter((t) => (this.offsets[who][t] ?? 0) < (this.topics[t]?.length ?? 0));
  }

  /** `who` reads the next event of one of its topics with unread events (the `pick`th). */
  deliver(who: Consumer, pick: number): boolean {
    const topics = this.unread(who);
    const topic = topics[pick % Math.max(1, topics.length)];
    if (topic === undefined) return false;
    const at = this.offsets[who][topic] ?? 0;
    this.offsets[who][topic] = at + 1;
    const e = this.topics[topic]?.[at];
    if (!e || !consumers[who].handles.has(e.type)) return true;
    this.log(`${who} reads ${shortName(e.type)} ${e.id}`);
    if (who === 'decision-engine') this.decisionEngine(e);
    else if (who === 'min-enforcer') this.minEnforcer(e);
    else this.onDecision(e);
    return true;
  }

  /** `who` crashed before committing its last `by` events on a topic: it reads them again. */
  rewind(who: Consumer, pick: number, by: number): void {
    const topics = consumers[who].topics.filter((t) => (this.offsets[who][t] ?? 0) > 0);
    const topic = topics[pick % Math.max(1, topics.length)];
    if (topic === undefined) return;
    this.offsets[who][topic] = Math.max(0, (this.offsets[who][topic] ?? 0) - by);
    this.counts.rewinds += 1;
    this.log(`${who} rewinds ${topic} by ${by}`);
  }

  /** A producer's retry: one of the last events published goes out again. */
  republish(pick: number): void {
    const recent = this.published.slice(-8);
    const e = recent[pick % Math.max(1, recent.length)];
    if (!e) return;
    this.counts.republished += 1;
    this.log(`republished ${e.id}`);
    this.publish([e]);
  }

  // ------------------------------------------------------------ time and Kubernetes

  /** Time passes: kubelets report their nodes Ready, node-manager's ticker fails overdue actions. */
  advance(dt: number): void {
    this.now += dt;
    let changed = false;
    for (const n of this.cluster.values()) {
      if (n.ready || n.readyAt > this.now) continue;
      n.ready = true;
      changed = true;
      const id = this.waiting.get(n.name);
      if (id) this.queue.push({ kind: 'observe', actionId: id, o: { kind: 'ready', node: n.name } });
    }
    if (changed) this.changed();
    for (const id of [...this.running]) {
      const a = this.records.get(id);
      if (a && this.now >= a.deadline) this.observeAction(id, { kind: 'tick' }, 'tick');
    }
  }

  /** A node deleted out of band (instance gone). */
  lose(pick: number): void {
    const names = [...this.cluster.keys()].sort();
    const name = names[pick % Math.max(1, names.length)];
    if (name === undefined) return;
    this.cluster.delete(name);
    this.lostOutOfBand.add(name);
    this.changed();
    this.log(`lost ${name}`);
  }

  // ------------------------------------------------------------ metrics-listener

  private signal<T extends EventType>(type: T, data: Partial<EventData<T>>): void {
    const id = `signal-${++this.seq}`;
    this.publish([
      { id, type, source: '/scalewise/test/metrics-listener', data: { ...sampleData[type], ...data } },
    ]);
  }

  metrics(cpu: number): void {
    const nodes = [...this.cluster.values()];
    this.signal('io.scalewise.PoolMetricsObserved', {
      pool: POOL,
      workers: nodes.length,
      ready_workers: nodes.filter((n) => n.ready).length,
      cpu_avg: cpu,
      memory_avg: cpu,
      pending_pods: 0,
    });
  }

  /** As metrics-listener reports them: the scheduling simulation over the nodes there now. */
  pending(needed: number): void {
    const nodes = [...this.cluster.values()];
    this.signal('io.scalewise.PendingPodsDetected', {
      pool: POOL,
      pending_count: 2 * needed,
      requested_cpu_millicores: needed * 4000 - 500,
      requested_memory_bytes: 2 ** 30,
      largest_pod: undefined,
      simulation: {
        pool_nodes: nodes.length,
        in_flight_nodes: nodes.filter((n) => !n.ready).length,
        fit_existing: 0,
        new_nodes: needed,
        pods_on_new_nodes: 2 * needed,
        expander: 'least_waste',
        template: { cpu_millicores: 4000, memory_bytes: 8 * 2 ** 30, pods: 110 },
        waste: { cpu_percent: 6, memory_percent: 88 },
      },
    });
  }

  under(picks: readonly number[]): void {
    const ready = [...this.cluster.values()].filter((n) => n.ready).map((n) => n.name);
    if (ready.length === 0) return;
    const removable = [...new Set(picks.map((p) => ready[p % Math.max(1, ready.length)]))].filter(
      (n): n is string => n !== undefined,
    );
    this.signal('io.scalewise.UnderutilizationWarning', {
      pool: POOL,
      workers: this.cluster.size,
      min_workers: this.setup.min,
      cpu_avg: 10,
      memory_avg: 10,
      duration: this.setup.underutilizedForSeconds + 60,
      simulation: {
        candidate_nodes: removable.length,
        removable_nodes: removable.map((node) => ({ node, cpu_percent: 5, memory_percent: 5, pods: 1 })),
        blocked_nodes: [],
      },
    });
  }

  // ------------------------------------------------------------ state-sync

  sync(lag: number): void {
    const t = this.now;
    const snap = this.snapshot(lag);
    const nodes: KubeNode[] = snap.map((n) => ({
      name: n.name,
      ready: n.ready,
      since: n.ready ? n.readyAt : n.createdAt,
      createdAt: Math.floor(n.createdAt / 1000) * 1000,
    }));
    const provider: Instance[] = snap.map((n) => ({
      id: n.name,
      node: n.name,
      alive: true,
      createdAt: n.createdAt,
    }));
    const names = new Set(snap.map((n) => n.name));
    const r = this.apply<SyncPart>('state-sync', `sync/${t}`, (ledger, stored) => {
      const out = reconcile({
        pool: POOL,
        ledger,
        stored,
        nodes,
        provider,
        completed: [],
        now: t,
        policy: syncPolicy,
      });
      checkSync(out.ledger, out.events, names);
      return {
        ledger: out.ledger,
        part: out.store,
        outputs: out.events.map((e) => ({
          id: eventIdOf(e.type, {
            pool: POOL,
            node: 'node_name' in e.data ? e.data.node_name : undefined,
            at: t,
          }),
          type: e.type,
          source: `/scalewise/${CLUSTER}/state-sync`,
          data: e.data as Data,
        })),
      };
    });
    this.log(`state-sync lists ${snap.length} (${r.outputs.map((e) => shortName(e.type)).join(', ')})`);
    this.publish(r.outputs);
  }

  // ------------------------------------------------------------ min-enforcer

  tick(): void {
    const interval = this.floor.checkIntervalSeconds * 1000;
    this.minEnforcer({ type: 'tick', id: `check/${POOL}/${Math.floor(this.now / interval)}` });
  }

  private minEnforcer(input: EnforcerInput | Ev): void {
    const t = this.now;
    const policy = this.floor;
    const r = this.apply<FloorPoolState>('min-enforcer', input.id, (ledger, stored) => {
      const pool = stored
        ? { ...stored, policy }
        : (initialEnforcerState([policy]).pools[POOL] as FloorPoolState);
      const l = pruned(ledger, t);
      const { state, events } = enforce(
        { pools: { [POOL]: pool }, ledgers: { [POOL]: l } },
        input as EnforcerInput,
        t,
      );
      const after = state.ledgers[POOL] ?? l;
      const next = state.pools[POOL] ?? pool;
      checkFloor(policy, l, after, events, pool, next, t, this.counts.started);
      return {
        ledger: after,
        part: next,
        outputs: events.map((i) => ({
          id: i.id,
          type: i.type,
          source: `/scalewise/${CLUSTER}/min-enforcer`,
          data: i.data as Data,
        })),
      };
    });
    if (input.type === 'tick' && r.outputs.length > 0) {
      this.log(`min-enforcer checks: ${r.outputs.map((e) => `${shortName(e.type)} ${e.id}`).join(', ')}`);
    } else if (r.outputs.length > 0) {
      this.log(
        `  -> ${r.outputs.map((e) => `${shortName(e.type)} ${e.id}`).join(', ')}${r.replayed ? ' (replayed)' : ''}`,
      );
    }
    this.publish(r.outputs);
  }

  // ------------------------------------------------------------ decision-engine

  private decisionEngine(e: Ev): void {
    const t = this.now;
    const policy = this.engine;
    const r = this.apply<PoolState>('decision-engine', e.id, (ledger, stored) => {
      const l = pruned(ledger, t);
      const base = stored
        ? { pools: { [POOL]: stored }, ledgers: { [POOL]: l } }
        : initialState([policy], {}, { [POOL]: l }, t);
      const { state, events } = decide(withPolicies(base, [policy]), e as unknown as EngineInput, t, {
        clusterId: CLUSTER,
      });
      const after = state.ledgers[POOL] ?? l;
      checkDecisions(policy, l, after, events, t);
      const part = state.pools[POOL];
      return {
        ledger: after,
        ...(part ? { part } : {}),
        outputs: events.map((i) => ({
          id: i.id,
          type: i.type,
          source: `/scalewise/${CLUSTER}/decision-engine`,
          data: i.data as Data,
        })),
      };
    });
    if (r.outputs.length > 0) {
      this.log(
        `  -> ${r.outputs.map((x) => `${shortName(x.type)} ${x.id}`).join(', ')}${r.replayed ? ' (replayed)' : ''}`,
      );
    }
    this.publish(r.outputs);
  }

  // ------------------------------------------------------------ node-manager

  private nmEvents(a: Action, intents: readonly ActionIntent[]): Ev[] {
    return intents.map((i) => {
      const node = (i.data as { node_name?: string }).node_name;
      return {
        id: eventIdOf(i.type, { from: a.id, node }),
        type: i.type,
        source: `/scalewise/${CLUSTER}/node-manager`,
        data: i.data as Data,
      };
    });
  }

  /** node-manager writes the facts of a batch into the ledger; the events carry its numbers. */
  private stated(batch: string, events: Ev[]): Ev[] {
    if (events.length === 0) return events;
    const t = this.now;
    const r = this.apply<never>('node-manager', `facts/${batch}`, (ledger) => {
      const l = pruned(ledger, t);
      const out = recordFacts(l, events, t, ACTION_TIMEOUT_MS);
      checkFacts(l, out.ledger, out.events);
      for (const e of events) {
        const node = e.data.node_name as string;
        if (
          e.type === 'io.scalewise.NodeReady' &&
          l.members[node]?.lost &&
          out.ledger.members[node]?.present
        ) {
          this.rejoined.add(node);
        }
      }
      return { ledger: out.ledger, outputs: out.events };
    });
    return r.outputs;
  }

  private track(a: Action): void {
    if (a.phase === 'running') {
      this.running.add(a.id);
      for (const [n, s] of Object.entries(a.nodes)) {
        if (s.state === 'requested' || s.state === 'created') this.waiting.set(n, a.id);
      }
    } else {
      this.running.delete(a.id);
      for (const n of Object.keys(a.nodes)) if (this.waiting.get(n) === a.id) this.waiting.delete(n);
    }
  }

  /** The nodes a scale-down takes, re-checked on the cluster now: those named (or any), Ready, not another action's. */
  private recheck(named: readonly string[] | undefined, count: number): { nodes: string[]; reason?: string } {
    const busy = new Set<string>(this.waiting.keys());
    for (const id of this.running) {
      const a = this.records.get(id);
      if (a?.direction === 'down') for (const n of Object.keys(a.nodes)) busy.add(n);
    }
    const nodes = (named ?? [...this.cluster.keys()].sort())
      .filter((n) => this.cluster.get(n)?.ready === true && !busy.has(n))
      .slice(0, count);
    return nodes.length > 0 ? { nodes } : { nodes, reason: 'no node may be removed' };
  }

  private onDecision(e: Ev): void {
    if (e.data.dry_run === true) return;
    const victims =
      e.type === 'io.scalewise.ScaleDownDecision'
        ? this.recheck(e.data.nodes as string[] | undefined, e.data.count as number)
        : { nodes: [] };
    const key = e.id;
    const replay = this.recordOutbox.get(key);
    let outputs: Ev[];
    let action: Action | null = null;
    let commands: Command[] = [];
    if (replay) {
      outputs = this.stated(e.id, clone(replay));
      const rec = this.records.get(key);
      if (rec?.phase === 'running' && !this.running.has(key)) {
        action = rec;
        commands = outstanding(rec);
      }
      this.log(
        `  node-manager: ${key} seen before${outputs.length ? `: ${outputs.map((x) => shortName(x.type)).join(', ')} again` : ''}`,
      );
    } else {
      const stored = this.records.get(key) ?? null;
      const s = start(stored, e as unknown as Decision, this.now, nmPolicy, victims);
      const rec = s.action ?? stored;
      if (rec) this.records.set(key, rec);
      const out = rec ? this.nmEvents(rec, s.events) : [];
      this.recordOutbox.set(key, clone(out));
      outputs = this.stated(e.id, out);
      action = s.action;
      commands = s.commands;
      if (s.action && !stored) {
        assert.ok(!this.counts.started.has(key), `${key} started twice`);
        this.counts.started.set(key, s.action.count);
      }
      this.log(
        `  node-manager starts ${key}: ${outputs.map((x) => shortName(x.type)).join(', ')} ${s.action ? JSON.stringify(Object.keys(s.action.nodes)) : ''}`,
      );
    }
    if (action) this.track(action);
    this.publish(outputs);
    for (const c of commands) this.queue.push({ kind: 'command', c });
  }

  private observeAction(actionId: string, o: Observation, label: string): void {
    const rec = this.records.get(actionId);
    assert.ok(rec, `no action ${actionId}`);
    const s = observe(rec, o, this.now);
    const next = s.action ?? rec;
    this.records.set(actionId, next);
    const events = this.nmEvents(next, s.events);
    if (events.length > 0) {
      this.log(
        `  node-manager ${label} ${'node' in o ? (o.node ?? '') : ''}: ${events.map((x) => shortName(x.type)).join(', ')}`,
      );
      this.publish(this.stated(`${label}/${++this.seq}`, events));
    }
    this.track(next);
    for (const c of s.commands) this.queue.push({ kind: 'command', c });
  }

  /** node-manager runs the `pick`th queued command or applies an observation; `fail`: the provider or the drain fails. */
  nm(pick: number, fail: boolean): boolean {
    const [item] = this.queue.splice(pick % Math.max(1, this.queue.length), 1);
    if (!item) return false;
    if (item.kind === 'observe') {
      this.observeAction(item.actionId, item.o, item.o.kind);
      return true;
    }
    const c = item.c;
    switch (c.kind) {
      case 'create': {
        if (fail) {
          this.observeAction(
            c.actionId,
            { kind: 'failed', code: 'PROVIDER_ERROR', message: 'create failed', retriable: true },
            'failed',
          );
          return true;
        }
        for (const name of c.nodes) {
          if (this.cluster.has(name) || this.lostOutOfBand.has(name)) continue;
          const delay = this.setup.readyDelays[this.delayIndex++ % this.setup.readyDelays.length] ?? 0;
          this.cluster.set(name, {
            name,
            createdAt: this.now,
            readyAt: this.now + delay * 1000,
            ready: false,
          });
        }
        this.changed();
        this.log(`provider creates ${c.nodes.join(', ')}`);
        for (const name of c.nodes) {
          this.observeAction(
            c.actionId,
            { kind: 'created', node: name, providerId: `kwok://${name}`, provider: 'kwok' },
            'created',
          );
        }
        return true;
      }
      case 'drain': {
        const rec = this.records.get(c.actionId);
        const sibling = Object.values(rec?.nodes ?? {}).some((n) => n.state === 'drained');
        if (fail && (this.strict || !sibling)) {
          this.observeAction(
            c.actionId,
            {
              kind: 'failed',
              node: c.node,
              code: 'PDB_BLOCKED',
              message: 'a PodDisruptionBudget does not give way',
              retriable: true,
            },
            'failed',
          );
        } else {
          this.observeAction(c.actionId, { kind: 'drained', node: c.node, evictedPods: 0 }, 'drained');
        }
        return true;
      }
      case 'remove': {
        const existed = this.cluster.delete(c.node);
        if (existed) {
          this.removedByAction.set(c.node, c.actionId);
          this.changed();
          this.ledgerWritten();
        }
        this.log(`provider removes ${c.node}${existed ? '' : ' (gone already)'}`);
        // Observed as removed by a later step: a listing may come in between.
        this.queue.push({
          kind: 'observe',
          actionId: c.actionId,
          o: { kind: 'removed', node: c.node, provider: 'kwok', existed },
        });
        return true;
      }
      case 'uncordon':
        return true;
    }
  }

  // ------------------------------------------------------------ running

  run(ops: ReadonlyArray<readonly [number, Op]>): void {
    for (const [dt, op] of ops) {
      this.advance(dt);
      switch (op.k) {
        case 'deliver':
          this.deliver(consumerNames[op.who % consumerNames.length] as Consumer, op.pick);
          break;
        case 'rewind':
          this.rewind(consumerNames[op.who % consumerNames.length] as Consumer, op.pick, op.by);
          break;
        case 'republish':
          this.republish(op.pick);
          break;
        case 'nm':
          this.nm(op.pick, op.fail);
          break;
        case 'sync':
          this.sync(op.lag);
          break;
        case 'tick':
          this.tick();
          break;
        case 'lose':
          this.lose(op.pick);
          break;
        case 'metrics':
          this.metrics(op.cpu);
          break;
        case 'pending':
          this.pending(op.needed);
          break;
        case 'under':
          this.under(op.picks);
          break;
      }
    }
  }

  private busy(): boolean {
    return (
      this.queue.length > 0 ||
      consumerNames.some((c) => this.unread(c).length > 0) ||
      [...this.cluster.values()].some((n) => !n.ready)
    );
  }

  /** Everything published is read, node-manager does all it was given, the nodes it made come up. */
  private flush(): void {
    for (let i = 0; i < 10_000 && this.busy(); i++) {
      this.advance(50);
      for (const c of consumerNames) while (this.deliver(c, 0)) this.advance(1);
      while (this.nm(0, false)) this.advance(1);
      const next = Math.min(...[...this.cluster.values()].filter((n) => !n.ready).map((n) => n.readyAt));
      if (Number.isFinite(next) && next > this.now) this.advance(next - this.now);
    }
    assert.ok(!this.busy(), 'drains');
  }

  /** A flush, then a listing past the listing lag, and what it says read. */
  private drain(): void {
    this.flush();
    this.advance(LISTING_SETTLE_MS);
    this.sync(0);
    this.flush();
  }

  /**
   * Quiescence: events read, actions finished (or failed at node-manager's deadline: a node lost
   * before it was Ready), the pool listed and checked again after every back-off; then (4).
   */
  settle(): void {
    let round = 0;
    for (; round < 20; round++) {
      const before = this.published.length;
      this.drain();
      // metrics-listener goes on sampling, read after everything else: no pods pending any more,
      // utilisation between the thresholds.
      this.metrics(45);
      this.drain();
      const deadlines = [...this.running].map((id) => this.records.get(id)?.deadline ?? this.now);
      if (deadlines.length > 0) {
        this.advance(Math.max(0, Math.min(...deadlines) - this.now));
        continue;
      }
      // The next check, an interval later (a restoration not said at a completion is said there).
      this.advance(this.floor.checkIntervalSeconds * 1000 + 1);
      this.tick();
      this.drain();
      const decided = this.published.slice(before).some((e) => decisionTypes.has(e.type));
      if (!decided && this.running.size === 0 && inFlightOf(this.ledger, this.now).length === 0) break;
    }
    assert.ok(round < 20, 'settles');
    const l = this.ledger;
    const size = this.cluster.size;
    assert.deepEqual(
      memberNames(l),
      [...this.cluster.keys()].sort(),
      'the ledger’s members are the cluster’s nodes',
    );
    assert.equal(workersOf(l), size);
    assert.deepEqual(inFlightOf(l, this.now), [], 'nothing in flight');
    assert.ok(size >= this.setup.min, `the floor holds: ${size} < ${this.setup.min}`);
    assert.ok(size <= this.setup.max, `within max: ${size} > ${this.setup.max}`);
    const floorState = JSON.parse(this.parts.get('min-enforcer') ?? 'null') as FloorPoolState | null;
    if (floorState) assert.equal(floorState.violation, null, 'the violation is closed');
    // (3) Every member lost out of band was reported once; nothing an action removed was.
    for (const node of this.lostOutOfBand) {
      if (this.removedByAction.has(node)) continue;
      if (!this.strict && this.namedForRemoval.has(node)) continue;
      const member = l.members[node];
      if (!member) continue;
      assert.equal(member.lost, true, `${node} is a loss in the ledger`);
      assert.ok((this.counts.lossEvents.get(node)?.size ?? 0) >= 1, `${node} reported lost`);
    }
    for (const node of this.removedByAction.keys()) assert.equal(this.counts.lossEvents.get(node), undefined);
  }
}

// ---------------------------------------------------------------- (1) and (2): the checks per producer

/** state-sync: each loss states the workers left after it; a sync, the one number all views agree on. */
function checkSync(after: Ledger, events: readonly SyncIntent[], listed: ReadonlySet<string>): void {
  const workers = workersOf(after);
  const losses = events.filter((e) => e.type === 'io.scalewise.NodeUnexpectedlyLost');
  losses.forEach((e, i) => {
    assert.ok(!listed.has(e.data.node_name), `${e.data.node_name} said lost while listed`);
    assert.equal(
      e.data.remaining_workers,
      (workers ?? 0) + losses.length - 1 - i,
      'remaining_workers is the ledger’s',
    );
  });
  for (const e of events) {
    if (e.type !== 'io.scalewise.ClusterStateSynced') continue;
    assert.equal(e.data.workers, workers, 'ClusterStateSynced states the ledger’s workers');
    assert.equal(e.data.k8s_nodes, workers);
    assert.equal(e.data.db_workers, workers);
    assert.equal(e.data.docker_containers, workers);
  }
}

/** node-manager: a start states the workers the ledger had then; a completion, those it has after. */
function checkFacts(before: Ledger, after: Ledger, events: readonly Ev[]): void {
  for (const e of events) {
    const d = e.data;
    switch (e.type) {
      case 'io.scalewise.ScaleUpStarted':
      case 'io.scalewise.ScaleDownStarted': {
        const id = d.action_id as string;
        const was = before.actions[id];
        assert.ok(!was || was.state === 'claimed', `${id} started once in the ledger`);
        const prev = num(d, 'previous_workers');
        assert.equal(prev, workersOf(before), 'previous_workers is the ledger’s at the start');
        const count = num(d, 'count');
        const up = e.type === 'io.scalewise.ScaleUpStarted';
        assert.equal(num(d, 'target_workers'), up ? prev + count : Math.max(0, prev - count));
        assert.equal(after.actions[id]?.from, prev);
        break;
      }
      case 'io.scalewise.ScalingActionCompleted': {
        const id = d.action_id as string;
        assert.equal(
          num(d, 'new_workers'),
          workersOf(after),
          'new_workers is the ledger’s after the completion',
        );
        const from = after.actions[id]?.from;
        if (from !== undefined) assert.equal(num(d, 'previous_workers'), from);
        break;
      }
      default:
        break;
    }
  }
}

/** min-enforcer: the enforce property test's checks, against the ledger the step was given. */
function checkFloor(
  policy: FloorPolicy,
  l: Ledger,
  after: Ledger,
  events: readonly EnforcerIntent[],
  pool: FloorPoolState,
  next: FloorPoolState,
  now: number,
  started: ReadonlyMap<string, number>,
): void {
  const { min } = policy;
  const workers = workersOf(l);
  const desired = desiredOf(l, now);
  const inFlight = inFlightOf(l, now);
  let violation = pool.violation !== null;
  const floor = events.filter((e) => floorTypes.has(e.type));
  assert.ok(floor.length <= 1, 'at most one floor action per input');
  for (const e of events) {
    parseData(e.type, e.data);
    assert.ok(workers !== null && desired !== null, 'nothing is said before the size is known');
    switch (e.type) {
      case 'io.scalewise.MinimumNodesViolation':
        assert.equal(e.data.current_workers, workers, 'the ledger’s workers');
        assert.equal(e.data.min_workers, min);
        assert.ok(workers < min && !violation);
        violation = true;
        break;
      case 'io.scalewise.MinimumNodesRestored':
        assert.equal(e.data.current_workers, workers, 'the ledger’s workers');
        assert.equal(e.data.min_workers, min);
        assert.ok(workers >= min && violation);
        assert.ok(!inFlight.some((a) => a.direction === 'up'), 'restored with no scale-up in flight');
        violation = false;
        break;
      case 'io.scalewise.AutoScaleUpToMinimum':
      case 'io.scalewise.EmergencyScaleUp': {
        // (2) Only for a deficit the actions in flight, whoever claimed them, do not cover.
        const deficit = min - desired;
        assert.ok(deficit >= 1, `a floor action with the deficit covered: desired ${desired}, min ${min}`);
        assert.ok(!started.has(e.id), `${e.id} issued again after node-manager started it`);
        const count = checkFloorAction(e, policy, {
          workers,
          desired,
          losses: lossesSince(l, now - policy.emergencyWindowSeconds * 1000).length,
        });
        const claimed = after.actions[e.id];
        assert.ok(claimed, 'claimed in the same write');
        assert.deepEqual([claimed.origin, claimed.direction, claimed.count], ['floor', 'up', count]);
        assert.equal(desiredOf(after, now), desired + count, 'the claim covers the deficit');
        break;
      }
      default: {
        const unreachable: never = e;
        throw new Error(`unexpected ${JSON.stringify(unreachable)}`);
      }
    }
  }
  assert.equal(next.violation !== null, violation, 'the violation flag follows the reports');
}

/**
 * decision-engine: every number is the ledger's, with the actions decided earlier in the same
 * step claimed (the step's own view moves with them); a scale-up below the floor goes to it.
 */
function checkDecisions(
  policy: PoolPolicy,
  l0: Ledger,
  after: Ledger,
  events: readonly Intent[],
  now: number,
): void {
  const { min, max } = policy;
  let l = l0;
  for (const e of events) {
    parseData(e.type, e.data);
    const workers = workersOf(l);
    const desired = desiredOf(l, now);
    const inputs = 'explanation' in e.data ? e.data.explanation.inputs : undefined;
    if (inputs) {
      assert.equal(inputs.workers, workers, 'explanation: the ledger’s workers');
      assert.equal(inputs.desired_before, desired, 'explanation: the ledger’s desired');
      assert.equal(
        inputs.in_flight_actions,
        inFlightOf(l, now).length,
        'explanation: the ledger’s actions in flight',
      );
      assert.equal(inputs.min_workers, min);
      assert.equal(inputs.max_workers, max);
    }
    switch (e.type) {
      case 'io.scalewise.ScaleUpDecision':
      case 'io.scalewise.ScaleDownDecision': {
        const up = e.type === 'io.scalewise.ScaleUpDecision';
        assert.ok(desired !== null);
        assert.equal(e.data.current_workers, desired, 'current_workers: the size the ledger heads for');
        assert.ok(e.data.count >= 1);
        assert.equal(e.data.desired_workers, up ? desired + e.data.count : desired - e.data.count);
        assert.ok(e.data.desired_workers <= max && e.data.desired_workers >= (up ? 0 : min));
        if (up) {
          // (2) Below the floor, to the floor, unless its own rule wanted more: never the deficit twice.
          const wanted = inputs?.wanted_workers;
          assert.equal(typeof wanted, 'number');
          assert.ok(
            e.data.desired_workers <= Math.max(Math.min(min, max), wanted as number),
            `a scale-up past its rule and the floor: ${e.data.desired_workers}`,
          );
        }
        const claimed = after.actions[e.id];
        assert.ok(claimed, 'claimed in the same write');
        assert.deepEqual(
          [claimed.origin, claimed.direction, claimed.count],
          ['decision', up ? 'up' : 'down', e.data.count],
        );
        l = claim(l, {
          id: e.id,
          direction: up ? 'up' : 'down',
          count: e.data.count,
          origin: 'decision',
          now,
          timeoutMs: ACTION_TIMEOUT_MS,
          ...(!up && e.data.nodes ? { nodes: e.data.nodes } : {}),
        });
        break;
      }
      case 'io.scalewise.ScaleDownBlocked':
        assert.equal(e.data.workers, workers ?? 0, 'the ledger’s workers');
        assert.equal(e.data.min_workers, min);
        break;
      case 'io.scalewise.OptimalStateTrigger':
        assert.equal(e.data.current_workers, e.data.state === 'active' ? workers : (workers ?? desired));
        assert.equal(e.data.min_workers, min);
        break;
      default:
        break;
    }
  }
}

// ---------------------------------------------------------------- generators

const pick = fc.nat(1_000);
const deliverOp = fc.record({ k: fc.constant('deliver' as const), who: fc.nat(2), pick });
const rewindOp = fc.record({
  k: fc.constant('rewind' as const),
  who: fc.nat(2),
  pick,
  by: fc.integer({ min: 1, max: 3 }),
});
const nmOp = (failures: boolean) =>
  fc.record({
    k: fc.constant('nm' as const),
    pick,
    fail: failures ? fc.nat(4).map((n) => n === 0) : fc.constant(false),
  });

const baseOps = (failures: boolean): fc.WeightedArbitrary<Op>[] => [
  { weight: 12, arbitrary: deliverOp },
  { weight: 1, arbitrary: rewindOp },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('republish' as const), pick }) },
  { weight: 7, arbitrary: nmOp(failures) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('sync' as const),
      lag: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_000 })),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ k: 'tick' as const }) },
];

/** Milliseconds between two steps: mostly quick, sometimes seconds. */
const dtArb = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3_000 }) },
);

const setupArb = (
  o: { threshold?: fc.Arbitrary<number>; initial?: (min: number, max: number) => fc.Arbitrary<number> } = {},
) =>
  fc
    .record({
      min: fc.integer({ min: 1, max: 4 }),
      span: fc.integer({ min: 0, max: 4 }),
      emergencyScaleThreshold: o.threshold ?? fc.integer({ min: 1, max: 3 }),
      checkIntervalSeconds: fc.integer({ min: 1, max: 10 }),
      cooldownSeconds: fc.integer({ min: 0, max: 30 }),
      underutilizedForSeconds: fc.integer({ min: 0, max: 60 }),
      scaleDownWindowSeconds: fc.integer({ min: 0, max: 30 }),
      readyDelays: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 5 }),
    })
    .chain(({ min, span, ...rest }) =>
      (o.initial ?? ((_: number, max: number) => fc.integer({ min: 0, max })))(min, min + span).map(
        (initial): Setup => ({ ...rest, min, max: min + span, initial, emergencyWindowSeconds: 600 }),
      ),
    );

const check = <T>(arb: fc.Arbitrary<T>, body: (t: T) => void, numRuns: number) =>
  fc.assert(fc.property(arb, body), { numRuns });

/** Runs a simulation to quiescence, adding its last steps to a failure's message. */
function simulate(
  setup: Setup,
  ops: ReadonlyArray<readonly [number, Op]>,
  hooks: { before?: (sim: Sim) => void; after?: (sim: Sim) => void; strict?: boolean } = {},
): Sim {
  const sim = new Sim(setup, hooks.strict);
  try {
    hooks.before?.(sim);
    sim.run(ops);
    sim.settle();
    hooks.after?.(sim);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\n--- last steps ---\n${sim.trace.slice(-40).join('\n')}`, { cause: err });
  }
  return sim;
}

const opsArb = (extra: fc.WeightedArbitrary<Op>[], failures: boolean, maxLength: number) =>
  fc.array(fc.tuple(dtArb, fc.oneof(...baseOps(failures), ...extra)), {
    minLength: 1,
    maxLength,
    size: 'max',
  });
const loseOp: fc.WeightedArbitrary<Op> = {
  weight: 1,
  arbitrary: fc.record({ k: fc.constant('lose' as const), pick }),
};
/** Samples that ask for nothing: utilisation between the low thresholds and the targets. */
const quietMetrics: fc.WeightedArbitrary<Op> = {
  weight: 1,
  arbitrary: fc.record({ k: fc.constant('metrics' as const), cpu: fc.constantFrom(45, 55) }),
};

const noDecisions = (sim: Sim) => {
  assert.deepEqual(
    [...sim.counts.upDecisions, ...sim.counts.downDecisions].map((e) => e.id),
    [],
    'the decision engine has nothing to decide',
  );
};

// ---------------------------------------------------------------- properties

describe('the services’ cores on one ledger, their events delivered in any order', () => {
  test('numbers are the ledger’s; one action per deficit; no loss for a removed node; the floor holds at the end', () => {
    const seen = { emergency: 0, auto: 0, up: 0, down: 0, replays: 0, rewinds: 0, republished: 0 };
    check(
      fc.tuple(
        setupArb({ initial: (min, max) => fc.oneof(fc.integer({ min, max }), fc.integer({ min: 0, max })) }),
        opsArb(
          [
            loseOp,
            {
              weight: 1,
              arbitrary: fc.record({ k: fc.constant('metrics' as const), cpu: fc.constantFrom(10, 45, 60) }),
            },
            {
              weight: 1,
              arbitrary: fc.record({
                k: fc.constant('pending' as const),
                needed: fc.integer({ min: 1, max: 3 }),
              }),
            },
            {
              weight: 3,
              arbitrary: fc.record({
                k: fc.constant('under' as const),
                picks: fc.array(pick, { minLength: 1, maxLength: 3 }),
              }),
            },
          ],
          true,
          120,
        ),
      ),
      ([setup, ops]) => {
        const sim = simulate(setup, ops);
        const floor = sim.counts.floorActions;
        seen.emergency += floor.filter((e) => e.type === 'io.scalewise.EmergencyScaleUp').length;
        seen.auto += floor.filter((e) => e.type === 'io.scalewise.AutoScaleUpToMinimum').length;
        seen.up += sim.counts.upDecisions.length;
        seen.down += sim.counts.downDecisions.length;
        seen.replays += sim.counts.replays;
        seen.rewinds += sim.counts.rewinds;
        seen.republished += sim.counts.republished;
      },
      300,
    );
    for (const [what, n] of Object.entries(seen))
      assert.ok(n > 0, `never happened: ${what} (${JSON.stringify(seen)})`);
  });

  // Below the emergency threshold the rule's target is the minimum, however the losses come
  // (several at once or one by one, before, during or after a repair, a repair's own node
  // included) and however the repairs go (a provider that fails a creation, a node lost before
  // it was Ready: node-manager fails the action at its deadline, the floor repairs again).
  test('losses below the emergency threshold: the pool ends at exactly max(min, what is left of it)', () => {
    check(
      fc.tuple(
        setupArb({ threshold: fc.constant(1_000), initial: (min, max) => fc.integer({ min, max }) }),
        opsArb([loseOp, quietMetrics], true, 100),
      ),
      ([setup, ops]) => {
        simulate(setup, ops, {
          after: (sim) => {
            const left = sim.initialNodes.filter((n) => !sim.lostOutOfBand.has(n)).length;
            assert.equal(
              sim.cluster.size,
              Math.max(setup.min, left),
              `min ${setup.min}, ${left} of ${setup.initial} left`,
            );
            assert.ok(sim.counts.floorActions.every((e) => e.type === 'io.scalewise.AutoScaleUpToMinimum'));
            noDecisions(sim);
          },
        });
      },
      200,
    );
  });

  // Seen by one listing, the losses are one deficit, repaired by one action: AutoScaleUpToMinimum
  // to the minimum, or, with `threshold` losses or more, EmergencyScaleUp to twice the deficit
  // within max (a pool of 5 with min 3 that loses 3 goes to 4, never back to 5).
  test('a burst of losses seen at once: one floor action, and the pool ends at exactly the rule’s target', () => {
    const seen = { emergency: 0, auto: 0, none: 0 };
    check(
      fc.tuple(
        setupArb({ initial: (min, max) => fc.integer({ min, max }) }),
        fc.nat(),
        fc.integer({ min: 0, max: 5_000 }),
        opsArb([quietMetrics], false, 100),
      ),
      ([setup, burst, gap, ops]) => {
        const lost = 1 + (burst % setup.initial);
        simulate(setup, ops, {
          before: (sim) => {
            sim.advance(gap);
            for (let i = 0; i < lost; i++) sim.lose(burst);
          },
          after: (sim) => {
            const left = setup.initial - lost;
            const floor = sim.counts.floorActions;
            if (left >= setup.min) {
              seen.none += 1;
              assert.deepEqual(floor, [], 'no deficit, no repair');
              assert.equal(sim.cluster.size, left);
              noDecisions(sim);
              return;
            }
            const deficit = setup.min - left;
            assert.equal(floor.length, 1, `one repair: ${floor.map((e) => e.id).join(', ')}`);
            const [action] = floor as [Ev];
            if (lost >= setup.emergencyScaleThreshold) {
              seen.emergency += 1;
              const add = Math.min(setup.max - left, 2 * deficit);
              assert.equal(action.type, 'io.scalewise.EmergencyScaleUp');
              assert.equal(action.data.emergency_scale, add);
              assert.equal(sim.cluster.size, left + add, 'EmergencyScaleUp’s target');
            } else {
              seen.auto += 1;
              assert.equal(action.type, 'io.scalewise.AutoScaleUpToMinimum');
              assert.equal(action.data.scale_up_count, deficit);
              assert.equal(sim.cluster.size, setup.min, 'the minimum');
            }
            noDecisions(sim);
          },
        });
      },
      200,
    );
    for (const [what, n] of Object.entries(seen))
      assert.ok(n > 0, `never happened: ${what} (${JSON.stringify(seen)})`);
  });
});

// ---------------------------------------------------------------- known bugs (todo)
// Each runs the model strictly on the shortest interleaving the properties found. Fixed, a test
// passes: drop its `todo`, and the part of Sim.strict that kept the properties clear of it.

/** Defaults for the reproductions: no cooldown, no waiting on underutilisation, nodes Ready at once. */
const plain = (o: Partial<Setup>): Setup => ({
  min: 2,
  max: 4,
  initial: 4,
  emergencyScaleThreshold: 3,
  emergencyWindowSeconds: 600,
  checkIntervalSeconds: 1,
  cooldownSeconds: 0,
  underutilizedForSeconds: 0,
  scaleDownWindowSeconds: 0,
  readyDelays: [0],
  ...o,
});
const at0 = (...ops: Op[]): [number, Op][] => ops.map((op) => [0, op]);

describe('bugs the properties above found, each reproduced', () => {
  test('B1: a node lost out of band while a scale-down decision naming it is claimed is reported lost', () => {
    // (a) decision-engine decides to remove workers-old-1 (an UnderutilizationWarning named it)
    // and claims the action with it as a victim; old-1 is deleted out of band before
    // node-manager starts the action. The listing takes old-1's departure for the decision's
    // removal: no NodeUnexpectedlyLost, no loss in the emergency window; node-manager then
    // finds no victim and fails the action.
    simulate(
      plain({ min: 1, max: 2, initial: 2 }),
      [
        [0, { k: 'under', picks: [0] }],
        [0, { k: 'lose', pick: 0 }],
        [0, { k: 'deliver', who: 0, pick: 0 }], // decision-engine: ScaleDownDecision [old-1]
        [1, { k: 'sync', lag: 0 }], // old-1 gone: "removed by the decision"
      ],
      { strict: true },
    );
  });

  test('B1b: a stale scale-down decision naming a node already reported lost leaves the loss in the ledger', () => {
    // The loss of old-1 is reported (NodeUnexpectedlyLost) and recorded; decision-engine then
    // reads an older UnderutilizationWarning that named old-1, and its decision's claim turns
    // the loss into a removal by the decision: it leaves the emergency window's count.
    simulate(
      plain({ min: 1, max: 3, initial: 3 }),
      [
        [0, { k: 'under', picks: [0] }],
        [0, { k: 'lose', pick: 0 }],
        [1, { k: 'sync', lag: 0 }], // NodeUnexpectedlyLost old-1
        [0, { k: 'deliver', who: 0, pick: 0 }], // decision-engine: ScaleDownDecision [old-1]
      ],
      { strict: true },
    );
  });

  test('B2: a NodeReady written after the node was reported lost does not bring it back', () => {
    // A floor repair's node becomes Ready; node-manager has yet to write its NodeReady when the
    // node is deleted and state-sync reports it lost. The NodeReady written next is newer than
    // the tombstone: the ledger counts the node again until a listing reports it lost again (and
    // min-enforcer meanwhile says MinimumNodesRestored, current_workers 1, for a pool with no node).
    simulate(
      plain({ min: 1, max: 1, initial: 0 }),
      [
        [0, { k: 'tick' }], // AutoScaleUpToMinimum
        [0, { k: 'deliver', who: 2, pick: 0 }], // node-manager starts it
        [0, { k: 'nm', pick: 0, fail: false }], // creates the node (Ready 0 s later)
        [1, { k: 'sync', lag: 0 }],
        [0, { k: 'lose', pick: 0 }],
        [1, { k: 'sync', lag: 0 }], // NodeUnexpectedlyLost
        [1, { k: 'nm', pick: 0, fail: false }], // NodeReady
      ],
      { strict: true },
    );
  });

  test('B3: a victim removed after a sibling’s drain failed is the action’s removal, not a loss', () => {
    // A scale-down of workers-old-1 and workers-old-2: old-1 is drained, and its removal is under
    // way when old-2's drain fails (a PodDisruptionBudget): the action fails. The provider removes
    // old-1 all the same; its NodeRemoved is never said (the action no longer runs), and the
    // next listing finds old-1 gone with no action of ours removing it.
    simulate(
      plain({}),
      at0(
        { k: 'under', picks: [0, 1] },
        { k: 'deliver', who: 0, pick: 0 }, // decision-engine: ScaleDownDecision [old-1, old-2]
        { k: 'deliver', who: 2, pick: 0 }, // node-manager: ScaleDownStarted
        { k: 'nm', pick: 0, fail: false }, // old-1 drained: its removal is issued
        { k: 'nm', pick: 0, fail: true }, // old-2's drain fails: ScalingActionFailed
      ),
      { strict: true },
    );
  });

  test('B4: pods pending when nodes were lost, read after the floor repair placed them, do not grow the pool past the minimum', () => {
    // min 3: two of three nodes are lost; their pods are pending (metrics-listener: one node's
    // worth). min-enforcer repairs the deficit (+2) and the pods fit there; decision-engine reads
    // the PendingPodsDetected only after the repair completed, and sizes it from the workers of
    // now: 3 + 1. One deficit, two actions: the pool ends at 4, not at the minimum.
    simulate(
      plain({ min: 3, max: 6, initial: 3, emergencyScaleThreshold: 99 }),
      [
        [0, { k: 'lose', pick: 0 }],
        [0, { k: 'lose', pick: 0 }],
        [1_000, { k: 'sync', lag: 0 }], // two NodeUnexpectedlyLost
        [0, { k: 'pending', needed: 1 }],
        [0, { k: 'tick' }], // AutoScaleUpToMinimum +2
        [0, { k: 'deliver', who: 2, pick: 0 }], // node-manager starts it
        [0, { k: 'nm', pick: 0, fail: false }], // creates two nodes, Ready at once
        [1, { k: 'nm', pick: 0, fail: false }], // NodeReady
        [1, { k: 'nm', pick: 0, fail: false }], // NodeReady, ScalingActionCompleted
      ],
      {
        strict: true,
        after: (sim) => {
          assert.equal(sim.cluster.size, 3, 'the minimum');
          noDecisions(sim);
        },
      },
    );
  });

  test('B5: a worker of a scale-up lost out of band before it joined stays a loss when the failed action cleans up', () => {
    // min 1: the node is lost, the floor repair makes a new one (Ready 1 s later); it is lost
    // out of band before it is Ready; the action times out and deletes its unjoined workers. The
    // provider finds nothing to delete: node-manager says no NodeRemoved (not_joined), the ledger
    // keeps the loss state-sync judged, and the floor is repaired again.
    simulate(
      plain({ min: 1, max: 1, initial: 1, emergencyScaleThreshold: 1000, readyDelays: [1] }),
      [
        [0, { k: 'lose', pick: 0 }],
        [1, { k: 'sync', lag: 0 }],
        [0, { k: 'deliver', who: 1, pick: 0 }],
        [0, { k: 'deliver', who: 2, pick: 0 }],
        [0, { k: 'nm', pick: 0, fail: false }],
        [0, { k: 'lose', pick: 0 }],
        [0, { k: 'tick' }],
      ],
      {
        strict: true,
        after: (sim) => {
          assert.equal(sim.cluster.size, 1, 'the minimum');
          assert.equal(sim.lostOutOfBand.size, 2, 'both nodes were lost out of band');
        },
      },
    );
  });
});
