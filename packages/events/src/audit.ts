/**
 * AuditRecorded as every recorder builds it (the service kit for HTTP write routes, the CLI for
 * its triggers and replays), so that the key and severity are the same wherever it is made.
 */
import type { EventData } from './catalogue.ts';
import { createEvent, type ScalewiseEvent } from './envelope.ts';
import { AUDIT_KEY } from './schemas.ts';

export type AuditData = EventData<'io.scalewise.AuditRecorded'>;

/**
 * An AuditRecorded event: keyed by its pool when it names one (so that it is in that pool's
 * history), else by {@link AUDIT_KEY}; `warning` when the request was denied, else `info`.
 * @throws ScalewiseError SCHEMA_VIOLATION when the data breaks the catalogue's schema.
 */
export function auditEvent(
  data: AuditData,
  options: { source: string; clusterid: string; id?: string },
): ScalewiseEvent<'io.scalewise.AuditRecorded'> {
  return createEvent('io.scalewise.AuditRecorded', data, {
    source: options.source,
    clusterid: options.clusterid,
    ...(options.id ? { id: options.id } : {}),
    partitionkey: data.pool ?? AUDIT_KEY,
    severity: data.outcome === 'denied' ? 'warning' : 'info',
    time: data.at,
  });
}
