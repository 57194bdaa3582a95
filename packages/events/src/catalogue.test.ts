import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { auditEvent } from './audit.ts';
import {
  catalogue,
  decisionTypes,
  type EventType,
  eventTypes,
  eventTypesOfTopic,
  eventTypesTagged,
  isEventType,
  jsonSchemaOf,
  type ScalingEventType,
  scalingTypes,
  shortName,
  topicName,
  topicOf,
  typeOf,
} from './catalogue.ts';
import {
  type CreateEventOptions,
  causedBy,
  createEvent,
  isTriggerType,
  parseData,
  type ScalewiseEvent,
} from './envelope.ts';
import { sampleData } from './samples.ts';
import * as schemas from './schemas.ts';
import { AUDIT_KEY } from './schemas.ts';

// DESIGN.md section 4, written out again on purpose: the catalogue must match the contract.
const designTopics: Record<string, string[]> = {
  metrics: ['PoolMetricsObserved'],
  signals: [
    'ResourcePressureAlert',
    'UnderutilizationWarning',
    'PendingPodsDetected',
    'NotTriggerScaleUp',
    'OptimalStateTrigger',
  ],
  nodes: [
    'NodeHealthDegraded',
    'NodeUnexpectedlyLost',
    'NodeCreated',
    'NodeReady',
    'NodeDrained',
    'NodeRemoved',
  ],
  decisions: [
    'ScaleUpDecision',
    'ScaleDownDecision',
    'ScaleDownBlocked',
    'AutoScaleUpToMinimum',
    'EmergencyScaleUp',
    'TriggerRejected',
    'TriggerHoldEnded',
  ],
  actions: ['ScaleUpStarted', 'ScaleDownStarted', 'ScalingActionCompleted', 'ScalingActionFailed'],
  state: [
    'ClusterStateSynced',
    'StateDriftDetected',
    'MinimumNodesViolation',
    'MinimumNodesRestored',
    'CircuitBreakerStateChanged',
  ],
  triggers: ['trigger.scale', 'trigger.pause', 'trigger.resume', 'trigger.update'],
  dlq: ['DeadLetterRecorded'],
  audit: ['AuditRecorded'],
};

describe('catalogue', () => {
  test('every event of DESIGN.md section 4 is on its topic, and nothing else is', () => {
    for (const [topic, names] of Object.entries(designTopics)) {
      const actual = eventTypesOfTopic(topic as never).sort();
      assert.deepEqual(actual, names.map((n) => typeOf(n)).sort(), topic);
    }
    assert.equal(eventTypes.length, Object.values(designTopics).flat().length);
  });

  test('an event schema is built on first read, then the same object is kept', () => {
    // schemas.ts exports builders, so that importing the catalogue builds no event schema.
    assert.equal(typeof schemas.poolMetricsObserved, 'function');
    assert.notEqual(schemas.poolMetricsObserved(), schemas.poolMetricsObserved());
    for (const type of eventTypes) {
      const first = catalogue[type].schema;
      assert.equal(catalogue[type].schema, first, type);
      assert.equal(first.safeParse(sampleData[type]).success, true, type);
    }
  });

  test('severities: losses and floor violations are critical', () => {
    assert.equal(catalogue['io.scalewise.MinimumNodesViolation'].severity, 'critical');
    assert.equal(catalogue['io.scalewise.NodeUnexpectedlyLost'].severity, 'critical');
    assert.equal(catalogue['io.scalewise.EmergencyScaleUp'].severity, 'critical');
    assert.equal(catalogue['io.scalewise.ScalingActionFailed'].severity, 'warning');
    assert.equal(catalogue['io.scalewise.PoolMetricsObserved'].severity, 'info');
  });

  test('topic names take the prefix', () => {
    assert.equal(topicName('signals'), 'scalewise.signals');
    assert.equal(topicName(topicOf('io.scalewise.NodeReady'), 'prod.'), 'prod.nodes');
  });

  test('isEventType accepts catalogue types only', () => {
    assert.equal(isEventType('io.scalewise.NodeReady'), true);
    assert.equal(isEventType('io.scalewise.toString'), false);
    assert.equal(isEventType(42), false);
  });

  test('every type has a JSON Schema for external producers', () => {
    for (const type of eventTypes) {
      const schema = jsonSchemaOf(type) as { type?: string; properties?: Record<string, unknown> };
      assert.equal(schema.type, 'object', type);
      assert.ok(schema.properties && Object.keys(schema.properties).length > 0, type);
    }
  });

  test('percentages above 100 and negative durations are refused, naming the field', () => {
    const data = { ...sampleData['io.scalewise.ResourcePressureAlert'], cpu_avg: 180, duration: -1 };
    assert.throws(
      () => parseData('io.scalewise.ResourcePressureAlert', data),
      (err: unknown) =>
        err instanceof ScalewiseError &&
        err.code === 'SCHEMA_VIOLATION' &&
        /data\.cpu_avg/.test(err.message) &&
        /data\.duration/.test(err.message),
    );
  });
});

describe('triggers', () => {
  const bad = (type: Parameters<typeof parseData>[0], data: unknown, field: RegExp) =>
    assert.throws(
      () => parseData(type, data),
      (err: unknown) =>
        err instanceof ScalewiseError && err.code === 'SCHEMA_VIOLATION' && field.test(err.message),
    );

  test('scale_up needs a count and set needs a target', () => {
    bad(
      'io.scalewise.trigger.scale',
      { pool: 'workers', action: 'scale_up' },
      /data\.count: action 'scale_up' needs count/,
    );
    bad('io.scalewise.trigger.scale', { pool: 'workers', action: 'set' }, /data\.target/);
    assert.deepEqual(parseData('io.scalewise.trigger.scale', { pool: 'w', action: 'set', target: 4 }), {
      pool: 'w',
      action: 'set',
      target: 4,
    });
  });

  test('update needs min or max, and min <= max', () => {
    bad('io.scalewise.trigger.update', { pool: 'workers' }, /update needs min or max/);
    bad('io.scalewise.trigger.update', { pool: 'workers', min: 5, max: 3 }, /min must not exceed max/);
  });

  test('an unknown action is refused', () => {
    bad('io.scalewise.trigger.scale', { pool: 'workers', action: 'explode', count: 1 }, /data\.action/);
  });

  test('the trigger types (decoded by the external contract) are exactly those of the triggers topic', () => {
    assert.deepEqual(eventTypes.filter(isTriggerType), eventTypesOfTopic('triggers'));
  });
});

describe('envelope', () => {
  /** createEvent of `type` with the type's sample data. */
  const sample = <T extends EventType>(type: T, options: CreateEventOptions) =>
    createEvent(type, sampleData[type], options);
  /** causedBy of `type` with the type's sample data, from `source`. */
  const caused = <T extends EventType>(parent: ScalewiseEvent, type: T, source: string) =>
    causedBy(parent, type, sampleData[type], { source });

  test('createEvent fills in the pool as partition key, a new chain and the catalogue severity', () => {
    const e = sample('io.scalewise.MinimumNodesViolation', {
      source: '/scalewise/min-enforcer',
      clusterid: 'local',
    });
    assert.equal(e.partitionkey, 'workers');
    assert.equal(e.correlationid, e.id);
    assert.equal(e.severity, 'critical');
    assert.equal(e.causationid, undefined);
  });

  test('an event without a pool needs an explicit partition key', () => {
    assert.throws(
      () => sample('io.scalewise.DeadLetterRecorded', { source: '/s', clusterid: 'c' }),
      /no partition key/,
    );
  });

  test('causedBy continues the chain: same correlation, causation = parent id, same trace', () => {
    const parent = sample('io.scalewise.NodeUnexpectedlyLost', {
      source: '/scalewise/state-sync',
      clusterid: 'local',
      region: 'eu-1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    const child = caused(parent, 'io.scalewise.MinimumNodesViolation', '/scalewise/min-enforcer');
    const grandchild = caused(child, 'io.scalewise.AutoScaleUpToMinimum', '/scalewise/min-enforcer');
    assert.equal(child.correlationid, parent.id);
    assert.equal(child.causationid, parent.id);
    assert.equal(grandchild.correlationid, parent.id);
    assert.equal(grandchild.causationid, child.id);
    assert.equal(grandchild.clusterid, 'local');
    assert.equal(grandchild.region, 'eu-1');
    assert.equal(grandchild.traceparent, parent.traceparent);
  });
});

describe('audit', () => {
  const data = sampleData['io.scalewise.AuditRecorded'];

  test('an audit record that names no pool is keyed scalewise.audit, info when it succeeded', () => {
    const e = auditEvent(data, { source: '/scalewise/local/alert-manager', clusterid: 'local' });
    assert.equal(e.partitionkey, AUDIT_KEY);
    assert.equal(e.severity, 'info');
    assert.equal(e.time, data.at);
    assert.equal(topicOf(e.type), 'audit');
  });

  test("a denied request is a warning; one about a pool is keyed by the pool, in that pool's history", () => {
    const e = auditEvent(
      { ...data, action: 'trigger.scale', target: 'workers', pool: 'workers', outcome: 'denied' },
      { source: '/scalewise/cli', clusterid: 'local' },
    );
    assert.equal(e.partitionkey, 'workers');
    assert.equal(e.severity, 'warning');
  });

  test('the action is dotted lower-case words and the outcome one of three, each refused naming the field', () => {
    assert.throws(
      () => parseData('io.scalewise.AuditRecorded', { ...data, action: 'DELETE /v1/silences' }),
      /data\.action: dotted lower-case words/,
    );
    assert.throws(
      () => parseData('io.scalewise.AuditRecorded', { ...data, outcome: 'maybe' }),
      /data\.outcome/,
    );
    assert.throws(() => parseData('io.scalewise.AuditRecorded', { ...data, actor: '' }), /data\.actor/);
  });
});

describe('tags and names', () => {
  test('the decisions a person opens to read why are the ones tagged decision', () => {
    assert.deepEqual([...decisionTypes].map((t) => shortName(t)).sort(), [
      'AutoScaleUpToMinimum',
      'EmergencyScaleUp',
      'OptimalStateTrigger',
      'ScaleDownBlocked',
      'ScaleDownDecision',
      'ScaleUpDecision',
      'TriggerRejected',
    ]);
  });

  test('the decisions node-manager carries out are the ones tagged scaling', () => {
    assert.deepEqual(scalingTypes, [
      'io.scalewise.ScaleUpDecision',
      'io.scalewise.ScaleDownDecision',
      'io.scalewise.AutoScaleUpToMinimum',
      'io.scalewise.EmergencyScaleUp',
    ]);
    assert.deepEqual(eventTypesTagged('scaling'), scalingTypes);
    // The type follows the tags too: an untagged type is not a ScalingEventType.
    // @ts-expect-error NodeReady carries no tag
    const untagged: ScalingEventType = 'io.scalewise.NodeReady';
    assert.ok(!(scalingTypes as readonly string[]).includes(untagged));
  });

  test('shortName and typeOf are inverse, and leave the other form as it is', () => {
    for (const t of eventTypes) {
      assert.equal(typeOf(shortName(t)), t);
      assert.equal(typeOf(t), t);
    }
    assert.equal(shortName('io.scalewise.ScaleUpDecision'), 'ScaleUpDecision');
    assert.equal(shortName('io.scalewise.trigger.scale'), 'trigger.scale');
    assert.equal(shortName('ScaleUpDecision'), 'ScaleUpDecision');
    assert.equal(typeOf('trigger.pause'), 'io.scalewise.trigger.pause');
  });
});
