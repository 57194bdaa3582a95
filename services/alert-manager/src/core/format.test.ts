import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AnyScalewiseEvent, createEvent, sampleData } from '@scalewise/events';
import { headline, slackBody, webhookBody } from './format.ts';
import type { Notification } from './notify.ts';

const violation = createEvent(
  'io.scalewise.MinimumNodesViolation',
  sampleData['io.scalewise.MinimumNodesViolation'],
  {
    source: '/scalewise/min-enforcer',
    clusterid: 'local',
  },
) as AnyScalewiseEvent;
const n: Notification = {
  sink: 'ops',
  status: 'firing',
  alertKey: 'workers/io.scalewise.MinimumNodesViolation',
  pool: 'workers',
  type: 'io.scalewise.MinimumNodesViolation',
  severity: 'critical',
  count: 3,
  firstAt: Date.UTC(2026, 10, 22, 11, 20),
  lastAt: Date.UTC(2026, 10, 22, 11, 21),
  event: violation,
};

test('the headline carries the numbers of the event', () => {
  assert.equal(headline(n), 'MinimumNodesViolation on pool workers: current_workers=1, min_workers=2');
});

test('the webhook body is the alert plus the CloudEvent', () => {
  const body = webhookBody(n);
  assert.equal(body.status, 'firing');
  assert.equal(body.alert.count, 3);
  assert.equal(body.alert.first_at, '2026-11-22T11:20:00.000Z');
  assert.equal(body.event.id, violation.id);
  assert.doesNotThrow(() => JSON.stringify(body));
});

test('the Slack body says what happened, how often, and how to ask why', () => {
  const body = slackBody(n);
  assert.match(body.text, /^:rotating_light: MinimumNodesViolation on pool workers/);
  assert.match(JSON.stringify(body.blocks), /3 events since 2026-11-22T11:20:00.000Z/);
  assert.match(JSON.stringify(body.blocks), new RegExp(`scalewise explain ${violation.id}`));
  assert.match(slackBody({ ...n, status: 'resolved' }).text, /^:white_check_mark: Resolved/);
});
