// The CLI as a user installs it: `pnpm pack` in packages/cli (its prepack builds
// dist/scalewise.js with scripts/build-cli.mjs), then `npm install -g` of the tarball into a
// scratch prefix with npm offline and an empty cache (the tarball must need nothing from a
// registry), then the installed `scalewise` run from a directory outside the repository with
// only Node on PATH.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
const scratch = mkdtempSync(join(tmpdir(), 'scalewise-cli-pack-'));
const prefix = join(scratch, 'global');
const elsewhere = join(scratch, 'elsewhere');
// Only Node on PATH: nothing of the workspace (pnpm, turbo, node_modules/.bin) is reachable.
const bareEnv = { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: scratch, NO_COLOR: '1' };
let tarball: string;

/** Runs a command; a failure throws with its output, so the test names what went wrong. */
function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

before(() => {
  mkdirSync(elsewhere, { recursive: true });
  sh('pnpm', ['pack', '--pack-destination', scratch], pkgDir);
  const found = readdirSync(scratch).filter((f) => f.endsWith('.tgz'));
  assert.equal(found.length, 1, `one tarball from pnpm pack, got ${found.join(', ') || 'none'}`);
  tarball = join(scratch, found[0] as string);
  sh(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      prefix,
      '--offline',
      '--cache',
      join(scratch, 'npm-cache'),
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      tarball,
    ],
    elsewhere,
    { ...process.env, npm_config_userconfig: join(scratch, 'npmrc') },
  );
});

after(() => rmSync(scratch, { recursive: true, force: true }));

describe('the packed CLI', () => {
  test('the tarball holds the one built file and a manifest with no dependencies', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
    assert.deepEqual(files, ['package/dist/scalewise.js', 'package/package.json']);
    const manifest = JSON.parse(
      execFileSync('tar', ['xzfO', tarball, 'package/package.json'], { encoding: 'utf8' }),
    ) as Record<string, unknown>;
    assert.deepEqual(manifest.bin, { scalewise: './dist/scalewise.js' });
    assert.equal(manifest.dependencies, undefined, 'everything it needs is in dist/scalewise.js');
    assert.equal(manifest.peerDependencies, undefined);
    assert.equal(manifest.optionalDependencies, undefined);
    assert.equal(
      existsSync(join(prefix, 'lib', 'node_modules', '@scalewise', 'cli', 'node_modules')),
      false,
      'npm installed nothing beside it',
    );
  });

  test('the installed scalewise prints its version and the commit it was built from, from any directory', () => {
    const out = sh(join(prefix, 'bin', 'scalewise'), ['--version'], elsewhere, bareEnv);
    const escaped = version.replace(/\./g, '\\.');
    assert.match(out, new RegExp(`^scalewise ${escaped}( \\(commit [0-9a-f]{7,40}(\\+dirty)?\\))?\\n$`));
    assert.doesNotMatch(out, /from source/, 'the built file, not the sources');
  });

  test('the installed scalewise prints its help, the bus commands included, and exits 2 on a bad command', () => {
    const bin = join(prefix, 'bin', 'scalewise');
    assert.match(sh(bin, ['--help'], elsewhere, bareEnv), /^Usage: scalewise <command> \[options\]/);
    assert.match(sh(bin, ['dlq', '--help'], elsewhere, bareEnv), /Usage: scalewise dlq/);
    const bad = spawnSync(bin, ['no-such-command'], { cwd: elsewhere, env: bareEnv, encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /scalewise: unknown command 'no-such-command'/);
  });
});
