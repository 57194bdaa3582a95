/**
 * Audit records of the operator's commands that change what is on the bus (a trigger, a
 * replay into a topic, a dead letter put back): an AuditRecorded event on the audit topic,
 * naming the operator (docs/security.md, "Audit events").
 *
 * The CLI talks to Kafka directly, so its `actor` is what the machine says it is
 * (`cli:<os user>@<host>`), which the operator could change; the `principal` is the SASL user
 * the broker authenticated, when Kafka uses SASL: that one an ACL can rely on.
 */
import { hostname, userInfo } from 'node:os';
import { ScalewiseError } from '@scalewise/errors';
import { type AuditData, auditEvent, type TopicKey } from '@scalewise/events';
import { type Kafka, Partitioners } from 'kafkajs';
import { createBreaker } from './breaker.ts';
import { createPublisher } from './publisher.ts';

/** What a command did, and how it ended. */
export interface AuditInput {
  action: string;
  target: string;
  outcome: 'succeeded' | 'failed';
  reason?: string;
  pool?: string;
  details?: Record<string, unknown>;
}

/** Records one audit event; rejects when it could not be published. */
export type CommandAudit = (input: AuditInput) => Promise<void>;

/** Who runs the CLI, as the machine says: `cli:<os user>@<host>`. */
export function cliActor(who: { user?: string; host?: string } = {}): string {
  let user = who.user;
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry for the uid (some containers).
      user = `uid-${process.getuid?.() ?? 'unknown'}`;
    }
  }
  return `cli:${user}@${who.host ?? hostname()}`;
}

export interface AuditIdentity {
  actor: string;
  /** The SASL user Kafka authenticated, if any. */
  principal?: string;
  /** @default 'scalewise-cli' */
  service?: string;
}

/** The AuditRecorded data of a command. Pure but for the time. */
export function auditData(identity: AuditIdentity, input: AuditInput, at = new Date()): AuditData {
  return {
    actor: identity.actor,
    ...(identity.principal ? { principal: identity.principal } : {}),
    action: input.action,
    target: input.target,
    outcome: input.outcome,
    ...(input.reason ? { reason: input.reason.slice(0, 2000) } : {}),
    service: identity.service ?? 'scalewise-cli',
    ...(input.pool ? { pool: input.pool } : {}),
    ...(input.details ? { details: input.details } : {}),
    at: at.toISOString(),
  };
}

export interface KafkaAuditOptions extends AuditIdentity {
  kafka: () => Kafka;
  clusterid: string;
  /** @default 'scalewise.' */
  topicPrefix?: string;
  topicNames?: Partial<Record<TopicKey, string>>;
  /** @default '/scalewise/cli' */
  source?: string;
}

/**
 * An audit that publishes each record with a producer of its own (acks=all), connected for it.
 * @returns the function, which rejects with DEPENDENCY_UNAVAILABLE when Kafka did not take it.
 */
export function kafkaAudit(options: KafkaAuditOptions): CommandAudit {
  return async (input: AuditInput) => {
    const event = auditEvent(auditData(options, input), {
      source: options.source ?? '/scalewise/cli',
      clusterid: options.clusterid,
    });
    const producer = options.kafka().producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    const breaker = createBreaker('kafka-producer');
    try {
      await producer.connect();
      await createPublisher({
        producer,
        breaker,
        topicPrefix: options.topicPrefix ?? 'scalewise.',
        ...(options.topicNames ? { topicNames: options.topicNames } : {}),
      }).publish(event);
    } catch (err) {
      throw new ScalewiseError(
        'DEPENDENCY_UNAVAILABLE',
        `the audit record (${input.action} ${input.target}) could not be published: ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      breaker.shutdown();
      await producer.disconnect().catch(() => undefined);
    }
  };
}

/**
 * Runs a command's action and records it: `succeeded` with its details, or `failed` with the
 * error (then the error is thrown again). Without an audit, only runs it.
 * @throws the action's error; DEPENDENCY_UNAVAILABLE when the action succeeded but its record
 *   could not be published (the operator must know the change is not on the audit trail).
 */
export async function audited<T>(
  audit: CommandAudit | undefined,
  what: Omit<AuditInput, 'outcome' | 'reason' | 'details'>,
  action: () => Promise<T>,
  details: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  if (!audit) return action();
  let result: T;
  try {
    result = await action();
  } catch (err) {
    await audit({ ...what, outcome: 'failed', reason: (err as Error).message }).catch(() => undefined);
    throw err;
  }
  try {
    await audit({ ...what, outcome: 'succeeded', details: details(result) });
  } catch (err) {
    throw new ScalewiseError(
      'DEPENDENCY_UNAVAILABLE',
      `${what.action} ${what.target} done, but ${(err as Error).message}`,
      { cause: err },
    );
  }
  return result;
}
