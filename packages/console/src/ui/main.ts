/**
 * The console's shell: access, the live stream, periodic refreshes, and the DOM. Everything
 * it shows is rendered by the pure views in ../lib.
 *
 * Access: a token in the address (`#token=...`, the link scripts/up prints) or kept for this
 * tab is tried first; it is stripped from the address bar at once. Without one, a read without
 * a token asks alert-manager whether it wants one: it answers (no token configured) and the
 * page opens, saying it is unauthenticated; it refuses (401) and the sign-in form shows. A
 * typed token is accepted only when alert-manager accepts it.
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
  tokenFromHash,
} from '../lib/filters.ts';
import { h } from '../lib/h.ts';
import { alertsView, deadLettersView, silencesView, timelineView } from '../lib/panels.ts';
import { type Cadences, capByCadence, foldRoutine, routineIds } from '../lib/routine.ts';
import { buildSeries, chartEventTypes, fitStart, valuesOf } from '../lib/series.ts';
import {
  type AnyScalewiseEvent,
  type OpenAlert,
  type PoolLimits,
  type Silence,
  shortType,
} from '../lib/types.ts';
import { byId, mount } from './dom.ts';

/** Every catalogue type with its cadence, written in by the build (vite.config.ts). */
declare const __SCALEWISE_CADENCES__: Cadences;
/** The catalogue's decision types, written in by the build (vite.config.ts). */
declare const __SCALEWISE_DECISION_TYPES__: readonly string[];
const cadences = __SCALEWISE_CADENCES__;
const eventTypeNames = Object.keys(cadences);
const decisions: ReadonlySet<string> = new Set(__SCALEWISE_DECISION_TYPES__);

const TOKEN_KEY = 'scalewise.token';
/** Events held per kind (periodic telemetry, the rest): samples never push decisions out. */
const MAX_EVENTS = 500;

// A token in the link leaves the address bar (and so the history and any shared copy) first.
const linked = tokenFromHash(location.hash);
if (linked.token !== undefined) {
  history.replaceState(
    null,
    '',
    `${location.pathname}${location.search}${linked.rest ? `#${linked.rest}` : ''}`,
  );
}

const state = {
  api: undefined as Api | undefined,
  /** The token the page calls with; '' when alert-manager asks for none. */
  token: '',
  /** Show routine events (telemetry, repeated states) instead of folding them. */
  showRoutine: false,
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

/**
 * A failure of a call: a refused token signs out; a refusal without a token (a route that
 * wants one where reads need none) and every other failure show in the banner.
 */
function fail(err: unknown): void {
  if (err instanceof ApiError && err.status === 401 && state.token) {
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
      // Asked for one type: all of it. Otherwise routine events fold into rows that count them.
      const fold = !state.showRoutine && state.filter.type === '';
      const items = fold ? foldRoutine(shown, routineIds(state.events, cadences)) : shown;
      mount(
        byId('timeline'),
        timelineView(items, decisions, state.selected, select, () => setShowRoutine(true)),
      );
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

function setShowRoutine(show: boolean): void {
  state.showRoutine = show;
  byId<HTMLInputElement>('f-routine').checked = show;
  render('timeline');
}

function fillPools(): void {
  options(byId<HTMLSelectElement>('f-pool'), [...state.pools].sort());
  byId<HTMLSelectElement>('f-pool').value = state.filter.pool;
}

// ---- data
async function loadTimeline(api: Api): Promise<void> {
  const events = await api.events(historyQuery(state.filter, Date.now() - state.windowMs, 5000));
  // Oldest first from the API, capped: keep the newest of each kind.
  state.events = capByCadence(mergeEvents([], events, events.length), cadences, MAX_EVENTS);
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
  state.events = capByCadence(mergeEvents(state.events, [e], state.events.length + 1), cadences, MAX_EVENTS);
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
  // The token goes as a `bearer.<token>` subprotocol, which no proxy logs; only a token with
  // characters a subprotocol cannot carry (RFC 6455: an HTTP token) falls back to `?token=`.
  const asProtocol = state.token !== '' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(state.token);
  const query = state.token && !asProtocol ? `?token=${encodeURIComponent(state.token)}` : '';
  const url = `${proto}://${location.host}/events${query}`;
  const ws = asProtocol ? new WebSocket(url, ['scalewise.v1', `bearer.${state.token}`]) : new WebSocket(url);
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

// ---- access: a token alert-manager accepts, or none where it asks for none
function setAuth(text: string, mode: 'token' | 'open' | 'none'): void {
  const el = byId('auth');
  el.hidden = mode === 'none';
  el.dataset.mode = mode;
  el.textContent = text;
}

/** Opens the page on an API that answered: with the token it accepted, or with none. Never throws. */
async function enter(api: Api, token: string): Promise<void> {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  state.api = api;
  state.token = token;
  byId('boot').hidden = true;
  byId('login').hidden = true;
  byId('app').hidden = false;
  byId('signout').hidden = !token;
  byId('dlq').hidden = false;
  showError(byId('login-error'), undefined);
  setAuth(
    token ? 'signed in with a token' : 'unauthenticated: this alert-manager asks for no token',
    token ? 'token' : 'open',
  );
  // From here on a failure shows in the page (fail): it is open, and stays so.
  try {
    state.limits = await api.pools();
  } catch (err) {
    // The page still works without the configured limits (from events only).
    state.limits = [];
    if (err instanceof ApiError && err.status === 401) fail(err);
  }
  for (const l of state.limits) state.pools.add(l.pool);
  fillPools();
  connect();
  await Promise.all([loadTimeline(api), loadCharts(api), loadAlerts(api), loadDeadLetters(api)]).catch(fail);
  if (state.api !== api) return; // signed out meanwhile (a refused token)
  state.timers.push(
    window.setInterval(() => void loadCharts(api).catch(fail), 5000),
    window.setInterval(() => void loadAlerts(api).catch(fail), 10_000),
    window.setInterval(() => void loadDeadLetters(api).catch(fail), 15_000),
  );
}

/**
 * Signs in with `token` if alert-manager accepts it: one read with it decides, never the form.
 * @throws ApiError (401 for a refused token)
 */
async function signIn(token: string): Promise<void> {
  const api = createApi('', token);
  await api.alerts();
  await enter(api, token);
}

function showLogin(message?: string): void {
  byId('boot').hidden = true;
  byId('app').hidden = true;
  byId('signout').hidden = true;
  byId('dlq').hidden = true;
  byId('login').hidden = false;
  setAuth('', 'none');
  setConn('offline', 'signed out');
  showError(byId('login-error'), message);
  byId<HTMLInputElement>('token').focus();
}

function signOut(message?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  state.api = undefined;
  state.token = '';
  const ws = state.socket;
  state.socket = undefined;
  ws?.close();
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  showLogin(message);
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

/**
 * The first look: the linked or kept token if alert-manager takes it; else, when a read
 * without a token is answered, the page without one; else the sign-in form. An unreachable
 * alert-manager is said so and tried again.
 */
async function start(linkedToken: string | undefined): Promise<void> {
  const candidate = linkedToken ?? sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  let refused: string | undefined;
  try {
    if (candidate) {
      try {
        await signIn(candidate);
        return;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) throw err;
        sessionStorage.removeItem(TOKEN_KEY);
        refused = linkedToken
          ? 'The token in the link was refused (401): it is not a token of this alert-manager.'
          : err.message;
      }
    }
    const open = createApi('', '');
    try {
      await open.alerts();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        showLogin(refused);
        return;
      }
      throw err;
    }
    await enter(open, '');
  } catch (err) {
    const boot = byId('boot');
    boot.hidden = false;
    boot.textContent = `${err instanceof Error ? err.message : String(err)}; trying again in 3 s…`;
    setConn('offline', 'offline');
    window.setTimeout(() => void start(linkedToken), 3000);
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
byId<HTMLInputElement>('f-routine').addEventListener('change', (ev) => {
  setShowRoutine((ev.target as HTMLInputElement).checked);
});
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

void start(linked.token);
