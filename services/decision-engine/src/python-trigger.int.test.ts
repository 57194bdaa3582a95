// docs/triggers.md's Python example, as the page writes it, run with confluent-kafka (a venv
// from PyPI made by scripts/python-venv) against the real broker and the decision engine on
// the real stack: the binary-mode `set 4` is answered with the ScaleUpDecision it causes, the
// structured-mode `update` (min 2, max 8) is applied, and nothing is rejected or dead-lettered.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import type { EventData } from '@scalewise/events';
import { createService, type Service } from '@scalewise/service';
import { getStack, repositoryRoot, type StackEndpoints, uniqueName, waitFor } from '@scalewise/testing';
import { defineDecisionEngine } from './service.ts';
import { engineTestConfig, listing } from './test-support.ts';

const exec = promisify(execFile);
/** Not the doc's default, so that the run shows the example takes its pool from the environment. */
const POOL = 'py-workers';
const HEADING = '### Python, confluent-kafka';

let stack: StackEndpoints;
let python: string;
const running: Service[] = [];

before(async () => {
  stack = await getStack();
  // The first run on a machine creates the venv (pip, some seconds); later runs reuse it.
  const { stdout } = await exec(join(repositoryRoot(), 'scripts', 'python-venv'), [], {
    timeout: 5 * 60_000,
    maxBuffer: 16 * 2 ** 20,
  });
  python = stdout.trim().split('\n').at(-1) ?? '';
  assert.match(python, /\/bin\/python$/, 'scripts/python-venv prints the venv python');
});
after(async () => {
  await Promise.all(running.map((s) => s.stop().catch(() => undefined)));
});

/** The first ```python block under the heading, before the next heading, as the page has it. */
async function docExample(): Promise<string> {
  const page = await readFile(join(repositoryRoot(), 'docs', 'triggers.md'), 'utf8');
  const at = page.indexOf(`\n${HEADING}\n`);
  assert.ok(at >= 0, `docs/triggers.md has a section "${HEADING}"`);
  const rest = page.slice(at + HEADING.length + 2);
  const fence = /^```python\n([\s\S]*?)^```$/m.exec(rest);
  assert.ok(fence?.[1], `a \`\`\`python block under "${HEADING}"`);
  assert.doesNotMatch(rest.slice(0, fence.index), /^#+ /m, `the block is in the section "${HEADING}"`);
  return fence[1];
}

test("docs/triggers.md's Python example: set 4 is decided, the update is applied, nothing rejected or dead-lettered", async (t) => {
  const { loaded, prefix } = engineTestConfig(stack, `[{ name: ${POOL}, min: 1, max: 5 }]`, 'py');
  const clusterId = loaded.config.cluster_id;
  const def = defineDecisionEngine({
    config: loaded,
    fromBeginning: true,
    telemetry: { logDestination: new Writable({ write: (_c, _e, done) => done() }) },
  });
  const svc = await createService(def);
  running.push(svc);
  await svc.start();
  const engine = def.engine();
  assert.ok(engine);
  const rec = await recordTopics(
    stack.kafka.brokers,
    ['triggers', 'decisions', 'dlq'].map((k) => `${prefix}${k}`),
    uniqueName('rec'),
  );
  t.after(() => rec.stop());

  // state-sync, simulated: two Ready nodes listed into the ledger, then ClusterStateSynced.
  await listing(svc, POOL, [`${POOL}-1`, `${POOL}-2`]);
  await waitFor(async () => (await engine.poolState(POOL))?.state.workers === 2, {
    timeoutMs: 30_000,
    what: `the engine sees ${POOL} at 2 workers`,
  });

  // The page's example, unchanged, with the test's broker, topic and pool.
  const code = await docExample();
  const run = exec(python, ['-'], {
    env: {
      ...process.env,
      SCALEWISE_BOOTSTRAP: stack.kafka.brokers.join(','),
      SCALEWISE_TRIGGERS_TOPIC: `${prefix}triggers`,
      SCALEWISE_POOL: POOL,
    },
    timeout: 60_000,
  });
  run.child.stdin?.end(code);
  const { stdout } = await run.catch((e: Error & { stderr?: string }) => {
    throw new Error(`the doc's Python example failed: ${e.message}\n${e.stderr ?? ''}`);
  });
  const ids = stdout.trim().split('\n');
  assert.equal(ids.length, 2, `two trigger ids printed, one a line: ${JSON.stringify(stdout)}`);
  const [scaleId, updateId] = ids as [string, string];
  assert.notEqual(scaleId, updateId);

  // Both records as the engine reads them: a binary scale trigger and a structured update,
  // keyed by the pool (one partition, so read in the order sent), for no cluster in particular.
  await waitFor(() => rec.of('io.scalewise.trigger.scale', 'io.scalewise.trigger.update').length >= 2, {
    timeoutMs: 30_000,
    what: 'both triggers on the triggers topic',
  });
  assert.deepEqual(
    rec
      .of('io.scalewise.trigger.scale', 'io.scalewise.trigger.update')
      .map((e) => [e.id, e.type, e.source, e.clusterid, e.partitionkey, e.data]),
    [
      [
        scaleId,
        'io.scalewise.trigger.scale',
        '/ci/loadtest',
        undefined,
        POOL,
        { pool: POOL, action: 'set', target: 4, reason: 'load test' },
      ],
      [
        updateId,
        'io.scalewise.trigger.update',
        '/ci/loadtest',
        undefined,
        POOL,
        { pool: POOL, min: 2, max: 8, reason: 'business hours' },
      ],
    ],
  );

  // set 4 from 2: a ScaleUpDecision of 2, caused by the trigger, in this cluster.
  await waitFor(() => rec.of('io.scalewise.ScaleUpDecision').length >= 1, {
    timeoutMs: 30_000,
    what: 'the ScaleUpDecision that answers set 4',
  });
  const up = rec.of('io.scalewise.ScaleUpDecision');
  assert.deepEqual(
    up.map((e) => [e.causationid, e.clusterid, e.partitionkey]),
    [[scaleId, clusterId, POOL]],
  );
  const d = up[0]?.data as EventData<'io.scalewise.ScaleUpDecision'>;
  assert.deepEqual(
    [d.pool, d.current_workers, d.desired_workers, d.count, d.reason, d.explanation.rule],
    [POOL, 2, 4, 2, 'trigger', 'trigger_set'],
  );

  // The update answers nothing (max 8 is above the pool's size): its effect is the limits in
  // force, as GET /v1/pools/:pool shows them, set by the trigger's source in the ledger.
  const limits = async () => {
    const res = await svc.app.inject({ method: 'GET', url: `/v1/pools/${POOL}` });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { state: { min: number; max: number; workers: number } | null };
  };
  await waitFor(async () => (await limits()).state?.max === 8, {
    timeoutMs: 30_000,
    what: 'the update applied (max 8)',
  });
  const after = await engine.poolState(POOL);
  assert.ok(after);
  assert.deepEqual([after.state.min, after.state.max, after.state.workers], [2, 8, 2]);
  assert.deepEqual(
    [after.ledger.limits?.min, after.ledger.limits?.max, after.ledger.limits?.source],
    [2, 8, '/ci/loadtest'],
    'the limits are in the shared ledger, for min-enforcer too',
  );
  assert.equal(after.hold?.target, 4, 'the set target is pursued');
  assert.equal(after.hold?.trigger, scaleId);

  // Nothing else: no rejection, no dead letter, every record a CloudEvent.
  assert.deepEqual(
    rec.of('io.scalewise.TriggerRejected').map((e) => e.data),
    [],
  );
  assert.deepEqual(
    rec.of('io.scalewise.DeadLetterRecorded').map((e) => e.data),
    [],
  );
  assert.equal(rec.undecodable, 0);
  assert.deepEqual(
    rec.events
      .filter((e) => e.causationid === scaleId || e.causationid === updateId)
      .map((e) => [e.type, e.causationid]),
    [['io.scalewise.ScaleUpDecision', scaleId]],
    'the set is answered once; the accepted update not at all',
  );
});
