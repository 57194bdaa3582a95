// The CLI's rendering of what alert-manager's explain answers: the chain of seed 000's
// scale-up as `scalewise explain <id>` prints it. Pure, no servers; it lives in e2e/ because
// it joins a service (alert-manager's core) and a package (the CLI), which packages/ never do.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { explain } from '@scalewise/alert-manager/core';
import { formatExplanation } from '@scalewise/cli';
import { chainPositions, scaleUpChain } from '@scalewise/cli/test-fixtures';
import { PENDING_SCALE_UP_CHAIN } from '@scalewise/testing/chains';

describe('explain rendering', () => {
  test('the chain of a scale-up, indented by depth, asked-for event marked, numbers under the decision', () => {
    const c = scaleUpChain();
    const x = explain(c.decision.id, c.all);
    assert.ok(x);
    const lines = formatExplanation(x, c.decision.id);
    const positions = chainPositions(lines, PENDING_SCALE_UP_CHAIN);
    const typeAt = (type: string) => lines.findIndex((l) => l.includes(` ${type} `));
    // Depth d is indented by 2 * (d + 1) spaces before the marker.
    PENDING_SCALE_UP_CHAIN.forEach((type, depth) => {
      const line = lines[positions[depth] as number] as string;
      const mark = type === 'ScaleUpDecision' ? '*' : ' ';
      assert.ok(line.startsWith(`${'  '.repeat(depth + 1)}${mark} 2026-`), `${type}: '${line}'`);
    });
    const decisionAt = typeAt('ScaleUpDecision');
    assert.deepEqual(
      lines.slice(decisionAt + 1, decisionAt + 5).map((l) => l.trim()),
      [
        'rule pending_pods: 3 pods pending for 4s; 2 more 4-CPU workers fit them',
        'inputs: pending_count=3, requested_cpu_millicores=6000, node_cpu_millicores=4000',
        'compared: pending_count 3 > 0 -> true',
        'clamped: wanted 6, got 5 (by max)',
      ],
    );
    assert.equal(lines[0], `correlation ${c.pending.id}: 6 event(s) on the path, * marks evt-decision`);
    const blockedAt = lines.indexOf('not acted on (reasons in this chain):');
    assert.ok(blockedAt > decisionAt);
    assert.match(lines[blockedAt + 1] as string, /ScaleDownBlocked .*scale-down blocked: pending_pods/);
    assert.match(
      lines[blockedAt + 2] as string,
      /^ +rule no_scale_down_while_pending: 3 pods pending: no scale-down$/,
    );
  });
});
