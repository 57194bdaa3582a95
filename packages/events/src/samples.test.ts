import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleChild, sampleData, sampleEvent } from './samples.ts';

test("sampleChild: the type's sample data under the given data, caused by the parent, of its cluster", () => {
  const parent = sampleEvent('io.scalewise.PendingPodsDetected', {}, { clusterid: 'c1' });
  const child = sampleChild(parent, 'io.scalewise.ScaleUpDecision', { count: 4 });
  assert.deepEqual(child.data, { ...sampleData['io.scalewise.ScaleUpDecision'], count: 4 });
  assert.deepEqual(
    [child.correlationid, child.causationid, child.clusterid, child.source],
    [parent.correlationid, parent.id, 'c1', '/scalewise/test'],
  );
  const other = sampleChild(parent, 'io.scalewise.ScaleUpStarted', {}, { source: '/x', clusterid: 'c2' });
  assert.deepEqual([other.source, other.clusterid], ['/x', 'c2']);
});
