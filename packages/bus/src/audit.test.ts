import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { parseData } from '@scalewise/events';
import { type AuditInput, auditData, audited, cliActor } from './audit.ts';

describe('audit of the operator commands', () => {
  test('the CLI is named cli:<os user>@<host>', () => {
    assert.equal(cliActor({ user: 'alice', host: 'ops-1' }), 'cli:alice@ops-1');
    assert.match(cliActor(), /^cli:[^@\s]+@\S+$/);
  });

  test('the record names the actor, the SASL principal, the action, target and outcome, valid for the catalogue', () => {
    const at = new Date('2026-11-22T11:20:00Z');
    const data = auditData(
      { actor: 'cli:alice@ops-1', principal: 'scalewise-cli' },
      { action: 'dlq.replay', target: 'dlq/x.json', outcome: 'succeeded', details: { offset: '7' } },
      at,
    );
    assert.deepEqual(data, {
      actor: 'cli:alice@ops-1',
      principal: 'scalewise-cli',
      action: 'dlq.replay',
      target: 'dlq/x.json',
      outcome: 'succeeded',
      service: 'scalewise-cli',
      details: { offset: '7' },
      at: '2026-11-22T11:20:00.000Z',
    });
    assert.deepEqual(parseData('io.scalewise.AuditRecorded', data), data);
  });

  test('audited: a success is recorded with its details, a failure with its reason and thrown again', async () => {
    const records: AuditInput[] = [];
    const audit = async (i: AuditInput) => void records.push(i);
    const what = { action: 'topic.replay', target: 'scalewise.signals' };
    assert.equal(
      await audited(
        audit,
        what,
        async () => 3,
        (n) => ({ matched: n }),
      ),
      3,
    );
    await assert.rejects(
      audited(audit, what, async () => {
        throw new Error('topic not found');
      }),
      /topic not found/,
    );
    assert.deepEqual(records, [
      { ...what, outcome: 'succeeded', details: { matched: 3 } },
      { ...what, outcome: 'failed', reason: 'topic not found' },
    ]);
  });

  test('audited: a change whose record cannot be published fails the command, saying the change is made', async () => {
    const audit = async () => {
      throw new Error('the audit record could not be published: broker down');
    };
    await assert.rejects(
      audited(audit, { action: 'dlq.replay', target: 'k' }, async () => 'done'),
      (err: unknown) =>
        err instanceof ScalewiseError &&
        err.code === 'DEPENDENCY_UNAVAILABLE' &&
        /^dlq.replay k done, but the audit record could not be published: broker down$/.test(err.message),
    );
    assert.equal(
      await audited(undefined, { action: 'dlq.replay', target: 'k' }, async () => 'plain'),
      'plain',
    );
  });
});
