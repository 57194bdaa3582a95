/**
 * The console's shell: sign-in, the live stream, periodic refreshes, and the DOM. Everything
 * it shows is rendered by the pure views in ../lib.
 */
import { type Api, ApiError, createApi } from '../lib/api.ts';
import { chartView } from '../lib/chart.ts';
import { chainView } from '../lib/explain.ts';
import {
  filterFromHash,
  filterToHash,
  historyQuery,
  mergeEvents,
  passes,
  streamFilter,
  type TimelineFilter,
} from '../lib/filters.ts';
import { h } from '../lib/h.ts';
import { alertsView, deadLettersView, silencesView, timelineView } from '../lib/panels.ts';
import { buildSeries, chartEventTypes, fitStart, valuesOf } from '../lib/series.ts';
import {
  type AnyScalewiseEvent,
  eventTypeNames,
  type OpenAlert,
  type PoolLimits,
  type Silence,
  shortType,
} from '../lib/types.ts';
import { byId, mount } from './dom.ts';

const TOKEN_KEY = 'scalewise.token';
const MAX_EVENTS = 500;

const state = {
  api: undefined as Api | undefined,
  token: '',
  filter: filterFromHash(location.hash) as TimelineFilter,
  events: [] as AnyScalewiseEvent[],
  selected: undefined as string | undefined,
  chartEvents: [] as AnyScalewiseEvent[],
  limits: [] as PoolLimits[],
  pools: new Set<string>(),
  alerts: [] as OpenAlert[],
  silences: [] as Silence[],
  deadLetters: [] as AnyScalewiseEvent[],
  windowMs: 3_600_000,
  chartFrom: Date.now() - 3_600_000,
  socket: undefined as WebSocket | undefined,
  timers: [] as number[],
  retryMs: 500,
};

function showError(el: HTMLElement, message: string | undefined): void {
  el.hidden = !message;
  el.textContent = message ?? '';
}

/** A failure of a call while signed in: a refused token signs out, others show in the banner. */
function fail(err: unknown): void {
  if (err instanceof ApiError && err.status === 401) {
    signOut(err.message);
    return;
  }
  showError(byId('error'), err instanceof Error ? err.message : String(err));
}

function setConn(s: 'live' | 'connecting' | 'offline', text: string): void {
  const el = byId('conn');
  el.dataset.state = s;
  el.textContent = text;
}

// ---- rendering (coalesced to one per frame)
let frame = 0;
const dirty = new Set<'timeline' | 'charts' | 'alerts' | 'silences' | 'dlq'>();
function render(...parts: ('timeline' | 'charts' | 'alerts' | 'silences' | 'dlq')[]): void {
  for (const p of parts) dirty.add(p);
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const now = Date.now();
    if (dirty.has('timeline')) {
      const shown = state.events.filter((e) => passes(state.filter, e));
      mount(byId('timeline'), timelineView(shown, state.selected, select));
    }
    if (dirty.has('charts')) {
      const from = fitStart(state.chartEvents, state.chartFrom, now);
      const series = buildSeries(state.chartEvents, state.limits, from);
      mount(
        byId('charts'),
        ...(series.length > 0
          ? series.map((s) => chartView(s, { from, to: now }))
          : [h('p', { class: 'empty' }, 'No pool sizes in this window yet.')]),
      );
      for (const s of series) state.pools.add(s.pool);
      fillPools();
    }
    if (dirty.has('alerts')) mount(byId('alerts'), alertsView(state.alerts, now));
    if (dirty.has('silences')) mount(byId('silences'), silencesView(state.silences, now, removeSilence));
    if (dirty.has('dlq')) {
      byId('dlq-count').textContent = String(state.deadLetters.length);
      byId('dlq').dataset.count = String(state.deadLetters.length);
      mount(byId('dead-letters-list'), deadLettersView(state.deadLetters));
    }
    dirty.clear();
  });
}

function options(select: HTMLSelectElement, values: readonly string[], label = (v: string) => v): void {
  const have = new Set([...select.options].map((o) => o.value));
  for (const v of values) {
    if (have.has(v)) continue;
    const o = document.createElement('option');
    o.value = v;
    o.textContent = label(v);
    select.append(o);
  }
}

function fillPools(): void {
  options(byId<HTMLSelectElement>('f-pool'), [...state.pools].sort());
  byId<HTMLSelectElement>('f-pool').value = state.filter.pool;
}

// ---- data
async function loadTimeline(api: Api): Promise<void> {
  const events = await api.events(historyQuery(state.filter, Date.now() - state.windowMs, 5000));
  // Oldest first from the API, capped: keep the newest.
  state.events = mergeEvents([], events.slice(-MAX_EVENTS), MAX_EVENTS);
  for (const e of events) state.pools.add(e.partitionkey);
  render('timeline');
}

async function loadCharts(api: Api): Promise<void> {
  const from = Date.now() - state.windowMs;
  const types = chartEventTypes.join(',');
  const out: AnyScalewiseEvent[] = [];
  let cursor = from;
  // Pages of 5000 (the API's most), at most 4: a day of samples of a few pools.
  for (let page = 0; page < 4; page += 1) {
    const batch = await api.events(`from=${cursor}&type=${encodeURIComponent(types)}&limit=5000`);
    out.push(...batch);
    const last = batch.at(-1);
    if (batch.length < 5000 || !last) break;
    cursor = Date.parse(last.time);
  }
  state.chartFrom = from;
  state.chartEvents = mergeEvents([], out, 20_000).reverse();
  render('charts');
}

async function loadAlerts(api: Api): Promise<void> {
  const [alerts, silences] = await Promise.all([api.alerts(), api.silences()]);
  state.alerts = alerts;
  state.silences = silences;
  render('alerts', 'silences');
}

async function loadDeadLetters(api: Api): Promise<void> {
  state.deadLetters = mergeEvents([], await api.events('type=DeadLetterRecorded&limit=5000'), 5000);
  render('dlq');
}

async function select(e: AnyScalewiseEvent): Promise<void> {
  const api = state.api;
  if (!api) return;
  state.selected = e.id;
  render('timeline');
  mount(byId('explain'), h('p', { class: 'empty' }, `Loading the chain of ${shortType(e.type)}…`));
  try {
    const x = await api.explain(e.id);
    if (state.selected === e.id) mount(byId('explain'), chainView(x, e.id));
  } catch (err) {
    mount(byId('explain'), h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }
}

async function removeSilence(s: Silence): Promise<void> {
  const api = state.api;
  if (!api) return;
  try {
    await api.removeSilence(s.id);
    await loadAlerts(api);
  } catch (err) {
    fail(err);
  }
}

// ---- live stream
let chartReload = 0;
function onLiveEvent(e: AnyScalewiseEvent): void {
  state.events = mergeEvents(state.events, [e], MAX_EVENTS);
  if (!state.pools.has(e.partitionkey) && e.type !== 'io.scalewise.DeadLetterRecorded') {
    state.pools.add(e.partitionkey);
    fillPools();
  }
  render('timeline');
  if (Object.keys(valuesOf(e)).length > 0) {
    state.chartEvents = [...state.chartEvents, e];
    render('charts');
  }
  if (e.type === 'io.scalewise.DeadLetterRecorded') {
    state.deadLetters = mergeEvents(state.deadLetters, [e], 5000);
    render('dlq');
  }
  // Alerts follow warnings and resolutions: look again shortly after one.
  if (e.severity !== 'info' || e.type.endsWith('Restored')) {
    clearTimeout(chartReload);
    chartReload = window.setTimeout(() => state.api && loadAlerts(state.api).catch(fail), 500);
  }
}

function connect(): void {
  state.socket?.close();
  if (!state.api) return;
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/events?token=${encodeURIComponent(state.token)}`);
  state.socket = ws;
  setConn('connecting', 'connecting…');
  ws.onopen = () => ws.send(JSON.stringify(streamFilter(state.filter)));
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as
      | { kind: 'subscribed' }
      | { kind: 'event'; event: AnyScalewiseEvent }
      | { kind: 'skipped'; count: number }
      | { kind: 'error'; problems: string[] };
    if (msg.kind === 'subscribed') {
      state.retryMs = 500;
      setConn('live', 'live');
    } else if (msg.kind === 'event') onLiveEvent(msg.event);
    else if (msg.kind === 'skipped') byId('skipped').textContent = `(${msg.count} skipped: too fast to show)`;
    else if (msg.kind === 'error')
      showError(byId('error'), `stream filter refused: ${msg.problems.join('; ')}`);
  };
  ws.onclose = () => {
    if (state.socket !== ws || !state.api) return;
    setConn('offline', `disconnected; retrying in ${Math.round(state.retryMs / 1000)}s`);
    const retry = state.retryMs;
    state.retryMs = Math.min(state.retryMs * 2, 15_000);
    window.setTimeout(() => {
      if (state.socket !== ws || !state.api) return;
      // Catch up on what the gap missed, then stream again.
      void loadTimeline(state.api).catch(fail);
      connect();
    }, retry);
  };
}

// ---- sign in / out
async function signIn(token: string): Promise<void> {
  const api = createApi('', token);
  // One cheap authenticated call tells a wrong token from a right one.
  await api.alerts();
  sessionStorage.setItem(TOKEN_KEY, token);
  state.api = api;
  state.token = token;
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('signout').hidden = false;
  byId('dlq').hidden = false;
  showError(byId('login-error'), undefined);
  try {
    state.limits = await api.pools();
  } catch (err) {
    // The page still works without the configured limits (from events only).
    if (err instanceof ApiError && err.status === 401) throw err;
    state.limits = [];
  }
  for (const l of state.limits) state.pools.add(l.pool);
  fillPools();
  connect();
  await Promise.all([loadTimeline(api), loadCharts(api), loadAlerts(api), loadDeadLetters(api)]);
  state.timers.push(
    window.setInterval(() => void loadCharts(api).catch(fail), 5000),
    window.setInterval(() => void loadAlerts(api).catch(fail), 10_000),
    window.setInterval(() => void loadDeadLetters(api).catch(fail), 15_000),
  );
}

function signOut(message?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  state.api = undefined;
  const ws = state.socket;
  state.socket = undefined;
  ws?.close();
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  byId('app').hidden = true;
  byId('signout').hidden = true;
  byId('dlq').hidden = true;
  byId('login').hidden = false;
  setConn('offline', 'signed out');
  showError(byId('login-error'), message);
}

async function trySignIn(token: string): Promise<void> {
  const button = byId('login').querySelector('button') as HTMLButtonElement;
  button.disabled = true;
  try {
    await signIn(token);
  } catch (err) {
    signOut(err instanceof Error ? err.message : String(err));
  } finally {
    button.disabled = false;
  }
}

// ---- wiring
byId<HTMLFormElement>('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void trySignIn(byId<HTMLInputElement>('token').value.trim());
});
byId('signout').addEventListener('click', () => signOut());

options(byId<HTMLSelectElement>('f-type'), eventTypeNames, shortType);
options(byId<HTMLSelectElement>('s-type'), eventTypeNames, shortType);
for (const k of ['pool', 'type', 'severity'] as const) {
  const el = byId<HTMLSelectElement>(`f-${k}`);
  el.value = state.filter[k];
  el.addEventListener('change', () => {
    state.filter = { ...state.filter, [k]: el.value };
    history.replaceState(null, '', `#${filterToHash(state.filter)}`);
    render('timeline');
    if (state.api) {
      void loadTimeline(state.api).catch(fail);
      connect();
    }
  });
}
byId<HTMLSelectElement>('window').addEventListener('change', (ev) => {
  state.windowMs = Number((ev.target as HTMLSelectElement).value);
  if (state.api) void loadCharts(state.api).catch(fail);
});
byId('dlq').addEventListener('click', (ev) => {
  ev.preventDefault();
  const panel = byId('dead-letters');
  panel.hidden = !panel.hidden;
  if (!panel.hidden) panel.scrollIntoView({ block: 'nearest' });
});
byId<HTMLFormElement>('silence-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const api = state.api;
  if (!api) return;
  const f = new FormData(ev.target as HTMLFormElement);
  const pool = String(f.get('pool') ?? '').trim();
  const type = String(f.get('type') ?? '');
  const minutes = Math.max(1, Number(f.get('minutes')) || 60);
  void api
    .addSilence({
      ...(pool ? { pools: [pool] } : {}),
      ...(type ? { types: [type] } : {}),
      endsAt: new Date(Date.now() + minutes * 60_000).toISOString(),
      comment: String(f.get('comment') ?? ''),
    })
    .then(() => loadAlerts(api))
    .catch(fail);
});

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) void trySignIn(saved);
