import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AnyScalewiseEvent, ScalewiseEvent } from '@scalewise/events';
import { type HandlerRegistry, handlersFor } from './subscriber.ts';

describe('handlersFor', () => {
  test('every listed type gets the one handler, and no other type is registered', () => {
    const seen: string[] = [];
    const handle = (e: AnyScalewiseEvent) => {
      seen.push(e.type);
    };
    const registry = handlersFor(['io.scalewise.NodeReady', 'io.scalewise.NodeRemoved'], handle);
    assert.deepEqual(Object.keys(registry).sort(), ['io.scalewise.NodeReady', 'io.scalewise.NodeRemoved']);
    assert.equal(registry['io.scalewise.NodeReady'], handle);
    assert.equal(registry['io.scalewise.NodeRemoved'], handle);
  });

  test('a registry missing a consumed type, or a handler taking fewer types, does not compile', () => {
    const onReady = (_e: ScalewiseEvent<'io.scalewise.NodeReady'>) => undefined;
    // @ts-expect-error NodeRemoved has no handler
    const missing: HandlerRegistry<'io.scalewise.NodeReady' | 'io.scalewise.NodeRemoved'> = handlersFor(
      ['io.scalewise.NodeReady'],
      onReady,
    );
    // @ts-expect-error onReady cannot take a NodeRemoved
    const narrow = handlersFor(['io.scalewise.NodeReady', 'io.scalewise.NodeRemoved'], onReady);
    assert.ok(missing && narrow);
  });
});
