/**
 * Loading: the YAML file, then the environment on top (the environment wins), then one
 * validation that reports every problem at once, each naming its key, where its value came
 * from and what was expected. Values of secret keys never appear in a message.
 */
import { readFileSync } from 'node:fs';
import { ScalewiseError } from '@scalewise/errors';
import { topicKeys } from '@scalewise/events';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { type Config, configSchema, type PoolConfig } from './schema.ts';
import { type HttpToken, resolveHttpTokens } from './tokens.ts';

/** One problem with the configuration. */
export interface ConfigProblem {
  /** Dotted key, with list indexes: `autoscaler.pools[1].max`. */
  key: string;
  message: string;
  /** Where the value came from: the file, an environment variable, or the default. */
  source: string;
}

type Kind = 'string' | 'list' | 'int' | 'bool';
interface EnvBinding {
  env: string;
  key: string;
  kind: Kind;
  /** The variable names a file whose content is the value (Kubernetes Secret mounts). */
  file?: boolean;
}

/** Every environment override, in the order they are applied. Documented in docs/configuration.md. */
export const envBindings: readonly EnvBinding[] = [
  { env: 'KAFKA_BROKERS', key: 'kafka.brokers', kind: 'list' },
  { env: 'KAFKA_CLIENT_ID', key: 'kafka.client_id', kind: 'string' },
  { env: 'KAFKA_SECURITY_PROTOCOL', key: 'kafka.security.protocol', kind: 'string' },
  { env: 'KAFKA_SASL_MECHANISM', key: 'kafka.security.mechanism', kind: 'string' },
  { env: 'KAFKA_USERNAME', key: 'kafka.security.username', kind: 'string' },
  { env: 'KAFKA_PASSWORD', key: 'kafka.security.password', kind: 'string' },
  { env: 'KAFKA_PASSWORD_FILE', key: 'kafka.security.password', kind: 'string', file: true },
  { env: 'KAFKA_SSL_CA_FILE', key: 'kafka.security.ca_file', kind: 'string' },
  { env: 'KAFKA_SSL_CERT_FILE', key: 'kafka.security.cert_file', kind: 'string' },
  { env: 'KAFKA_SSL_KEY_FILE', key: 'kafka.security.key_file', kind: 'string' },
  { env: 'KAFKA_SSL_REJECT_UNAUTHORIZED', key: 'kafka.security.reject_unauthorized', kind: 'bool' },
  { env: 'KAFKA_TOPIC_PREFIX', key: 'events.topic_prefix', kind: 'string' },
  { env: 'KAFKA_GROUP_PREFIX', key: 'events.group_prefix', kind: 'string' },
  ...topicKeys.map((k) => ({
    env: `KAFKA_TOPIC_${k.toUpperCase()}`,
    key: `events.topics.${k}`,
    kind: 'string' as const,
  })),
  { env: 'REDIS_URL', key: 'redis.url', kind: 'string' },
  { env: 'REDIS_USERNAME', key: 'redis.username', kind: 'string' },
  { env: 'REDIS_PASSWORD', key: 'redis.password', kind: 'string' },
  { env: 'REDIS_PASSWORD_FILE', key: 'redis.password', kind: 'string', file: true },
  { env: 'REDIS_CA_FILE', key: 'redis.ca_file', kind: 'string' },
  // Seed 004's names for the trigger bridge.
  { env: 'REDIS_STREAM', key: 'trigger_bridge.stream', kind: 'string' },
  { env: 'REDIS_CONSUMER_GROUP', key: 'trigger_bridge.group', kind: 'string' },
  { env: 'S3_ENDPOINT', key: 's3.endpoint', kind: 'string' },
  { env: 'S3_REGION', key: 's3.region', kind: 'string' },
  { env: 'S3_BUCKET', key: 's3.bucket', kind: 'string' },
  { env: 'S3_ACCESS_KEY_ID', key: 's3.access_key_id', kind: 'string' },
  { env: 'S3_SECRET_ACCESS_KEY', key: 's3.secret_access_key', kind: 'string' },
  { env: 'S3_SECRET_ACCESS_KEY_FILE', key: 's3.secret_access_key', kind: 'string', file: true },
  { env: 'S3_FORCE_PATH_STYLE', key: 's3.force_path_style', kind: 'bool' },
  { env: 'S3_CA_FILE', key: 's3.ca_file', kind: 'string' },
  { env: 'KUBECONFIG', key: 'kubernetes.kubeconfig', kind: 'string' },
  { env: 'SCALEWISE_HTTP_HOST', key: 'http.host', kind: 'string' },
  { env: 'SCALEWISE_HTTP_PORT', key: 'http.port', kind: 'int' },
  { env: 'SCALEWISE_API_TOKEN', key: 'http.api_token', kind: 'string' },
  // The file's path, not its content: the services re-read it when it changes (rotation).
  { env: 'SCALEWISE_API_TOKEN_FILE', key: 'http.api_token_file', kind: 'string' },
  { env: 'SCALEWISE_CLUSTER_ID', key: 'cluster_id', kind: 'string' },
  { env: 'SCALEWISE_INSTANCE_ID', key: 'events.group_instance_id', kind: 'string' },
  { env: 'LOG_LEVEL', key: 'telemetry.log_level', kind: 'string' },
  { env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', key: 'telemetry.otlp_traces_endpoint', kind: 'string' },
];

/** Keys whose values are secrets. */
const secretKeys = new Set([
  'kafka.security.password',
  'redis.password',
  's3.secret_access_key',
  'http.api_token',
]);

export interface LoadOptions {
  /** The YAML file. @default env.SCALEWISE_CONFIG */
  path?: string;
  /** The YAML text itself, instead of a file (tests, the CLI's `config check -`). */
  text?: string;
  /** @default process.env */
  env?: Record<string, string | undefined>;
  /** Reads files named by the config (TLS PEMs, *_FILE secrets). @default fs.readFileSync */
  readFile?: (path: string) => string;
  /**
   * Read the HTTP API's tokens (http.tokens, http.api_token): a service does, a client (the
   * CLI, which sends its own token) does not. @default true
   */
  httpTokens?: boolean;
}

/** The secrets that may be given as a file (`password_file`, `*_FILE`): read again on each use. */
export type FileSecret = 'kafka.security.password' | 'redis.password' | 's3.secret_access_key';

/** A config that passed validation, with the TLS material read from its files. */
export interface LoadedConfig {
  config: Config;
  /** PEM contents of kafka.security.{ca,cert,key}_file, read at load. */
  kafkaTls: { ca?: string; cert?: string; key?: string };
  /** PEM of redis.ca_file, read at load. */
  redisTls: { ca?: string };
  /** PEM of s3.ca_file, read at load. */
  s3Tls: { ca?: string };
  /** Where the file came from, for the start-up log. */
  path?: string;
  /** The HTTP API's tokens, read at load; absent when loaded with `httpTokens: false`. */
  httpTokens?: HttpToken[];
  /**
   * The current value of a secret given as a file (`kafka.security.password_file`,
   * `redis.password_file`, `KAFKA_PASSWORD_FILE`, `REDIS_PASSWORD_FILE`,
   * `S3_SECRET_ACCESS_KEY_FILE`): the file read again, so that a corrected or rotated Secret
   * takes effect at the next connection without a restart. Undefined when that secret is not
   * from a file; a file that cannot be read or is empty now gives the last value read.
   */
  secret?: (key: FileSecret) => string | undefined;
}

const fail = (problems: ConfigProblem[], path?: string): never => {
  const where = path ? ` in ${path}` : '';
  const lines = problems.map((p) => `  - ${p.key}: ${p.message} (${p.source})`);
  throw new ScalewiseError(
    'INVALID_CONFIG',
    `invalid configuration${where}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${lines.join('\n')}`,
    { details: { problems } },
  );
};

/**
 * Loads, overrides and validates the configuration.
 * @throws ScalewiseError INVALID_CONFIG listing every problem.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const path = options.path ?? env.SCALEWISE_CONFIG;
  let text = options.text;
  if (text === undefined) {
    if (!path) {
      fail([
        {
          key: '(file)',
          message: 'no configuration file: set SCALEWISE_CONFIG or pass --config',
          source: 'environment',
        },
      ]);
    }
    try {
      text = readFile(path as string);
    } catch (err) {
      fail([{ key: '(file)', message: `cannot read ${path}: ${(err as Error).message}`, source: 'file' }]);
    }
  }
  const doc = parseDocument(text as string, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(
      doc.errors.map((e) => ({
        key: '(yaml)',
        message: e.message.split('\n')[0] ?? e.message,
        source: 'file',
      })),
      path,
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    fail([{ key: '(root)', message: 'expected a mapping with an autoscaler: key', source: 'file' }], path);
  }
  const { input, sources, problems, files } = applyEnv(raw as Record<string, unknown>, env, readFile);
  const result = validate(input, sources);
  problems.push(...result.problems);
  if (problems.length > 0 || !result.config) fail(problems, path);
  const config = result.config as Config;
  const { kafkaTls, redisTls, s3Tls } = readFiles(config, readFile, sources);
  let httpTokens: HttpToken[] | undefined;
  if (options.httpTokens !== false) {
    try {
      httpTokens = resolveHttpTokens(config, { env, readFile, sourceOf: (k) => sourceOf(k, sources) });
    } catch (err) {
      if (err instanceof ScalewiseError && err.code === 'INVALID_CONFIG') {
        fail(err.details.problems as ConfigProblem[], path);
      }
      throw err;
    }
  }
  return {
    config,
    kafkaTls,
    redisTls,
    s3Tls,
    ...(path ? { path } : {}),
    ...(httpTokens ? { httpTokens } : {}),
    secret: secretReader(config, files, readFile),
  };
}

/** {@link LoadedConfig.secret}: `files` are the secrets' files named in the environment. */
function secretReader(
  config: Config,
  files: Map<string, string>,
  readFile: (p: string) => string,
): (key: FileSecret) => string | undefined {
  const atLoad: Record<FileSecret, { file: string | undefined; value: () => string | undefined }> = {
    'kafka.security.password': {
      file: files.get('kafka.security.password') ?? config.kafka.security.password_file,
      value: () => config.kafka.security.password,
    },
    'redis.password': {
      file: files.get('redis.password') ?? config.redis.password_file,
      value: () => config.redis.password,
    },
    's3.secret_access_key': {
      file: files.get('s3.secret_access_key'),
      value: () => config.s3.secret_access_key,
    },
  };
  const last = new Map<FileSecret, string>();
  return (key) => {
    const { file, value } = atLoad[key];
    if (!file) return undefined;
    try {
      const text = readFile(file).trim();
      if (text !== '') {
        last.set(key, text);
        return text;
      }
    } catch {
      // Between two writes of a mounted Secret (or removed): the last value read stands.
    }
    return last.get(key) ?? value();
  };
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
}

function applyEnv(
  raw: Record<string, unknown>,
  env: Record<string, string | undefined>,
  readFile: (p: string) => string,
): {
  input: Record<string, unknown>;
  sources: Map<string, string>;
  problems: ConfigProblem[];
  /** The key of each value read from a file a variable names, and that file. */
  files: Map<string, string>;
} {
  const input = structuredClone(raw);
  const sources = new Map<string, string>();
  const files = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const b of envBindings) {
    const value = env[b.env];
    if (value === undefined || value === '') continue;
    const source = `from ${b.env}`;
    let text = value;
    if (b.file) {
      try {
        text = readFile(value).trim();
        files.set(b.key, value);
      } catch (err) {
        problems.push({
          key: b.key,
          message: `cannot read the file ${b.env} names: ${(err as Error).message}`,
          source,
        });
        continue;
      }
    }
    let parsed: unknown = text;
    if (b.kind === 'list') {
      parsed = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    } else if (b.kind === 'int') {
      parsed = /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    } else if (b.kind === 'bool') {
      const t = text.trim().toLowerCase();
      parsed = ['true', '1', 'yes'].includes(t) ? true : ['false', '0', 'no'].includes(t) ? false : text;
    }
    setPath(input, b.key, parsed);
    sources.set(b.key, source);
  }
  return { input, sources, problems, files };
}

/** `autoscaler.pools[1].max` from zod's path. */
function keyOf(path: readonly PropertyKey[]): string {
  let key = '';
  for (const p of path) key += typeof p === 'number' ? `[${p}]` : key ? `.${String(p)}` : String(p);
  return key || '(root)';
}

function sourceOf(key: string, sources: Map<string, string>): string {
  for (const [k, s] of sources) if (key === k || key.startsWith(`${k}[`) || key.startsWith(`${k}.`)) return s;
  return 'in the file';
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `required: expected ${issue.expected}`
        : `expected ${issue.expected}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

/**
 * Schema validation plus the checks that span keys. Each top-level section is validated on
 * its own, so a type error in one section does not hide a cross-key problem in another.
 */
export function validate(
  input: unknown,
  sources: Map<string, string> = new Map(),
): { config?: Config; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const add = (key: string, message: string) =>
    problems.push({ key, message, source: sourceOf(key, sources) });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    add('(root)', 'expected a mapping with an autoscaler: key');
    return { problems };
  }
  const record = input as Record<string, unknown>;
  const shape = configSchema.shape;
  const unknown = Object.keys(record).filter((k) => !(k in shape));
  if (unknown.length > 0) {
    add('(root)', `unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const [section, schema] of Object.entries(shape)) {
    const parsed = (schema as z.ZodType).safeParse(record[section]);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const key = keyOf([section, ...issue.path]);
        // zod's messages never carry the input value; secrets stay out of them.
        add(key, describe(issue));
      }
      continue;
    }
    out[section] = parsed.data;
    if (section === 'autoscaler') out[section] = checkAutoscaler(parsed.data as Parsed['autoscaler'], add);
    if (section === 'kafka') checkKafka(parsed.data as Parsed['kafka'], add);
    if (section === 'redis') checkRedis(parsed.data as Parsed['redis'], add);
    if (section === 's3') checkS3(parsed.data as Parsed['s3'], add);
  }
  if (problems.length > 0) return { problems };
  return { config: out as Config, problems };
}

type Parsed = z.output<typeof configSchema>;
type Add = (key: string, message: string) => void;

function checkAutoscaler(data: Parsed['autoscaler'], add: Add): Config['autoscaler'] {
  const { min_nodes, max_nodes } = data.limits;
  if (min_nodes > max_nodes)
    add('autoscaler.limits', `min_nodes ${min_nodes} is above max_nodes ${max_nodes}`);
  const seen = new Map<string, number>();
  const pools: PoolConfig[] = data.pools.map((pool, i) => {
    const at = `autoscaler.pools[${i}]`;
    const before = seen.get(pool.name);
    if (before !== undefined)
      add(`${at}.name`, `'${pool.name}' is also the name of autoscaler.pools[${before}]`);
    seen.set(pool.name, i);
    const min = pool.min ?? min_nodes;
    const max = pool.max ?? max_nodes;
    if (min > max) add(at, `min ${min} is above max ${max}`);
    for (const dir of ['scale_up', 'scale_down'] as const) {
      const rules = pool.behavior[dir];
      if (rules.select_policy !== 'Disabled' && rules.policies.length === 0) {
        add(`${at}.behavior.${dir}.policies`, 'at least one policy unless select_policy is Disabled');
      }
    }
    const t = pool.thresholds;
    if (t.cpu_low_percent >= t.cpu_high_percent) {
      add(`${at}.thresholds.cpu_low_percent`, `must be below cpu_high_percent (${t.cpu_high_percent})`);
    }
    if (t.memory_low_percent >= t.memory_high_percent) {
      add(
        `${at}.thresholds.memory_low_percent`,
        `must be below memory_high_percent (${t.memory_high_percent})`,
      );
    }
    if (pool.zones.length > 0 && pool.node_labels['topology.kubernetes.io/zone'] !== undefined) {
      add(
        `${at}.node_labels.topology.kubernetes.io/zone`,
        'the pool has zones: each new node gets its zone from them, so node_labels may not set it',
      );
    }
    return { ...pool, min, max };
  });
  return { ...data, pools };
}

function checkKafka(kafka: Parsed['kafka'], add: Add): void {
  const sec = kafka.security;
  const sasl = sec.protocol === 'SASL_PLAINTEXT' || sec.protocol === 'SASL_SSL';
  if (sec.password && sec.password_file)
    add('kafka.security.password_file', 'give the password once: password or password_file');
  if (sasl) {
    if (!sec.mechanism)
      add('kafka.security.mechanism', `required with ${sec.protocol}: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`);
    if (!sec.username) add('kafka.security.username', `required with ${sec.protocol}`);
    if (!sec.password && !sec.password_file)
      add('kafka.security.password', `required with ${sec.protocol} (or password_file)`);
  } else if (sec.mechanism || sec.username || sec.password || sec.password_file) {
    add(
      'kafka.security.protocol',
      `is ${sec.protocol}, but SASL settings are given: use SASL_SSL or SASL_PLAINTEXT`,
    );
  }
  const tls = sec.protocol === 'SSL' || sec.protocol === 'SASL_SSL';
  if (!tls && (sec.ca_file || sec.cert_file || sec.key_file)) {
    add('kafka.security.protocol', `is ${sec.protocol}, but TLS files are given: use SSL or SASL_SSL`);
  }
  if (Boolean(sec.cert_file) !== Boolean(sec.key_file)) {
    add(
      sec.cert_file ? 'kafka.security.key_file' : 'kafka.security.cert_file',
      'cert_file and key_file go together',
    );
  }
}

function checkRedis(redis: Parsed['redis'], add: Add): void {
  let url: URL | undefined;
  try {
    url = new URL(redis.url);
  } catch {
    add('redis.url', 'not a URL');
  }
  if (redis.password && redis.password_file)
    add('redis.password_file', 'give the password once: password or password_file');
  if (url?.password && (redis.password || redis.password_file))
    add('redis.password', 'the URL holds a password too: give it once, in redis.url or redis.password');
  if (redis.username && !(redis.password || redis.password_file || url?.password))
    add('redis.username', 'an ACL user needs a password (redis.password or redis.password_file)');
  if (redis.ca_file && url?.protocol === 'redis:')
    add('redis.ca_file', 'the URL is redis:// (no TLS): use rediss:// to connect over TLS');
}

function checkS3(s3: Parsed['s3'], add: Add): void {
  if (Boolean(s3.access_key_id) !== Boolean(s3.secret_access_key)) {
    add(
      s3.access_key_id ? 's3.secret_access_key' : 's3.access_key_id',
      'access_key_id and secret_access_key go together',
    );
  }
  if (s3.ca_file && s3.endpoint?.startsWith('http:'))
    add('s3.ca_file', 'the endpoint is http:// (no TLS): use an https:// endpoint');
}

/**
 * Reads the files the configuration names: the PEMs of Kafka, Redis and S3 and the password
 * files of Kafka and Redis (their content becomes the password).
 * @throws ScalewiseError INVALID_CONFIG naming each file that cannot be read or is not PEM.
 */
function readFiles(
  config: Config,
  readFile: (p: string) => string,
  sources: Map<string, string>,
): Pick<LoadedConfig, 'kafkaTls' | 'redisTls' | 's3Tls'> {
  const sec = config.kafka.security;
  const problems: ConfigProblem[] = [];
  const read = (key: string, file: string | undefined, pem: boolean): string | undefined => {
    if (!file) return undefined;
    try {
      const text = readFile(file);
      if (pem && !text.includes('-----BEGIN ')) {
        problems.push({ key, message: `${file} is not a PEM file`, source: sourceOf(key, sources) });
      }
      if (!pem && text.trim() === '') {
        problems.push({ key, message: `${file} is empty`, source: sourceOf(key, sources) });
      }
      return pem ? text : text.trim();
    } catch (err) {
      problems.push({
        key,
        message: `cannot read ${file}: ${(err as Error).message}`,
        source: sourceOf(key, sources),
      });
      return undefined;
    }
  };
  const only = <T extends Record<string, string | undefined>>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: string };
  const kafkaTls = only({
    ca: read('kafka.security.ca_file', sec.ca_file, true),
    cert: read('kafka.security.cert_file', sec.cert_file, true),
    key: read('kafka.security.key_file', sec.key_file, true),
  });
  const redisTls = only({ ca: read('redis.ca_file', config.redis.ca_file, true) });
  const s3Tls = only({ ca: read('s3.ca_file', config.s3.ca_file, true) });
  const kafkaPassword = read('kafka.security.password_file', sec.password_file, false);
  if (kafkaPassword) sec.password = kafkaPassword;
  const redisPassword = read('redis.password_file', config.redis.password_file, false);
  if (redisPassword) config.redis.password = redisPassword;
  if (problems.length > 0) fail(problems);
  return { kafkaTls, redisTls, s3Tls };
}

/** A copy of the config that is safe to log: secret values and URL credentials masked. */
export function redact(config: Config): unknown {
  const mask = '***';
  const walk = (value: unknown, key: string): unknown => {
    if (secretKeys.has(key) && value !== undefined) return mask;
    if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return redactUrl(value, key);
    if (Array.isArray(value)) return value.map((v) => walk(v, key));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, key ? `${key}.${k}` : k)]));
    }
    return value;
  };
  return walk(config, '');
}

function redactUrl(value: string, key: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    // Slack and most webhook URLs carry their secret in the path.
    if (key === 'alerts.sinks.url') return `${url.origin}/***`;
    return url.toString();
  } catch {
    return value;
  }
}
