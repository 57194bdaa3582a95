/**
 * What a notification looks like on the wire, pure: a generic webhook gets the CloudEvent
 * that caused it with the alert around it (JSON); a Slack-compatible webhook gets text and
 * blocks a person can read.
 */
import { shortName } from '@scalewise/events';
import type { Notification } from './notify.ts';

export interface WebhookBody {
  status: Notification['status'];
  alert: {
    key: string;
    pool: string;
    type: string;
    severity: string;
    count: number;
    first_at: string;
    last_at: string;
  };
  /** The CloudEvent (structured JSON form) that fired or resolved the alert. */
  event: Notification['event'];
}

export function webhookBody(n: Notification): WebhookBody {
  return {
    status: n.status,
    alert: {
      key: n.alertKey,
      pool: n.pool,
      type: n.type,
      severity: n.severity,
      count: n.count,
      first_at: new Date(n.firstAt).toISOString(),
      last_at: new Date(n.lastAt).toISOString(),
    },
    event: n.event,
  };
}

const icon = { critical: ':rotating_light:', warning: ':warning:', info: ':information_source:' } as const;

/** One line that says what happened, with the numbers that matter for the type. */
export function headline(n: Notification): string {
  // A trigger's data is as its producer sent it (docs/triggers.md): maybe not an object.
  const data: unknown = n.event.data;
  const d = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const name = shortName(n.type);
  if (n.status === 'resolved') {
    return `Resolved: ${name} on pool ${n.pool} (${shortName(n.event.type)})`;
  }
  const numbers: string[] = [];
  for (const k of [
    'current_workers',
    'min_workers',
    'remaining_workers',
    'lost_count',
    'node_name',
    'error_code',
    'reason',
  ]) {
    if (d[k] !== undefined) numbers.push(`${k}=${String(d[k])}`);
  }
  return `${name} on pool ${n.pool}${numbers.length ? `: ${numbers.join(', ')}` : ''}`;
}

export interface SlackBody {
  text: string;
  blocks: unknown[];
}

export function slackBody(n: Notification): SlackBody {
  const title = `${n.status === 'resolved' ? ':white_check_mark:' : icon[n.severity]} ${headline(n)}`;
  const context = [
    `severity *${n.severity}*`,
    n.count > 1 ? `${n.count} events since ${new Date(n.firstAt).toISOString()}` : undefined,
    `correlation \`${n.event.correlationid}\``,
    `\`scalewise explain ${n.event.id}\``,
  ].filter(Boolean);
  return {
    text: title,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: title } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] },
    ],
  };
}
