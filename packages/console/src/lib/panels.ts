/** The timeline, alerts, silences and dead-letter panels as views. Pure. */
import { clock, summary } from './describe.ts';
import { h, type VNode } from './h.ts';
import { foldContents, isFold, type TimelineItem } from './routine.ts';
import { type AnyScalewiseEvent, type OpenAlert, type Silence, shortType } from './types.ts';

/** `items` as a list (`tag`, of class `cls`), one `item` each; the text `empty` when there are none. */
function listView<T>(
  tag: 'ol' | 'ul',
  cls: string,
  items: readonly T[],
  empty: string,
  item: (x: T) => VNode | null,
): VNode {
  if (items.length === 0) return h('p', { class: 'empty' }, empty);
  return h(tag, { class: cls }, items.map(item));
}

/**
 * The timeline: one row per event, newest first, and one row per run of folded routine
 * events (routine.ts) saying how many it hides, with a button that calls `onShowRoutine`.
 * `decisions` are the catalogue's decision types (a click on one opens why), written into the
 * page by the build (vite.config.ts).
 */
export function timelineView(
  items: readonly TimelineItem[],
  decisions: ReadonlySet<string>,
  selectedId: string | undefined,
  onSelect: (e: AnyScalewiseEvent) => void,
  onShowRoutine: () => void = () => undefined,
): VNode {
  return listView('ol', 'timeline', items, 'No events match the filters yet.', (e) => {
    if (isFold(e)) {
      const n = e.fold.length;
      return h(
        'li',
        { class: 'fold', 'data-count': n },
        h('span', { class: 'time' }, clock((e.fold[0] as AnyScalewiseEvent).time)),
        h(
          'span',
          { class: 'sum', title: foldContents(e, shortType) },
          `${n} routine ${n === 1 ? 'event' : 'events'} hidden: ${foldContents(e, shortType)}`,
        ),
        h('button', { type: 'button', class: 'show-routine', onclick: () => onShowRoutine() }, 'show'),
      );
    }
    const decision = decisions.has(e.type);
    return h(
      'li',
      {
        class: `event sev-${e.severity}${decision ? ' decision' : ''}${e.id === selectedId ? ' selected' : ''}`,
        'data-id': e.id,
        'data-type': shortType(e.type),
        'data-pool': e.partitionkey,
        tabindex: 0,
        title: decision ? 'show why' : 'show its chain',
        onclick: () => onSelect(e),
        onkeydown: (ev: Event) => {
          if ((ev as KeyboardEvent).key === 'Enter') onSelect(e);
        },
      },
      h('span', { class: 'time' }, clock(e.time)),
      h('span', { class: 'sev' }, e.severity),
      h('span', { class: 'pool' }, e.partitionkey),
      h('b', { class: 'type' }, shortType(e.type)),
      h('span', { class: 'sum' }, summary(e)),
    );
  });
}

const ago = (t: number, now: number): string => {
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

export function alertsView(alerts: readonly OpenAlert[], now: number): VNode {
  return listView('ul', 'alerts', alerts, 'No open alerts.', (a) =>
    h(
      'li',
      { class: `sev-${a.severity}`, 'data-key': a.key },
      h('span', { class: 'sev' }, a.severity),
      h('b', {}, shortType(a.type)),
      h('span', { class: 'pool' }, a.pool),
      h('span', { class: 'since' }, `since ${ago(a.firstAt, now)}, last ${ago(a.lastAt, now)}`),
    ),
  );
}

export function silenceScope(s: Silence): string {
  const parts = [
    s.pools?.length ? `pools ${s.pools.join(', ')}` : '',
    s.types?.length ? `types ${s.types.map(shortType).join(', ')}` : '',
    s.severities?.length ? `severities ${s.severities.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join('; ') : 'everything';
}

export function silencesView(
  silences: readonly Silence[],
  now: number,
  onRemove: (s: Silence) => void,
): VNode {
  const active = silences.filter((s) => s.endsAt > now);
  return listView('ul', 'silences', active, 'No silences.', (s) =>
    h(
      'li',
      { 'data-id': s.id },
      h('span', {}, silenceScope(s)),
      h(
        'span',
        { class: 'until' },
        `until ${new Date(s.endsAt).toISOString().slice(0, 16).replace('T', ' ')}Z`,
      ),
      s.comment && h('i', {}, s.comment),
      h('button', { type: 'button', class: 'remove', onclick: () => onRemove(s) }, 'remove'),
    ),
  );
}

/** The dead letters, newest first: where each record came from, why, and its S3 object. */
export function deadLettersView(events: readonly AnyScalewiseEvent[]): VNode {
  const letters = events.filter((e) => e.type === 'io.scalewise.DeadLetterRecorded');
  return listView('ul', 'dead-letters', letters, 'The dead-letter queue is empty.', (e) =>
    e.type === 'io.scalewise.DeadLetterRecorded'
      ? h(
          'li',
          { 'data-id': e.id },
          h('span', { class: 'time' }, clock(e.time)),
          h('b', {}, e.data.error_code),
          h('span', {}, summary(e)),
          h(
            'code',
            {},
            `s3://${e.data.bucket}/${e.data.key} (${e.data.service}, ${e.data.consumer_group}, partition ${e.data.partition} offset ${e.data.offset}, ${e.data.attempts} attempts)`,
          ),
        )
      : null,
  );
}
