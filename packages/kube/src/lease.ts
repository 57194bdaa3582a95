/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * the holder renews the Lease every `renewSeconds`; another candidate takes it over only once
 * it has gone unrenewed for `leaseSeconds`, with the Lease's resourceVersion as precondition,
 * so two candidates never both hold it. A holder that cannot renew for `leaseSeconds` steps
 * down by itself (another may hold the Lease by then). Stopping releases it at once.
 */
import { isStatus, type Kube } from './client.ts';
import type { V1Lease } from './types.ts';

/** What a candidate reads of the Lease. */
export interface LeaseView {
  holder: string | null;
  /** Epoch ms of the last renewal (or acquisition). */
  renewedAt: number;
  durationSeconds: number;
}

export type LeaseAction = 'create' | 'renew' | 'acquire' | 'follow';

/** What `me` does with the Lease as read at `now`: pure, the elector's whole policy. */
export function leaseStep(lease: LeaseView | null, me: string, now: number): LeaseAction {
  if (lease === null) return 'create';
  if (lease.holder === me) return 'renew';
  const expired = lease.holder === null || now >= lease.renewedAt + lease.durationSeconds * 1000;
  return expired ? 'acquire' : 'follow';
}

/**
 * A MicroTime as the API takes it: RFC 3339 with exactly six fractional digits
 * (`2026-11-23T12:00:00.123000Z`); the server refuses three.
 */
export function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

/** The view of a Lease object (its times as the API sends them, RFC 3339 strings). */
export function leaseView(lease: V1Lease): LeaseView {
  const renewed = lease.spec?.renewTime || lease.spec?.acquireTime;
  const at = renewed ? Date.parse(renewed) : Number.NaN;
  return {
    holder: lease.spec?.holderIdentity || null,
    // An unreadable time counts as long ago: the Lease is taken over, not followed for ever.
    renewedAt: Number.isFinite(at) ? at : 0,
    durationSeconds: lease.spec?.leaseDurationSeconds ?? 15,
  };
}

export interface LeaderElectorOptions {
  /** The Lease's name: one per group of replicas that elect one leader. */
  name: string;
  namespace: string;
  /** This candidate: unique among the replicas (a pod name, host and pid). */
  identity: string;
  /** @default 15 */
  leaseSeconds?: number;
  /** @default 5 */
  renewSeconds?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export interface LeaderElector {
  readonly identity: string;
  isLeader(): boolean;
  /** The error of the last try, undefined when it read (and, when due, wrote) the Lease. */
  lastError(): unknown;
  /** Called on every change, with the new state. */
  onChange(listener: (leader: boolean) => void): void;
  /** The first try is done when this resolves; then it goes on every renewSeconds. */
  start(): Promise<void>;
  /** Stops trying and releases the Lease when held. */
  stop(): Promise<void>;
}

/** The Lease an elector competes for, and the client that reads and writes it. */
interface LeaseTarget {
  api: Kube['coordination'];
  name: string;
  namespace: string;
}

/** The Lease as it stands, or null when none was created yet. */
async function readLease({ api, name, namespace }: LeaseTarget): Promise<V1Lease | null> {
  try {
    return await api.readNamespacedLease({ name, namespace });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
    return null;
  }
}

/**
 * The spec of a Lease `identity` holds from `at`: acquiring it starts a new term (and, over
 * an existing Lease, counts a transition); renewing keeps the term's acquire time.
 */
function heldSpec(
  identity: string,
  leaseSeconds: number,
  at: number,
  acquire: boolean,
  lease?: V1Lease,
): V1Lease['spec'] {
  return {
    holderIdentity: identity,
    leaseDurationSeconds: leaseSeconds,
    renewTime: microTime(at),
    acquireTime: acquire || !lease?.spec?.acquireTime ? microTime(at) : lease.spec.acquireTime,
    leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (acquire && lease ? 1 : 0),
  };
}

/** Creates the Lease, or replaces it over the version read (another candidate may have moved it). */
async function writeLease(
  { api, name, namespace }: LeaseTarget,
  action: 'create' | 'renew' | 'acquire',
  spec: V1Lease['spec'],
  lease: V1Lease | null,
): Promise<void> {
  if (action === 'create') {
    await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
  } else {
    await api.replaceNamespacedLease({
      name,
      namespace,
      body: { metadata: { ...lease?.metadata, name, namespace }, spec },
    });
  }
}

/**
 * Gives the Lease up when `identity` still holds it: a renewal time far in the past lets the
 * next candidate take it at once. A Lease gone or moved meanwhile is no error.
 */
async function releaseLease(
  { api, name, namespace }: LeaseTarget,
  identity: string,
  onError: (err: unknown) => void,
): Promise<void> {
  try {
    const lease = await api.readNamespacedLease({ name, namespace });
    if (lease.spec?.holderIdentity !== identity) return;
    await api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...lease,
        spec: { ...lease.spec, holderIdentity: undefined, renewTime: microTime(0) },
      },
    });
  } catch (err) {
    if (!isStatus(err, 409) && !isStatus(err, 404)) onError(err);
  }
}

/** A candidate's standing: whether it leads, and the tries that read and write the Lease. */
interface Candidate {
  isLeader(): boolean;
  lastError(): unknown;
  onChange(listener: (leader: boolean) => void): void;
  /** Reads the Lease and, when it is ours or free, writes it; never throws. */
  tryOnce(): Promise<void>;
  /** Leads no more (before the Lease is released). */
  stepDown(): void;
}

interface CandidateOptions {
  target: LeaseTarget;
  identity: string;
  leaseSeconds: number;
  now: () => number;
  onError: (err: unknown) => void;
}

function leaseCandidate({ target, identity, leaseSeconds, now, onError }: CandidateOptions): Candidate {
  const listeners = new Set<(leader: boolean) => void>();
  let leader = false;
  /** When the Lease was last renewed by us: past this plus leaseSeconds we are no longer sure. */
  let heldUntil = 0;
  let failure: unknown;

  const set = (v: boolean) => {
    if (v === leader) return;
    leader = v;
    for (const l of listeners) l(v);
  };

  /** A try that failed: 409 means another candidate created or moved the Lease first. */
  function tryFailed(err: unknown): void {
    if (isStatus(err, 409)) {
      set(false);
      return;
    }
    failure = err;
    onError(err);
    // Unsure whether our renewals land: step down once the Lease may have expired.
    if (leader && now() >= heldUntil) set(false);
  }

  async function tryOnce(): Promise<void> {
    const at = now();
    try {
      const lease = await readLease(target);
      const action = leaseStep(lease ? leaseView(lease) : null, identity, at);
      failure = undefined;
      if (action === 'follow') {
        set(false);
        return;
      }
      const spec = heldSpec(identity, leaseSeconds, at, action !== 'renew', lease ?? undefined);
      await writeLease(target, action, spec, lease);
      heldUntil = at + leaseSeconds * 1000;
      set(true);
    } catch (err) {
      tryFailed(err);
    }
  }

  return {
    isLeader: () => leader,
    lastError: () => failure,
    onChange(listener) {
      listeners.add(listener);
    },
    tryOnce,
    stepDown: () => set(false),
  };
}

export function leaderElector(kube: Kube, options: LeaderElectorOptions): LeaderElector {
  const { name, namespace, identity } = options;
  const target: LeaseTarget = { api: kube.coordination, name, namespace };
  const renewMs = (options.renewSeconds ?? 5) * 1000;
  const candidate = leaseCandidate({
    target,
    identity,
    leaseSeconds: options.leaseSeconds ?? 15,
    now: options.now ?? Date.now,
    onError: (err) => options.onError?.(err),
  });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let turn: Promise<void> = Promise.resolve();

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      turn = turn.then(candidate.tryOnce).finally(schedule);
    }, renewMs);
  };

  return {
    identity,
    isLeader: candidate.isLeader,
    lastError: candidate.lastError,
    onChange: candidate.onChange,
    async start() {
      stopped = false;
      turn = turn.then(candidate.tryOnce);
      await turn;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await turn.catch(() => undefined);
      if (!candidate.isLeader()) return;
      candidate.stepDown();
      await releaseLease(target, identity, (err) => options.onError?.(err));
    },
  };
}
