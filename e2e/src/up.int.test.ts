// The first run, as a new user makes it: `scripts/up`, then the console link from its summary
// in a browser (Debian's chromium, headless, driven by playwright-core), then the `scalewise`
// it put on PATH. Nothing is started by the test itself: scripts/up builds the console and the
// CLI, brings up the stack (already up under scripts/test), the six services on their fixed
// ports (8081-8086, as docker-compose.yml) and the demo workload, and prints the summary this
// test reads. The CLI's link goes to a scratch directory (SCALEWISE_LINK_DIR), never to the
// machine's ~/.local/bin. At the end the test stops scripts/up as Ctrl-C would and checks that
// it stopped what it started. scripts/up's output: test-results/e2e/up/up.log.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { shortName } from '@scalewise/events';
import { repositoryRoot, waitFor } from '@scalewise/testing';
import { type Browser, chromium } from 'playwright-core';

const repo = repositoryRoot();
const ports = [8081, 8082, 8083, 8084, 8085, 8086];
const outDir = join(repo, 'test-results', 'e2e', 'up');
const scratch = mkdtempSync(join(tmpdir(), 'scalewise-up-'));
const linkDir = join(scratch, 'bin');
// The CLI as a user's shell runs it: no SCALEWISE_* or stack variables of the test's own.
const userEnv = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: process.env.HOME ?? scratch };

let up: ChildProcess;
let stdout = '';
let output = '';
let exited: Promise<number | null>;
let browser: Browser | undefined;
let consoleUrl: string;
let token: string;

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function saveOutput(): void {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'up.log'), output);
}

before(async () => {
  const busy = (await Promise.all(ports.map(async (p) => ((await listening(p)) ? p : 0)))).filter(Boolean);
  assert.deepEqual(busy, [], `ports ${busy.join(', ')} are in use: stop the running scripts/up first`);
  const chromiumPath = execFileSync(
    'bash',
    [join(repo, 'packages', 'console', 'scripts', 'ensure-chromium.sh')],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).trim();
  up = spawn(join(repo, 'scripts', 'up'), [], {
    cwd: repo,
    // Its own process group: what it started can be found (and, as a last resort, ended) by it.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SCALEWISE_LINK_DIR: linkDir },
  });
  exited = once(up, 'exit').then(([code]) => code as number | null);
  up.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
    output += c.toString();
  });
  up.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  let ended: number | null | undefined;
  void exited.then((code) => {
    ended = code;
  });
  // A fresh machine builds and starts everything here: minutes, not seconds.
  consoleUrl = await waitFor(
    () => {
      if (ended !== undefined) throw new Error(`scripts/up exited (${ended}) before its summary:\n${output}`);
      return /^ {2}console +(http:\/\/\S+)$/m.exec(stdout)?.[1];
    },
    { timeoutMs: 280_000, intervalMs: 250, what: "scripts/up's summary with the console's URL" },
  ).catch((err: Error) => {
    saveOutput();
    throw new Error(`${err.message}\n--- scripts/up so far ---\n${output.slice(-4000)}`, { cause: err });
  });
  token = new URL(consoleUrl).hash.match(/token=([^&]+)/)?.[1] ?? '';
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  if (up?.exitCode === null && up.signalCode === null) {
    up.kill('SIGTERM');
    const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    if (stopped === 'timeout' && up.pid) process.kill(-up.pid, 'SIGKILL');
  }
  saveOutput();
  rmSync(scratch, { recursive: true, force: true });
});

describe('scripts/up, first run', () => {
  test('the summary names the console with a token for this stack, the six services, the CLI and how to stop', () => {
    const url = new URL(consoleUrl);
    assert.equal(url.origin, 'http://127.0.0.1:8086');
    assert.equal(url.pathname, '/');
    assert.match(token, /^[A-Za-z0-9_-]{16,}$/, 'a token in the fragment, never in the path or query');
    for (const name of [
      'metrics-listener',
      'decision-engine',
      'node-manager',
      'min-enforcer',
      'state-sync',
    ]) {
      assert.match(stdout, new RegExp(`${name} :80\\d\\d`));
    }
    const escapedLinkDir = linkDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(
      stdout,
      new RegExp(`^ {2}cli +scalewise --help +\\(scalewise \\S+ .*linked in ${escapedLinkDir}\\)$`, 'm'),
    );
    assert.match(stdout, /^ {2}stop +Ctrl-C/m);
    const version = spawnSync(join(linkDir, 'scalewise'), ['--version'], {
      cwd: scratch,
      env: userEnv,
      encoding: 'utf8',
    });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^scalewise \d+\.\d+\.\d+ /);
  });

  test('the console link opens the console with no sign-in wall; a trigger from the CLI shows up live as a decision', async (t) => {
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(consoleUrl);
    await page.locator('#conn[data-state=live]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#login').isHidden(), true, 'no sign-in form');
    assert.equal(await page.locator('#app').isVisible(), true);
    assert.equal(await page.locator('#auth').textContent(), 'signed in with a token');
    assert.doesNotMatch(page.url(), /token/, 'the token left the address bar');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('scalewise.token')), token);

    // The running system's telemetry is there, folded: samples and syncs every 10 s.
    await page.locator('.timeline .fold').first().waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.event[data-type=PoolMetricsObserved]').count(), 0);

    // The CLI scripts/up linked publishes a trigger (Kafka, the stack's config as its default).
    const since = Date.now();
    const trigger = spawnSync(
      join(linkDir, 'scalewise'),
      ['trigger', 'scale', '--pool', 'batch', '--count', '1', '--reason', 'e2e: the first run'],
      { cwd: scratch, env: userEnv, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(trigger.status, 0, trigger.stderr);
    const triggerId = trigger.stdout.trim();
    // decision-engine answers it: a ScaleUpDecision, or TriggerRejected once batch is at its max.
    const decision = await waitFor(
      async () => {
        const r = await fetch(
          `http://127.0.0.1:8086/v1/events?from=${since - 5000}&type=ScaleUpDecision,TriggerRejected`,
          { headers: { authorization: `Bearer ${token}` } },
        );
        const body = (await r.json()) as { events: { id: string; type: string; causationid?: string }[] };
        return body.events.find((e) => e.causationid === triggerId);
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `the decision on trigger ${triggerId}` },
    );
    const row = page.locator(`.event[data-id="${decision.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    t.diagnostic(`${decision.type} ${decision.id} in the console ${Date.now() - since} ms after the trigger`);
    assert.equal(await row.getAttribute('data-pool'), 'batch');
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: join(outDir, 'console-default.png'), fullPage: true });

    // The folded telemetry is one click away.
    await page.locator('.timeline .fold button').first().click();
    await page.locator('.event[data-type=PoolMetricsObserved]').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#f-routine').isChecked(), true);
    await page.screenshot({ path: join(outDir, 'console-routine-shown.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no errors in the page');
    await page.close();

    // The same CLI explains it, with the stack's token scripts/up gave it.
    const explain = spawnSync(join(linkDir, 'scalewise'), ['explain', decision.id, '--no-color'], {
      cwd: scratch,
      env: userEnv,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(explain.status, 0, explain.stderr);
    assert.match(explain.stdout, /trigger\.scale/);
    assert.match(explain.stdout, new RegExp(shortName(decision.type)));
  });

  test('Ctrl-C (SIGTERM) stops the services and the demo it started, and exits 0', async () => {
    up.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 90_000))]);
    assert.equal(code, 0, `scripts/up's exit status:\n${output.slice(-3000)}`);
    const still = (await Promise.all(ports.map(async (p) => ((await listening(p)) ? p : 0)))).filter(Boolean);
    assert.deepEqual(still, [], 'no service port is left open');
  });
});
