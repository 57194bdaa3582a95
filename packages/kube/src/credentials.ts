/**
 * The credentials of each request, from a {@link KubeTarget}'s auth:
 * - a static token or username/password: as they are;
 * - a token file (a kubeconfig's `tokenFile`, the in-cluster service account's token, which
 *   the kubelet rotates): read again when the last read is a minute old, as client-go does;
 * - an exec credential plugin: run when there is no credential yet or the last one has passed
 *   its `expirationTimestamp` (one run for the requests that wait on it), its token or client
 *   certificate used until then.
 * An answer 401 ({@link CredentialSource.invalidate}) drops what is held, so the next request
 * reads the file or runs the plugin again.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ScalewiseError } from '@scalewise/errors';
import type { ExecConfig, KubeTarget } from './kubeconfig.ts';

/** What one request authenticates with, beyond the target's static TLS settings. */
export interface RequestCredentials {
  /** The Authorization header's value. */
  authorization?: string;
  /** PEM of a client certificate and key an exec plugin gave (they replace the kubeconfig's). */
  cert?: string;
  key?: string;
}

export interface CredentialSource {
  /** @throws ScalewiseError when a token file cannot be read the first time or the exec plugin fails. */
  get(): Promise<RequestCredentials>;
  /** The server refused them (401): read or run again on the next {@link get}. */
  invalidate(): void;
}

export interface CredentialOptions {
  /** @default Date.now */
  now?: () => number;
  /** The environment the exec plugin runs in, its own `env` added. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** How long an exec plugin may run. @default 60000 */
  execTimeoutMs?: number;
}

/** How long a token file's contents are used before it is read again. */
export const TOKEN_FILE_PERIOD_MS = 60_000;

export function credentialSource(target: KubeTarget, options: CredentialOptions = {}): CredentialSource {
  const auth = target.auth;
  const now = options.now ?? Date.now;
  switch (auth.kind) {
    case 'none':
      return { get: async () => ({}), invalidate() {} };
    case 'token': {
      const creds = { authorization: `Bearer ${auth.token}` };
      return { get: async () => creds, invalidate() {} };
    }
    case 'basic': {
      const creds = {
        authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`,
      };
      return { get: async () => creds, invalidate() {} };
    }
    case 'tokenFile':
      return tokenFileSource(auth.path, now);
    case 'exec':
      return execSource(auth.exec, target, now, options);
  }
}

function tokenFileSource(path: string, now: () => number): CredentialSource {
  let held: RequestCredentials | undefined;
  let readAt = 0;
  return {
    async get() {
      if (held && now() - readAt < TOKEN_FILE_PERIOD_MS) return held;
      try {
        const token = readFileSync(path, 'utf8').trim();
        if (!token) throw Object.assign(new Error('the file is empty'), { code: 'EMPTY' });
        held = { authorization: `Bearer ${token}` };
      } catch (err) {
        // A rotation in progress: the token read last stays until the next try.
        if (!held) {
          throw new ScalewiseError(
            'DEPENDENCY_UNAVAILABLE',
            `the Kubernetes token file ${path} cannot be read (${(err as { code?: string }).code ?? (err as Error).message})`,
            { cause: err, details: { key: 'kubernetes.kubeconfig', file: path } },
          );
        }
      }
      readAt = now();
      return held;
    },
    invalidate() {
      readAt = Number.NEGATIVE_INFINITY;
    },
  };
}

function execSource(
  exec: ExecConfig,
  target: KubeTarget,
  now: () => number,
  options: CredentialOptions,
): CredentialSource {
  let held: { creds: RequestCredentials; until: number } | undefined;
  let running: Promise<RequestCredentials> | undefined;
  return {
    get() {
      if (held && now() < held.until) return Promise.resolve(held.creds);
      running ??= runPlugin(exec, target, options)
        .then((r) => {
          held = r;
          return r.creds;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    invalidate() {
      held = undefined;
    },
  };
}

/** The plugin's ExecCredential, and until when it holds. */
async function runPlugin(
  exec: ExecConfig,
  target: KubeTarget,
  options: CredentialOptions,
): Promise<{ creds: RequestCredentials; until: number }> {
  const what = `the kubeconfig's exec credential plugin '${exec.command}' (${exec.field})`;
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: target.server,
              ...(target.serverName ? { 'tls-server-name': target.serverName } : {}),
              ...(target.ca
                ? { 'certificate-authority-data': Buffer.from(target.ca).toString('base64') }
                : {}),
              ...(target.insecure ? { 'insecure-skip-tls-verify': true } : {}),
            },
          }
        : {}),
    },
  };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      exec.command,
      [...exec.args],
      {
        env: { ...(options.env ?? process.env), ...exec.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
        timeout: options.execTimeoutMs ?? 60_000,
        maxBuffer: 1 << 20,
        encoding: 'utf8',
      },
      (err, out, stderr) => {
        if (!err) {
          resolve(out);
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          reject(
            new ScalewiseError(
              'INVALID_CONFIG',
              `${what} cannot be run (${e.code})${exec.installHint ? `: ${exec.installHint}` : ''}`,
              { cause: err, details: { key: 'kubernetes.kubeconfig', field: exec.field } },
            ),
          );
          return;
        }
        const why = e.killed ? 'it did not finish in time' : `exit ${e.code}`;
        const said = stderr.trim().slice(-500);
        reject(
          new ScalewiseError('DEPENDENCY_UNAVAILABLE', `${what} failed (${why})${said ? `: ${said}` : ''}`, {
            cause: err,
            details: { key: 'kubernetes.kubeconfig', field: exec.field },
          }),
        );
      },
    );
  });
  return readExecCredential(stdout, exec, what);
}

/**
 * The credential of a plugin's output (never quoted in errors: it holds the secret).
 * @throws ScalewiseError INVALID_CONFIG when it is not an ExecCredential of the version asked
 *   for with a token or a client certificate and key.
 */
export function readExecCredential(
  stdout: string,
  exec: Pick<ExecConfig, 'apiVersion' | 'field'>,
  what: string,
): { creds: RequestCredentials; until: number } {
  const bad = (why: string) =>
    new ScalewiseError('INVALID_CONFIG', `${what} ${why}`, {
      details: { key: 'kubernetes.kubeconfig', field: exec.field },
    });
  let out: {
    apiVersion?: unknown;
    kind?: unknown;
    status?: {
      token?: unknown;
      clientCertificateData?: unknown;
      clientKeyData?: unknown;
      expirationTimestamp?: unknown;
    };
  };
  try {
    out = JSON.parse(stdout);
  } catch {
    throw bad('printed something that is not JSON');
  }
  if (out?.kind !== 'ExecCredential' || out.apiVersion !== exec.apiVersion) {
    throw bad(
      `printed kind ${String(out?.kind)} of ${String(out?.apiVersion)}, not an ExecCredential of ${exec.apiVersion}`,
    );
  }
  const s = out.status ?? {};
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const token = text(s.token);
  const cert = text(s.clientCertificateData);
  const key = text(s.clientKeyData);
  if (Boolean(cert) !== Boolean(key))
    throw bad('gave a client certificate without its key, or a key without its certificate');
  if (!token && !cert)
    throw bad('gave neither status.token nor status.clientCertificateData and clientKeyData');
  let until = Number.POSITIVE_INFINITY;
  if (s.expirationTimestamp !== undefined && s.expirationTimestamp !== null) {
    until = typeof s.expirationTimestamp === 'string' ? Date.parse(s.expirationTimestamp) : Number.NaN;
    if (!Number.isFinite(until))
      throw bad(`gave an expirationTimestamp that is not RFC 3339: ${String(s.expirationTimestamp)}`);
  }
  return {
    creds: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(cert && key ? { cert, key } : {}),
    },
    until,
  };
}
