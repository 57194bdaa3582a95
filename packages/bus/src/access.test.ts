// The ACLs of Scalewise's principals (access.ts): what each role gets, as data; their proof on a
// real broker is packages/service/src/secure-transport.int.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { topicKeys } from '@scalewise/events';
import { aclCommandLine, type KafkaAclBinding, kafkaAclBindings, toAclEntry } from './access.ts';
import { type BusCliDeps, runBusCli } from './cli.ts';

const has = (bindings: KafkaAclBinding[], b: Partial<KafkaAclBinding>) =>
  bindings.some((x) => Object.entries(b).every(([k, v]) => x[k as keyof KafkaAclBinding] === v));

describe('kafkaAclBindings', () => {
  const all = kafkaAclBindings();

  test('node-manager reads decisions with its group, writes actions and nodes, and nothing else', () => {
    const nm = all.filter((b) => b.principal === 'User:scalewise-node-manager');
    const reads = nm.filter((b) => b.operation === 'Read' && b.resource === 'topic').map((b) => b.name);
    const writes = nm
      .filter((b) => b.operation === 'Write')
      .map((b) => b.name)
      .sort();
    assert.deepEqual(reads, ['scalewise.decisions']);
    assert.deepEqual(writes, [
      'scalewise.actions',
      'scalewise.audit',
      'scalewise.dlq',
      'scalewise.nodes',
      'scalewise.state',
    ]);
    const groups = nm.filter((b) => b.resource === 'group');
    assert.deepEqual(groups, [
      {
        principal: 'User:scalewise-node-manager',
        resource: 'group',
        pattern: 'literal',
        name: 'scalewise.node-manager',
        operation: 'Read',
      },
    ]);
  });

  test('every service may describe and create every topic (the bus ensures them at start); the CLI may not create', () => {
    for (const role of ['metrics-listener', 'state-sync', 'alert-manager']) {
      for (const k of topicKeys) {
        assert.ok(
          has(all, { principal: `User:scalewise-${role}`, name: `scalewise.${k}`, operation: 'Describe' }),
        );
        assert.ok(
          has(all, { principal: `User:scalewise-${role}`, name: `scalewise.${k}`, operation: 'Create' }),
        );
      }
    }
    assert.ok(!has(all, { principal: 'User:scalewise-cli', operation: 'Create' }));
  });

  test("producers-only services have no group; alert-manager has its two and its replicas' stream prefix", () => {
    assert.ok(!has(all, { principal: 'User:scalewise-metrics-listener', resource: 'group' }));
    assert.ok(!has(all, { principal: 'User:scalewise-state-sync', resource: 'group' }));
    const am = all.filter((b) => b.principal === 'User:scalewise-alert-manager' && b.resource === 'group');
    assert.deepEqual(am.map((b) => [b.pattern, b.name]).sort(), [
      ['literal', 'scalewise.alert-manager'],
      ['literal', 'scalewise.alert-manager-notify'],
      ['prefixed', 'scalewise.alert-manager-stream-'],
    ]);
  });

  test("the CLI's tail and replay groups are prefixes: the group prefix's, and replay's own", () => {
    const cli = all.filter((b) => b.principal === 'User:scalewise-cli' && b.resource === 'group');
    assert.deepEqual(
      cli.map((b) => [b.pattern, b.name]),
      [
        ['prefixed', 'scalewise.cli-tail-'],
        ['prefixed', 'scalewise-replay-'],
      ],
    );
  });

  test('prefixes, topic overrides and user names are followed; no binding twice', () => {
    const b = kafkaAclBindings({
      topicPrefix: 'prod.',
      groupPrefix: 'g.',
      topicNames: { triggers: 'external.triggers' },
      userOf: (r) => `svc-${r}`,
      roles: ['decision-engine'],
    });
    assert.ok(
      has(b, { principal: 'User:svc-decision-engine', name: 'external.triggers', operation: 'Read' }),
    );
    assert.ok(has(b, { principal: 'User:svc-decision-engine', name: 'prod.metrics', operation: 'Read' }));
    assert.ok(has(b, { resource: 'group', name: 'g.decision-engine' }));
    assert.ok(!b.some((x) => x.name.startsWith('scalewise.')));
    const keys = b.map((x) => JSON.stringify(x));
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('ACL forms', () => {
  const prefixed: KafkaAclBinding = {
    principal: 'User:scalewise-cli',
    resource: 'group',
    pattern: 'prefixed',
    name: 'scalewise.cli-tail-',
    operation: 'Read',
  };

  test("kafkajs' CreateAcls entry carries Kafka's protocol codes", () => {
    assert.deepEqual(toAclEntry(prefixed), {
      resourceType: 3,
      resourceName: 'scalewise.cli-tail-',
      resourcePatternType: 4,
      principal: 'User:scalewise-cli',
      host: '*',
      operation: 3,
      permissionType: 3,
    });
  });

  test('a kafka-acls.sh line for an operator', () => {
    assert.equal(
      aclCommandLine(prefixed),
      `kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config admin.properties --add --allow-principal User:scalewise-cli --operation Read --group 'scalewise.cli-tail-' --resource-pattern-type prefixed`,
    );
  });

  test('`acls` prints one line per binding; an unknown role is refused', async () => {
    let out = '';
    let err = '';
    const deps: BusCliDeps = {
      kafka: () => assert.fail('printing needs no broker'),
      deadLetters: () => assert.fail('no S3'),
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
    };
    assert.equal(await runBusCli(['acls', '--role', 'state-sync'], deps), 0);
    assert.equal(out.trim().split('\n').length, kafkaAclBindings({ roles: ['state-sync'] }).length);
    assert.match(
      out,
      /--allow-principal User:scalewise-state-sync --operation Write --topic 'scalewise.nodes'/,
    );
    assert.equal(await runBusCli(['acls', '--role', 'nobody'], deps), 1);
    assert.match(err, /unknown role nobody/);
  });
});
