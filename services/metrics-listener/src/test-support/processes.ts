/**
 * Integration-test helpers: the optional Go servers of scripts/go-tool (built once from the Go
 * module proxy, cached outside the work tree) and a self-signed certificate (a free port and a
 * server run by its own pid are packages/testing's). Used by tests only.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repositoryRoot } from '@scalewise/testing';

const exec = promisify(execFile);

/** The binary of a Go tool; the first call of a machine builds it (minutes). */
export async function goTool(name: 'metrics-server' | 'victoria-metrics' | 'kwok'): Promise<string> {
  const { stdout } = await exec(join(repositoryRoot(), 'scripts', 'go-tool'), ['path', name], {
    cwd: repositoryRoot(),
    timeout: 20 * 60_000,
    maxBuffer: 16 * 2 ** 20,
  });
  return stdout.trim().split('\n').at(-1) ?? '';
}

/** A self-signed certificate for 127.0.0.1 (openssl), as PEM file paths in `dir`. */
export async function selfSignedCert(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { cert, key };
}
