/**
 * What the subscriber writes when it dead-letters a record (DESIGN.md section 6): the
 * {@link DeadLetter} stored in S3, and the DeadLetterRecorded event published after it. Pure:
 * the subscriber does the storing, the publishing and the commit.
 */
import { errorCode, isRetriable, ScalewiseError } from '@scalewise/errors';
import { type AnyScalewiseEvent, createEvent } from '@scalewise/events';
import type { KafkaMessage } from 'kafkajs';
import type { DeadLetter } from './dlq.ts';

/** The record that failed: where it came from, and the event it carried if it decoded. */
export interface FailedRecord {
  topic: string;
  partition: number;
  message: KafkaMessage;
  event: AnyScalewiseEvent | undefined;
}

/** Who dead-letters: the service, its consumer group, its cluster. */
export interface DeadLetterOwner {
  service: string;
  groupId: string;
  clusterid: string;
}

/** How the record failed: the error, after how many attempts, from when to when (epoch ms). */
export interface Failure {
  err: unknown;
  attempts: number;
  firstFailure: number;
  lastFailure: number;
}

/** A record's headers as strings: the first of a repeated header, UTF-8 of a buffer. */
function recordHeaders(message: KafkaMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[0] : v;
    if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return headers;
}

/** The error to report: a handler's own, not the retry loop's RETRIES_EXHAUSTED around it. */
function rootCause(err: unknown): unknown {
  return err instanceof ScalewiseError && err.code === 'RETRIES_EXHAUSTED' && err.cause ? err.cause : err;
}

/** The dead letter of a record, with the record byte for byte and why it failed. */
export function deadLetterOf(owner: DeadLetterOwner, r: FailedRecord, failure: Failure): DeadLetter {
  const { topic, partition, message, event } = r;
  const headers = recordHeaders(message);
  const cause = rootCause(failure.err);
  return {
    version: 1,
    service: owner.service,
    consumer_group: owner.groupId,
    topic,
    partition,
    offset: message.offset,
    record: {
      key: message.key ? message.key.toString('utf8') : null,
      value_base64: message.value ? message.value.toString('base64') : null,
      headers,
      timestamp: message.timestamp ?? null,
    },
    event_id: event?.id ?? headers.ce_id ?? null,
    event_type: event?.type ?? headers.ce_type ?? null,
    error: {
      code: errorCode(cause),
      message: cause instanceof Error ? cause.message : String(cause),
      stack: cause instanceof Error ? (cause.stack ?? null) : null,
      retriable: isRetriable(cause),
    },
    attempts: failure.attempts,
    first_failure_at: new Date(failure.firstFailure).toISOString(),
    last_failure_at: new Date(failure.lastFailure).toISOString(),
  };
}

/** DeadLetterRecorded for dead letter `d`, stored in `bucket` under `key`. */
export function deadLetterRecorded(
  owner: DeadLetterOwner,
  r: FailedRecord,
  d: DeadLetter,
  stored: { bucket: string; key: string },
) {
  const { topic, partition, message, event } = r;
  return createEvent(
    'io.scalewise.DeadLetterRecorded',
    {
      bucket: stored.bucket,
      key: stored.key,
      topic,
      partition,
      offset: message.offset,
      consumer_group: owner.groupId,
      service: owner.service,
      ...(d.event_id ? { event_id: d.event_id } : {}),
      ...(d.event_type ? { event_type: d.event_type } : {}),
      error_code: d.error.code,
      reason: d.error.message.slice(0, 2000),
      attempts: d.attempts,
    },
    {
      // The same record dead-lettered twice (a redelivery) gives the same event id.
      id: `dlq:${owner.groupId}:${topic}:${partition}:${message.offset}`,
      source: `/scalewise/${owner.service}`,
      clusterid: event?.clusterid ?? owner.clusterid,
      partitionkey: event?.partitionkey ?? (message.key ? message.key.toString('utf8') : topic),
      ...(event ? { correlationid: event.correlationid, causationid: event.id } : {}),
    },
  );
}
