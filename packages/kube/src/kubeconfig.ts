/**
 * Where the Kubernetes API is and how to authenticate to it: a kubeconfig file (kubectl's
 * format, one file) or the in-cluster service account, resolved to the one cluster and user of
 * a context. What it supports, and refuses at load instead of ignoring:
 *
 * - cluster: `server` (https, or http), `certificate-authority` / `-data`,
 *   `insecure-skip-tls-verify`, `tls-server-name`; `disable-compression` and `extensions` are
 *   accepted and change nothing (the client never asks for compression). `proxy-url` is refused.
 * - user: `client-certificate` / `-data` with `client-key` / `-data`, `token`, `tokenFile`
 *   (read again every minute), `username` / `password` (basic auth), `exec` (a credential plugin,
 *   client.authentication.k8s.io/v1 or v1beta1); `extensions` is accepted. `auth-provider`
 *   (oidc, gcp, azure) and impersonation (`as`, `as-groups`, `as-uid`, `as-user-extra`) are
 *   refused, as is any field this list does not name.
 * - in-cluster: `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`, the service account's
 *   `token` (read again every minute: the kubelet rotates it) and `ca.crt`.
 *
 * Relative file paths in a kubeconfig are relative to the kubeconfig's directory, as kubectl
 * reads them. Environment proxies (HTTPS_PROXY) are not used.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ScalewiseError } from '@scalewise/errors';
import { parse } from 'yaml';

/** The versions of ExecCredential a plugin may be asked for. */
export const EXEC_API_VERSIONS = [
  'client.authentication.k8s.io/v1',
  'client.authentication.k8s.io/v1beta1',
] as const;

/** A credential plugin as the kubeconfig's `users[].user.exec` names it. */
export interface ExecConfig {
  command: string;
  args: readonly string[];
  /** Added to the service's own environment. */
  env: Readonly<Record<string, string>>;
  apiVersion: (typeof EXEC_API_VERSIONS)[number];
  /** Whether the plugin is told the cluster (`spec.cluster` of KUBERNETES_EXEC_INFO). */
  provideClusterInfo: boolean;
  installHint?: string;
  /** The field it came from, for messages: `users[admin].user.exec`. */
  field: string;
}

export type KubeAuth =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** A file holding the token, read again every minute (a projected service-account token). */
  | { kind: 'tokenFile'; path: string; field: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'exec'; exec: ExecConfig };

/** One API server and one identity on it. */
export interface KubeTarget {
  /** The server's URL, `https://host:port` (or with a path prefix, or http). */
  server: string;
  /** PEM of the certificate authorities the server's certificate must chain to; absent: the system's. */
  ca?: string;
  /** PEM of the client certificate and its key (TLS client authentication). */
  cert?: string;
  key?: string;
  /** `insecure-skip-tls-verify`: the server's certificate is not checked. */
  insecure: boolean;
  /** `tls-server-name`: the name the server's certificate is checked against (and sent as SNI). */
  serverName?: string;
  auth: KubeAuth;
  /** Where this came from, for messages: "context 'kind' of /home/me/.kube/config". */
  source: string;
}

/** The directory a pod's service account is mounted at. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadOptions {
  /** A kubeconfig file; absent: the in-cluster service account. */
  kubeconfig?: string | undefined;
  /** A context of the kubeconfig; absent: its current-context. */
  context?: string | undefined;
  /**
   * Where KUBERNETES_SERVICE_HOST / _PORT are read (and, through connectKube, the environment
   * an exec plugin runs in). @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /** @default SERVICE_ACCOUNT_DIR */
  serviceAccountDir?: string;
}

const invalid = (message: string, field?: string): ScalewiseError =>
  new ScalewiseError('INVALID_CONFIG', message, {
    details: { key: 'kubernetes.kubeconfig', ...(field ? { field } : {}) },
  });

/**
 * The API server and identity to use: the kubeconfig's context when a kubeconfig is given, the
 * pod's service account otherwise.
 * @throws ScalewiseError INVALID_CONFIG naming the file and field that is missing, unreadable
 *   or not supported; outside a pod without a kubeconfig, saying so.
 */
export function loadKubeTarget(options: LoadOptions = {}): KubeTarget {
  const env = options.env ?? process.env;
  if (options.kubeconfig) return kubeconfigTarget(readKubeconfig(options.kubeconfig), options);
  if (!env.KUBERNETES_SERVICE_HOST) {
    // Outside a pod there is no service account to fall back on: say so, instead of letting
    // every request fail later.
    throw invalid(
      'kubernetes.kubeconfig (or KUBECONFIG) is not set, and this is not a pod (KUBERNETES_SERVICE_HOST is unset): no Kubernetes API to talk to',
    );
  }
  if (options.context) {
    throw invalid(
      `kubernetes.context is '${options.context}', but there is no kubeconfig to take it from (kubernetes.kubeconfig is unset: the in-cluster service account is used)`,
    );
  }
  return inClusterTarget(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
}

function readKubeconfig(path: string): { doc: unknown; path: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    const list = code === 'ENOENT' && path.includes(delimiter) && path.split(delimiter).some(existsSync);
    throw new ScalewiseError(
      'INVALID_CONFIG',
      list
        ? `kubernetes.kubeconfig (or KUBECONFIG) is a list of files (${path}): name one kubeconfig file; merging several is not supported`
        : `kubernetes.kubeconfig: cannot read ${path} (${code ?? (err as Error).message})`,
      { cause: err, details: { key: 'kubernetes.kubeconfig' } },
    );
  }
  try {
    return { doc: parse(text), path };
  } catch (err) {
    throw new ScalewiseError('INVALID_CONFIG', `kubeconfig ${path} is not YAML: ${(err as Error).message}`, {
      cause: err,
      details: { key: 'kubernetes.kubeconfig' },
    });
  }
}

type Fields = Record<string, unknown>;
const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The target a parsed kubeconfig names for `options.context` (or its current-context). File
 * paths in it are read relative to `path`'s directory.
 * @throws ScalewiseError INVALID_CONFIG naming the field.
 */
export function kubeconfigTarget(
  { doc, path }: { doc: unknown; path: string },
  options: { context?: string | undefined } = {},
): KubeTarget {
  const where = `kubeconfig ${path}`;
  if (!isFields(doc))
    throw invalid(`${where} is not a kubeconfig (a YAML mapping with clusters, users, contexts)`);
  const contextName = options.context || str(doc['current-context'], `${where}: current-context`);
  if (!contextName) {
    throw invalid(`${where} has no current-context, and kubernetes.context is not set: name a context`);
  }
  const context = named(doc, 'contexts', contextName, where, 'context');
  if (!context) {
    const known = names(doc.contexts);
    throw invalid(
      `${where} has no context '${contextName}'${known.length ? ` (it has ${known.map((n) => `'${n}'`).join(', ')})` : ''}`,
      options.context ? 'kubernetes.context' : 'current-context',
    );
  }
  const clusterName = str(context.cluster, `${where}: contexts[${contextName}].context.cluster`);
  if (!clusterName)
    throw invalid(`${where}: context '${contextName}' names no cluster`, `contexts[${contextName}]`);
  const cluster = named(doc, 'clusters', clusterName, where, 'cluster');
  if (!cluster) {
    throw invalid(
      `${where}: context '${contextName}' names cluster '${clusterName}', which is not in clusters`,
    );
  }
  const userName = str(context.user, `${where}: contexts[${contextName}].context.user`);
  const user = userName ? named(doc, 'users', userName, where, 'user') : {};
  if (!user)
    throw invalid(`${where}: context '${contextName}' names user '${userName}', which is not in users`);
  const dir = dirname(resolve(path));
  const target: KubeTarget = {
    ...clusterPart(cluster, `clusters[${clusterName}].cluster`, where, dir),
    ...userPart(user, `users[${userName}].user`, where, dir),
    source: `context '${contextName}' of ${path}`,
  };
  return target;
}

/** The entry `name` of a kubeconfig list (clusters, users, contexts), its inner mapping. */
function named(doc: Fields, list: string, name: string, where: string, inner: string): Fields | undefined {
  const entries = doc[list];
  if (entries === undefined || entries === null) return undefined;
  if (!Array.isArray(entries)) throw invalid(`${where}: ${list} is not a list`, list);
  const entry = entries.find((e) => isFields(e) && e.name === name) as Fields | undefined;
  if (!entry) return undefined;
  const value = entry[inner] ?? {};
  if (!isFields(value))
    throw invalid(`${where}: ${list}[${name}].${inner} is not a mapping`, `${list}[${name}]`);
  return value;
}

const names = (entries: unknown): string[] =>
  Array.isArray(entries)
    ? entries.flatMap((e) => (isFields(e) && typeof e.name === 'string' ? [e.name] : []))
    : [];

/** A string field: undefined when absent or empty (kubectl's reading of `token: ""`). */
function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalid(`${field} is not a string`, field);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalid(`${field} is not true or false`, field);
  return v;
}

const CLUSTER_FIELDS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'disable-compression',
  'extensions',
]);
const USER_FIELDS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
  'username',
  'password',
  'exec',
  'extensions',
]);

/** Why a field we know of is refused. */
const REFUSED: Record<string, string> = {
  'proxy-url': 'proxies are not supported: reach the API server directly',
  'auth-provider':
    'auth-provider plugins (oidc, gcp, azure) are not supported: use an exec credential plugin (kubelogin, gke-gcloud-auth-plugin, ...) or a token',
  as: 'impersonation is not supported',
  'as-uid': 'impersonation is not supported',
  'as-groups': 'impersonation is not supported',
  'as-user-extra': 'impersonation is not supported',
};

function refuseUnknown(fields: Fields, known: Set<string>, field: string, where: string): void {
  for (const [k, v] of Object.entries(fields)) {
    if (known.has(k) || v === undefined || v === null) continue;
    const name = `${field}.${k}`;
    throw invalid(`${where}: ${name} is not supported${REFUSED[k] ? `: ${REFUSED[k]}` : ''}`, name);
  }
}

/** A PEM given inline (`<name>-data`, base64) or as a file (`<name>`, relative to `dir`). */
function pem(fields: Fields, name: string, field: string, where: string, dir: string): string | undefined {
  const data = str(fields[`${name}-data`], `${where}: ${field}.${name}-data`);
  if (data) return Buffer.from(data, 'base64').toString('utf8');
  const file = str(fields[name], `${where}: ${field}.${name}`);
  if (!file) return undefined;
  return readReferenced(file, `${field}.${name}`, where, dir);
}

function readReferenced(file: string, field: string, where: string, dir: string): string {
  const path = isAbsolute(file) ? file : join(dir, file);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `${where}: ${field} names ${path}, which cannot be read (${(err as { code?: string }).code ?? (err as Error).message})`,
      { cause: err, details: { key: 'kubernetes.kubeconfig', field } },
    );
  }
}

function clusterPart(
  c: Fields,
  field: string,
  where: string,
  dir: string,
): Pick<KubeTarget, 'server' | 'ca' | 'insecure' | 'serverName'> {
  refuseUnknown(c, CLUSTER_FIELDS, field, where);
  const server = str(c.server, `${where}: ${field}.server`);
  if (!server) throw invalid(`${where}: ${field}.server is not set`, `${field}.server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw invalid(`${where}: ${field}.server '${server}' is not a URL`, `${field}.server`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(
      `${where}: ${field}.server '${server}' is not an https:// (or http://) URL`,
      `${field}.server`,
    );
  }
  const insecure = bool(c['insecure-skip-tls-verify'], `${where}: ${field}.insecure-skip-tls-verify`);
  const ca = pem(c, 'certificate-authority', field, where, dir);
  if (insecure && ca) {
    throw invalid(
      `${where}: ${field} sets both insecure-skip-tls-verify and a certificate authority: choose one`,
      `${field}.insecure-skip-tls-verify`,
    );
  }
  const serverName = str(c['tls-server-name'], `${where}: ${field}.tls-server-name`);
  return {
    server: server.replace(/\/+$/, ''),
    insecure,
    ...(ca ? { ca } : {}),
    ...(serverName ? { serverName } : {}),
  };
}

function userPart(
  u: Fields,
  field: string,
  where: string,
  dir: string,
): Pick<KubeTarget, 'cert' | 'key' | 'auth'> {
  refuseUnknown(u, USER_FIELDS, field, where);
  const cert = pem(u, 'client-certificate', field, where, dir);
  const key = pem(u, 'client-key', field, where, dir);
  if (Boolean(cert) !== Boolean(key)) {
    throw invalid(
      `${where}: ${field} has a client ${cert ? 'certificate without its key' : 'key without its certificate'}`,
      `${field}.${cert ? 'client-key' : 'client-certificate'}`,
    );
  }
  const token = str(u.token, `${where}: ${field}.token`);
  const tokenFile = str(u.tokenFile, `${where}: ${field}.tokenFile`);
  const username = str(u.username, `${where}: ${field}.username`);
  const password = str(u.password, `${where}: ${field}.password`);
  const kinds = [
    token || tokenFile ? 'token' : undefined,
    username || password ? 'username/password' : undefined,
    u.exec !== undefined && u.exec !== null ? 'exec' : undefined,
  ].filter(Boolean);
  if (kinds.length > 1) {
    throw invalid(
      `${where}: ${field} sets ${kinds.join(' and ')}: one way to authenticate, not several`,
      field,
    );
  }
  let auth: KubeAuth = { kind: 'none' };
  if (tokenFile) {
    const path = isAbsolute(tokenFile) ? tokenFile : join(dir, tokenFile);
    // Read now so that a wrong path fails at start, not at the first request.
    readReferenced(path, `${field}.tokenFile`, where, dir);
    auth = { kind: 'tokenFile', path, field: `${field}.tokenFile` };
  } else if (token) {
    auth = { kind: 'token', token };
  } else if (username || password) {
    if (!username || !password) {
      throw invalid(
        `${where}: ${field} has a ${username ? 'username without a password' : 'password without a username'}`,
        field,
      );
    }
    auth = { kind: 'basic', username, password };
  } else if (kinds[0] === 'exec') {
    auth = { kind: 'exec', exec: execPart(u.exec, `${field}.exec`, where, dir) };
  }
  return { ...(cert && key ? { cert, key } : {}), auth };
}

const EXEC_FIELDS = new Set([
  'command',
  'args',
  'env',
  'apiVersion',
  'installHint',
  'provideClusterInfo',
  'interactiveMode',
]);

function execPart(e: unknown, field: string, where: string, dir: string): ExecConfig {
  if (!isFields(e)) throw invalid(`${where}: ${field} is not a mapping`, field);
  refuseUnknown(e, EXEC_FIELDS, field, where);
  const command = str(e.command, `${where}: ${field}.command`);
  if (!command) throw invalid(`${where}: ${field}.command is not set`, `${field}.command`);
  const apiVersion = str(e.apiVersion, `${where}: ${field}.apiVersion`);
  if (!EXEC_API_VERSIONS.includes(apiVersion as ExecConfig['apiVersion'])) {
    throw invalid(
      `${where}: ${field}.apiVersion is ${apiVersion ? `'${apiVersion}'` : 'not set'}: supported are ${EXEC_API_VERSIONS.join(' and ')}`,
      `${field}.apiVersion`,
    );
  }
  const args = e.args ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    throw invalid(`${where}: ${field}.args is not a list of strings`, `${field}.args`);
  }
  const env: Record<string, string> = {};
  const entries = e.env ?? [];
  if (!Array.isArray(entries)) throw invalid(`${where}: ${field}.env is not a list`, `${field}.env`);
  for (const v of entries) {
    if (!isFields(v) || typeof v.name !== 'string' || typeof v.value !== 'string') {
      throw invalid(`${where}: ${field}.env has an entry without a string name and value`, `${field}.env`);
    }
    env[v.name] = v.value;
  }
  const mode = str(e.interactiveMode, `${where}: ${field}.interactiveMode`);
  if (mode === 'Always') {
    throw invalid(
      `${where}: ${field}.interactiveMode is Always: a service has no terminal to ask on (Never or IfAvailable)`,
      `${field}.interactiveMode`,
    );
  }
  if (mode !== undefined && mode !== 'Never' && mode !== 'IfAvailable') {
    throw invalid(
      `${where}: ${field}.interactiveMode '${mode}' is not Never, IfAvailable or Always`,
      `${field}.interactiveMode`,
    );
  }
  const installHint = str(e.installHint, `${where}: ${field}.installHint`);
  return {
    // A path with a separator is relative to the kubeconfig, a bare name is looked up in PATH (as kubectl does).
    command: command.includes('/') && !isAbsolute(command) ? join(dir, command) : command,
    args: args as string[],
    env,
    apiVersion: apiVersion as ExecConfig['apiVersion'],
    provideClusterInfo: bool(e.provideClusterInfo, `${where}: ${field}.provideClusterInfo`),
    ...(installHint ? { installHint } : {}),
    field,
  };
}

/**
 * The pod's own API server and service account.
 * @throws ScalewiseError INVALID_CONFIG when KUBERNETES_SERVICE_PORT is unset or the token or
 *   CA file cannot be read.
 */
export function inClusterTarget(env: NodeJS.ProcessEnv, dir: string = SERVICE_ACCOUNT_DIR): KubeTarget {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw invalid(
      'in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (set by the kubelet in every pod); one is missing',
    );
  }
  const where = 'the in-cluster service account';
  const token = join(dir, 'token');
  readReferenced(token, 'token', where, dir);
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readReferenced(join(dir, 'ca.crt'), 'ca.crt', where, dir),
    insecure: false,
    auth: { kind: 'tokenFile', path: token, field: `${dir}/token` },
    source: `${where} (${dir})`,
  };
}
