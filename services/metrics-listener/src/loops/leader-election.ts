/**
 * Which replica samples: with `sensing.leader_election` on, the one holding the cluster's Lease
 * (the others watch and wait); off, every replica (run one). A replica newly elected starts the
 * sensing periods afresh: what an earlier stretch as leader counted is stale.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '@scalewise/config';
import { type Kube, type LeaderElector, leaderElector } from '@scalewise/kube';
import type { ReadinessCheck } from '@scalewise/service';

/** The Lease metrics-listener's replicas of a cluster elect their sampler on: a DNS subdomain. */
export function leaseName(clusterId: string): string {
  const safe = clusterId
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `scalewise-${safe || 'cluster'}`.slice(0, 230).replace(/[^a-z0-9]+$/, '') + '-metrics-listener';
}

export interface ElectionDeps {
  kube: Kube;
  config: Config;
  /** This replica's name on the Lease. @default `<host>-<pid>-<random>` */
  identity?: string | undefined;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
}

export interface Election {
  /** Whether this replica samples: the elected one, or the only one when election is off. */
  leading(): boolean;
  /**
   * Starts electing; `onLeading(true)` runs each time this replica is elected. Without
   * election, `onLeading(false)` runs once, now: it leads from the start.
   */
  start(onLeading: (elected: boolean) => void): Promise<void>;
  stop(): Promise<void>;
  /** The readiness check of the Lease (none without election). */
  checks(): ReadinessCheck[];
}

export function createElection(deps: ElectionDeps): Election {
  const { kube, config, log } = deps;
  const election = config.autoscaler.sensing.leader_election;
  const lease = leaseName(config.cluster_id);
  const elector: LeaderElector | undefined = election.enabled
    ? leaderElector(kube, {
        name: lease,
        namespace: election.namespace,
        identity: deps.identity ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`,
        leaseSeconds: election.lease_seconds,
        renewSeconds: election.renew_seconds,
        onError: (err) => {
          log.warn(
            { err, lease: `${election.namespace}/${lease}` },
            'leader election: the Lease could not be read or written (metrics-listener needs get, create and update on coordination.k8s.io leases in that namespace)',
          );
        },
      })
    : undefined;
  return {
    leading: () => elector?.isLeader() ?? true,
    async start(onLeading) {
      if (!elector) {
        onLeading(false);
        return;
      }
      elector.onChange((leader) => {
        log.info({ identity: elector.identity, leader }, leader ? 'elected to sample' : 'no longer samples');
        if (leader) onLeading(true);
      });
      await elector.start();
    },
    async stop() {
      await elector?.stop();
    },
    checks: () =>
      elector
        ? [
            {
              name: 'leader-election',
              // Leader or follower is fine; a Lease that cannot be read or written is not.
              check: async () => {
                const err = elector.lastError();
                if (err !== undefined && !elector.isLeader()) throw err;
              },
            },
          ]
        : [],
  };
}
