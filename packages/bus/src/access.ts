/**
 * What each Scalewise principal may do on Kafka: the ACLs of a broker with an authorizer
 * (docs/security.md, "Transport"). One table, read by `scalewise-bus acls` (which prints or
 * applies them), the native stack's secure mode and the secure test brokers.
 *
 * Every service: Describe and Create on every Scalewise topic (the bus creates the missing ones
 * at start and waits for their leaders), Write on the topics of the events it produces, Write
 * on `state`, `dlq` and `audit` (every service reports its breakers, dead letters and the
 * changes made through its routes), Read on the topics of the events it consumes and on its
 * consumer groups. The CLI is the operator's: Read and Write on every topic (tail, trigger,
 * replay into a topic), its `tail` groups and the replay groups.
 */
import { type TopicKey, topicKeys, topicName } from '@scalewise/events';
import type {
  AclEntry,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Admin,
  ResourcePatternTypes,
} from 'kafkajs';

/** A principal of Scalewise: a service, or the operator's CLI. */
export type KafkaRole =
  | 'metrics-listener'
  | 'decision-engine'
  | 'node-manager'
  | 'min-enforcer'
  | 'state-sync'
  | 'alert-manager'
  | 'cli';

export interface KafkaAccess {
  /** Topics it consumes (Read). */
  reads: readonly TopicKey[];
  /** Topics it publishes to (Write). */
  writes: readonly TopicKey[];
  /** Consumer groups after the group prefix (Read), literal. */
  groups: readonly string[];
  /** Consumer groups by prefix (Read): after the group prefix, or `absolute` as written. */
  groupPrefixes?: readonly { name: string; absolute?: boolean }[];
}

// Every service reports its breakers (CircuitBreakerStateChanged), its dead letters
// (DeadLetterRecorded) and the changes made through its write routes (AuditRecorded).
const reports: readonly TopicKey[] = ['state', 'dlq', 'audit'];

/** DESIGN.md sections 3 and 4: who consumes and produces what. */
export const kafkaAccess: Readonly<Record<KafkaRole, KafkaAccess>> = {
  'metrics-listener': {
    reads: [],
    // Samples, signals, NodeHealthDegraded, external triggers bridged from Redis streams.
    writes: ['metrics', 'signals', 'nodes', 'triggers', ...reports],
    groups: [],
  },
  'decision-engine': {
    reads: ['metrics', 'signals', 'nodes', 'decisions', 'actions', 'state', 'triggers'],
    // Decisions, TriggerRejected, TriggerHoldEnded; OptimalStateTrigger on signals.
    writes: ['decisions', 'signals', ...reports],
    groups: ['decision-engine'],
  },
  'node-manager': {
    reads: ['decisions'],
    writes: ['actions', 'nodes', ...reports],
    groups: ['node-manager'],
  },
  'min-enforcer': {
    reads: ['nodes', 'state', 'actions', 'triggers'],
    // AutoScaleUpToMinimum and EmergencyScaleUp; MinimumNodesViolation/Restored on state.
    writes: ['decisions', ...reports],
    groups: ['min-enforcer'],
  },
  'state-sync': {
    reads: [],
    // ClusterStateSynced and StateDriftDetected on state, NodeUnexpectedlyLost on nodes.
    writes: ['nodes', ...reports],
    groups: [],
  },
  'alert-manager': {
    // History, notifications and the live stream read everything: the first two in groups the
    // replicas share, the stream in a group of each replica's own (`alert-manager-stream-<replica>`).
    reads: topicKeys,
    writes: reports,
    groups: ['alert-manager', 'alert-manager-notify'],
    groupPrefixes: [{ name: 'alert-manager-stream-' }],
  },
  cli: {
    reads: topicKeys,
    writes: topicKeys,
    groups: [],
    // `tail` joins `<group prefix>cli-tail-<id>`; replay `scalewise-replay-<uuid>`.
    groupPrefixes: [{ name: 'cli-tail-' }, { name: 'scalewise-replay-', absolute: true }],
  },
};

export const kafkaRoles = Object.keys(kafkaAccess) as KafkaRole[];

export type KafkaAclOperation = 'Read' | 'Write' | 'Describe' | 'Create';

/** One ALLOW ACL, from any host. */
export interface KafkaAclBinding {
  principal: string;
  resource: 'topic' | 'group';
  pattern: 'literal' | 'prefixed';
  name: string;
  operation: KafkaAclOperation;
}

export interface KafkaAclOptions {
  /** @default 'scalewise.' */
  topicPrefix?: string;
  /** Full names of single topics (config `events.topics`). */
  topicNames?: Partial<Record<TopicKey, string>>;
  /** @default 'scalewise.' (config `events.group_prefix`) */
  groupPrefix?: string;
  /** The SCRAM user of a role. @default `scalewise-<role>` */
  userOf?: (role: KafkaRole) => string;
  /** @default every role */
  roles?: readonly KafkaRole[];
}

/** Every ACL the roles need, without duplicates. Pure. */
export function kafkaAclBindings(options: KafkaAclOptions = {}): KafkaAclBinding[] {
  const prefix = options.topicPrefix ?? 'scalewise.';
  const groupPrefix = options.groupPrefix ?? 'scalewise.';
  const userOf = options.userOf ?? ((r: KafkaRole) => `scalewise-${r}`);
  const topic = (k: TopicKey) => topicName(k, prefix, options.topicNames);
  const out = new Map<string, KafkaAclBinding>();
  const add = (b: KafkaAclBinding) =>
    out.set(`${b.principal}|${b.resource}|${b.pattern}|${b.name}|${b.operation}`, b);
  for (const role of options.roles ?? kafkaRoles) {
    const a = kafkaAccess[role];
    const principal = `User:${userOf(role)}`;
    const on = (k: TopicKey, operation: KafkaAclOperation) =>
      add({ principal, resource: 'topic', pattern: 'literal', name: topic(k), operation });
    for (const k of topicKeys) {
      on(k, 'Describe');
      if (role !== 'cli') on(k, 'Create');
    }
    for (const k of a.reads) on(k, 'Read');
    for (const k of a.writes) on(k, 'Write');
    for (const g of a.groups)
      add({
        principal,
        resource: 'group',
        pattern: 'literal',
        name: `${groupPrefix}${g}`,
        operation: 'Read',
      });
    for (const g of a.groupPrefixes ?? [])
      add({
        principal,
        resource: 'group',
        pattern: 'prefixed',
        name: g.absolute ? g.name : `${groupPrefix}${g.name}`,
        operation: 'Read',
      });
  }
  return [...out.values()];
}

// Kafka's protocol codes (kafkajs' enums are not named exports of its CommonJS module).
const operations: Record<KafkaAclOperation, number> = { Read: 3, Write: 4, Create: 5, Describe: 8 };
const resources = { topic: 2, group: 3 } as const;
const patterns = { literal: 3, prefixed: 4 } as const;
const allow = 3;

/** A binding as kafkajs' CreateAcls entry. Pure. */
export function toAclEntry(b: KafkaAclBinding): AclEntry {
  return {
    resourceType: resources[b.resource] as AclResourceTypes,
    resourceName: b.name,
    resourcePatternType: patterns[b.pattern] as ResourcePatternTypes,
    principal: b.principal,
    host: '*',
    operation: operations[b.operation] as AclOperationTypes,
    permissionType: allow as AclPermissionTypes,
  };
}

/** The `kafka-acls.sh` command line of a binding, for an operator's own cluster. Pure. */
export function aclCommandLine(b: KafkaAclBinding): string {
  return [
    'kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties --add',
    `--allow-principal ${b.principal}`,
    `--operation ${b.operation}`,
    `--${b.resource} '${b.name}'`,
    ...(b.pattern === 'prefixed' ? ['--resource-pattern-type prefixed'] : []),
  ].join(' ');
}

/**
 * Creates the bindings (an existing one is left as it is: CreateAcls is idempotent).
 * @throws the broker's error, e.g. CLUSTER_AUTHORIZATION_FAILED for a principal that may not alter ACLs.
 */
export async function applyKafkaAcls(admin: Admin, bindings: readonly KafkaAclBinding[]): Promise<void> {
  if (bindings.length === 0) return;
  await admin.createAcls({ acl: bindings.map(toAclEntry) });
}
