// The web console end to end, in Debian's chromium (headless, driven by playwright-core),
// against the real system: alert-manager and decision-engine as services on the real Kafka,
// Redis and S3 of the stack, the console's build served by alert-manager. A PendingPodsDetected
// is decided by the real decision-engine; node-manager and state-sync are played by the test
// (ScaleUpStarted, ScalingActionCompleted, ClusterStateSynced) on the real broker.
// Screenshots go to test-results/console/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { defineAlertManager } from '@scalewise/alert-manager';
import { consoleRoutes } from '@scalewise/alert-manager/console';
import { recordTopics } from '@scalewise/bus/test-support/recorder';
import { type LoadedConfig, loadConfig } from '@scalewise/config';
import { defineDecisionEngine } from '@scalewise/decision-engine';
import { causedBy, type EventData, type EventType, sampleEvent } from '@scalewise/events';
import { createPoolStore, listed } from '@scalewise/pool';
import { buildApp, createService, type Service } from '@scalewise/service';
import { createLogger } from '@scalewise/telemetry';
import { integrationFixture, quiet, repositoryRoot, uniqueName, waitFor } from '@scalewise/testing';
import { type Browser, chromium, type Page } from 'playwright-core';

/** The console's package: its sources, its build (dist/web) and its chromium script. */
const pkg = join(repositoryRoot(), 'packages', 'console');
const web = join(pkg, 'dist', 'web');
const shots = join(repositoryRoot(), 'test-results', 'console');
const token = `console-${uniqueName('t')}`;

const fx = integrationFixture({ recorder: recordTopics });
let browser: Browser;
let loaded: LoadedConfig;
let prefix: string;
let base: string;
let engineBase: string;
let engine: Service;
let am: Service;
/** An alert-manager on the same topics with no api_token: it asks for none. */
let openBase: string;

/** Newest modification time under a path (files only). */
function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/** Builds the console when its build is missing or older than its sources (CI built it already). */
async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(join(web, 'index.html')).mtimeMs;
  } catch {}
  const sources = Math.max(newest(join(pkg, 'src')), newest(join(pkg, 'index.html')));
  if (built >= sources) return;
  const { build } = await import('vite');
  await build({ root: pkg, logLevel: 'warn' });
}

const src = { source: '/scalewise/test/console' };
/** The test's token on a request: every route of the services is authenticated. */
const bearer = () => ({ headers: { authorization: `Bearer ${token}` } });
const ev = <T extends EventType>(type: T, data: Partial<EventData<T>>) =>
  sampleEvent(type, data, { ...src, clusterid: loaded.config.cluster_id });

/** The ClusterStateSynced of `n` workers, every view agreeing. */
const syncedAt = (n: number) =>
  ev('io.scalewise.ClusterStateSynced', { workers: n, k8s_nodes: n, docker_containers: n, db_workers: n });

/**
 * state-sync's listing, as it writes it into the pool's ledger before it says so: the Ready
 * workers `workers-1` to `workers-<n>`, applied once as `batch`.
 */
async function listWorkers(n: number, batch: string): Promise<void> {
  const store = createPoolStore({
    redis: am.bus.redis,
    clusterId: loaded.config.cluster_id,
    service: 'state-sync',
  });
  const workers = Array.from({ length: n }, (_, i) => ({ name: `workers-${i + 1}`, ready: true }));
  await store.apply('workers', batch, (l) => ({
    ledger: listed(l, workers, Date.now()).ledger,
    outputs: [],
  }));
}

/** Bytes on the wire for a GET with gzip accepted (headers excluded). */
function wireBytes(url: string): Promise<{ bytes: number; encoding: string; csp: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () =>
        resolve({
          bytes,
          encoding: String(res.headers['content-encoding'] ?? 'identity'),
          csp: String(res.headers['content-security-policy'] ?? ''),
        }),
      );
    })
      .on('error', reject)
      .end();
  });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  const chromiumPath = execFileSync('bash', [join(pkg, 'scripts', 'ensure-chromium.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  await Promise.all([fx.ready(), ensureBuilt()]);
  prefix = `${uniqueName('console')}.`;
  const clusterId = uniqueName('c');
  const bucket = uniqueName('console-dlq');
  // The same system; `apiToken` undefined: an alert-manager that asks for no token.
  const configText = (groupPrefix: string, apiToken: string | undefined) => `
cluster_id: ${clusterId}
autoscaler: { pools: [{ name: workers, min: 2, max: 6 }] }
events:
  topic_prefix: "${prefix}"
  group_prefix: "${groupPrefix}"
  partitions: 3
kafka: { brokers: [${fx.stack.kafka.brokers.join(', ')}] }
redis: { url: "${fx.stack.redis.url}" }
s3:
  endpoint: ${fx.stack.s3.endpoint}
  region: ${fx.stack.s3.region}
  bucket: ${bucket}
  access_key_id: ${fx.stack.s3.accessKeyId}
  secret_access_key: ${fx.stack.s3.secretAccessKey}
http: { host: 127.0.0.1, port: 0${apiToken ? `, api_token: ${apiToken}` : ''} }
telemetry: { log_level: warn }
shutdown_timeout_seconds: 10
`;
  loaded = loadConfig({ text: configText(prefix, token), env: {} });
  const common = { config: loaded, fromBeginning: true, telemetry: { logDestination: quiet } };
  // One after the other: two buses creating the same DLQ bucket at once race in S3
  // (BucketAlreadyOwnedByYou from packages/bus ensureBucket).
  engine = await fx.start(createService(defineDecisionEngine(common)));
  am = await fx.start(createService(defineAlertManager(common)));
  base = await am.listen();
  engineBase = await engine.listen();
  const open = await fx.start(
    createService(
      defineAlertManager({
        ...common,
        config: loadConfig({ text: configText(`${prefix}open.`, undefined), env: {} }),
      }),
    ),
  );
  openBase = await open.listen();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // The tests may run as root, where chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  fx.defer(() => browser.close());
});

describe('the web console in a real browser', () => {
  test('served by alert-manager at / and /console/: small, gzipped, with a content security policy', async (t) => {
    const page = await (await fetch(`${base}/`)).text();
    assert.match(page, /<title>Scalewise console<\/title>/);
    assert.equal((await fetch(`${base}/console/`)).status, 200);
    assert.equal((await fetch(`${base}/console/some/view`)).status, 200, 'a view path is the page');
    assert.equal((await fetch(`${base}/console/assets/nope.js`)).status, 404);
    assert.equal((await fetch(`${base}/console/api/pools`)).status, 401, 'the limits need the token');
    const pools = await (
      await fetch(`${base}/console/api/pools`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    assert.deepEqual(pools, { pools: [{ pool: 'workers', min: 2, max: 6 }] });
    const assets = [...page.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map(
      (m) => m[1] as string,
    );
    assert.ok(assets.length >= 2, `the page links its script and style: ${assets.join(', ')}`);
    const html = await wireBytes(`${base}/`);
    assert.match(html.csp, /default-src 'self'/);
    let total = html.bytes;
    for (const a of assets) {
      const r = await wireBytes(`${base}${a}`);
      assert.equal(r.encoding, 'gzip', a);
      total += r.bytes;
    }
    t.diagnostic(`page transfer size (gzip, bodies): ${total} bytes for ${assets.length + 1} files`);
    assert.ok(total < 40 * 1024, `the page stays small: ${total} bytes`);
  });

  test('a missing build answers 404 naming it, and the service still starts', async () => {
    const app = await buildApp({ service: 'am', logger: createLogger({ service: 'am', level: 'silent' }) });
    consoleRoutes(app, { config: loaded.config, dir: join(pkg, 'no-such-build') });
    const res = await app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 404);
    const body = res.json() as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'NOT_FOUND');
    assert.match(body.error.message, /web console is not built: .*no-such-build.index\.html is missing/);
    assert.match(body.error.message, /pnpm --filter @scalewise\/console build/);
    await app.close();
  });

  test('an alert-manager that asks for no token: the console opens at once, says it is unauthenticated, offers no sign-in', async () => {
    assert.equal((await fetch(`${openBase}/v1/alerts`)).status, 200, 'this one asks for no token');
    const page = await browser.newPage();
    await page.goto(`${openBase}/`);
    await page.locator('#conn[data-state=live]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#app').isVisible(), true);
    assert.equal(await page.locator('#login').isHidden(), true, 'no sign-in form');
    assert.equal(await page.locator('#signout').isHidden(), true, 'nothing to sign out of');
    assert.equal(
      await page.locator('#auth[data-mode=open]').textContent(),
      'unauthenticated: this alert-manager asks for no token',
    );
    await shot(page, 'unauthenticated');
    await page.close();
  });

  test('the link with its token (#token=...) opens the console without a form and leaves the address bar', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/#token=${encodeURIComponent(token)}&severity=warning`);
    await page.locator('#conn[data-state=live]').waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#login').isHidden(), true);
    assert.equal(await page.locator('#auth[data-mode=token]').textContent(), 'signed in with a token');
    assert.equal(
      new URL(page.url()).hash,
      '#severity=warning',
      'the token left the address; the filter stayed',
    );
    assert.equal(await page.locator('#f-severity').inputValue(), 'warning');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('scalewise.token')), token);
    await page.close();
  });

  test('a link with a token this alert-manager refuses shows the form, saying so', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/#token=not-the-token-of-this-one`);
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await error.textContent()) ?? '', /token in the link was refused \(401\)/);
    assert.equal(await page.locator('#app').isHidden(), true);
    assert.doesNotMatch(page.url(), /token/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('scalewise.token')), null);
    await page.close();
  });

  test('a wrong token shows a clear error and stays signed out', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.fill('#token', 'not-the-token');
    await page.click('#login button[type=submit]');
    const error = page.locator('#login-error');
    await error.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await error.textContent()) ?? '', /token was refused \(401\)/);
    assert.equal(await page.locator('#app').isHidden(), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('scalewise.token')), null);
    await shot(page, 'wrong-token');
    await page.close();
  });

  test('pending pods: the scale-up appears live, its chain explains it, the chart ends at the synced worker count', async (t) => {
    const decisions = await fx.record([`${prefix}decisions`], { scope: t });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${base}/`);
    // The page asked whether a token is needed (a read without one: 401, which the browser
    // logs as an error by design); from signing in on, nothing may fail.
    await page.fill('#token', token);
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    await page.click('#login button[type=submit]');
    await page.locator('#conn[data-state=live]').waitFor({ timeout: 15_000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('scalewise.token')), token);

    // The pool's ledger lists 3 workers (as state-sync does), and it says so; then pods are pending.
    const pub = am.bus.publisher;
    await listWorkers(3, 'seed');
    await pub.publish(syncedAt(3));
    // The state and signals topics are read independently: pending pods read before the pool's
    // size is known decide nothing. Wait until the engine knows it.
    await waitFor(
      async () => {
        const r = (await (await fetch(`${engineBase}/v1/pools`, bearer())).json()) as {
          pools: { pool: string; workers: number | null }[];
        };
        return r.pools.find((p) => p.pool === 'workers')?.workers === 3;
      },
      { timeoutMs: 60_000, what: 'the pool size known to the decision-engine' },
    );
    const pending = ev('io.scalewise.PendingPodsDetected', { pending_count: 3, waiting_time: 4 });
    const published = Date.now();
    await pub.publish(pending);

    // The real decision-engine decides; the row appears in the live timeline within seconds.
    const row = page.locator(`.event[data-type=ScaleUpDecision][data-pool=workers]`);
    // How fast is for the benchmarks (a loaded CI runner takes longer): here, that it comes live.
    await row.first().waitFor({ timeout: 60_000 });
    const seenAfterMs = Date.now() - published;
    t.diagnostic(`ScaleUpDecision in the timeline ${seenAfterMs} ms after PendingPodsDetected was published`);

    const decision = await waitFor(
      () => decisions.of('io.scalewise.ScaleUpDecision').find((d) => d.causationid === pending.id),
      { timeoutMs: 15_000, what: 'the decision on the broker' },
    );
    const d = decision.data as EventData<'io.scalewise.ScaleUpDecision'>;
    assert.equal(d.reason, 'pending_pods');
    assert.equal(d.current_workers, 3);

    // node-manager and state-sync, played on the real broker.
    const nm = { source: '/scalewise/test/node-manager' };
    const started = causedBy(
      decision,
      'io.scalewise.ScaleUpStarted',
      {
        pool: 'workers',
        action_id: decision.id,
        count: d.count,
        previous_workers: 3,
        target_workers: d.desired_workers,
      },
      nm,
    );
    const done = causedBy(
      started,
      'io.scalewise.ScalingActionCompleted',
      {
        pool: 'workers',
        action_id: decision.id,
        action: 'scale_up',
        count: d.count,
        previous_workers: 3,
        new_workers: d.desired_workers,
        duration: 2.5,
      },
      nm,
    );
    await pub.publish(started);
    await pub.publish(done);
    const synced = syncedAt(d.desired_workers);
    // node-manager and state-sync write what they state into the pool's ledger first.
    await listWorkers(d.desired_workers, 'after-scale-up');
    await pub.publish(synced);
    await waitFor(
      async () => {
        const r = await fetch(`${base}/v1/events?correlationid=${pending.correlationid}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return r.ok && ((await r.json()) as { events: unknown[] }).events.length >= 4;
      },
      { timeoutMs: 20_000, what: 'the whole chain in the history' },
    );
    await shot(page, 'timeline');

    // Clicking the decision shows its chain with the rule and the numbers.
    await row.first().click();
    const chain = page.locator('#explain .chain');
    await chain.locator('.link.selected[data-type=ScaleUpDecision]').waitFor({ timeout: 10_000 });
    const types = await chain
      .locator('.link')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    assert.deepEqual(types, [
      'PendingPodsDetected',
      'ScaleUpDecision',
      'ScaleUpStarted',
      'ScalingActionCompleted',
    ]);
    const why = (await chain.locator('.link.selected .why').textContent()) ?? '';
    assert.match(why, new RegExp(`rule\\s+${d.explanation.rule}`));
    assert.match(why, /pending_count/);
    const comparisons = await chain.locator('.link.selected .comparisons li').allTextContents();
    assert.deepEqual(
      comparisons,
      d.explanation.comparisons.map(
        (c) => `${c.metric} ${c.value} ${c.operator} ${c.threshold} ${c.result ? '✓' : '✗'}`,
      ),
    );
    await shot(page, 'explain');

    // The chart's last workers point is the worker count of the last state event, which is
    // also what the decision-engine's state store holds for the pool.
    const workersLine = page.locator('figure.chart[data-pool=workers] path[data-series=workers]');
    await waitFor(async () => (await workersLine.getAttribute('data-last')) === String(d.desired_workers), {
      timeoutMs: 15_000,
      what: `the chart's last workers point at ${d.desired_workers}`,
    });
    const lastDot = await page
      .locator('figure.chart[data-pool=workers] circle.last')
      .getAttribute('data-value');
    assert.equal(lastDot, String(d.desired_workers));
    const stored = await waitFor(
      async () => {
        const r = (await (await fetch(`${engineBase}/v1/pools`, bearer())).json()) as {
          pools: { pool: string; workers: number | null }[];
        };
        const w = r.pools.find((p) => p.pool === 'workers')?.workers;
        return w === d.desired_workers ? w : undefined;
      },
      { timeoutMs: 15_000, what: "the decision-engine's stored worker count" },
    );
    assert.equal(await workersLine.getAttribute('data-last'), String(stored));
    const legend = (await page.locator('figure.chart[data-pool=workers] .legend').textContent()) ?? '';
    assert.match(legend, new RegExp(`workers ${d.desired_workers}.*min 2.*max 6`, 's'));
    await shot(page, 'console');

    // A dead letter: the count in the header, its details behind the link.
    assert.equal((await page.locator('#dlq-count').textContent()) ?? '', '0');
    const letter = sampleEvent(
      'io.scalewise.DeadLetterRecorded',
      { topic: `${prefix}triggers` },
      { ...src, clusterid: loaded.config.cluster_id, partitionkey: `${prefix}triggers` },
    );
    await pub.publish(letter);
    await page.locator('#dlq[data-count="1"]').waitFor({ timeout: 15_000 });
    await page.click('#dlq');
    const details = page.locator(`#dead-letters li[data-id="${letter.id}"]`);
    await details.waitFor({ timeout: 5_000 });
    assert.match((await details.textContent()) ?? '', /MALFORMED_RECORD[\s\S]*value is not valid JSON/);

    // Filters: severity=critical hides the info decision.
    await page.selectOption('#f-severity', 'critical');
    await page.locator('.timeline-panel .empty, .event.sev-critical').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('.event[data-type=ScaleUpDecision]').count(), 0);
    assert.match(page.url(), /#severity=critical$/);
    assert.deepEqual(problems, [], 'no errors in the page');
    await page.close();
  });
});
