/**
 * The `scalewise-bus` binary's endpoints, read from the variables of `scripts/stack env` and the
 * configuration's names (docs/configuration.md): KAFKA_BROKERS, KAFKA_TOPIC_PREFIX,
 * SCALEWISE_CLUSTER_ID, the KAFKA_SECURITY_PROTOCOL family, S3_ENDPOINT, S3_REGION, S3_BUCKET,
 * S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY or S3_SECRET_ACCESS_KEY_FILE, S3_CA_FILE. The binary
 * has no YAML file: these are its whole configuration, bound here like every other variable.
 */
import { readFileSync } from 'node:fs';
import { ScalewiseError } from '@scalewise/errors';
import type { KafkaConfig, SASLOptions } from 'kafkajs';

type Env = Record<string, string | undefined>;

/** What `scalewise-bus` reaches, each part read when a command first needs it. */
export interface BusCliEnvironment {
  /**
   * The brokers and their TLS/SASL options.
   * @throws ScalewiseError INVALID_CONFIG when KAFKA_BROKERS is unset, or as {@link kafkaSecurityFromEnv}.
   */
  kafka(): { brokers: string[] } & Pick<KafkaConfig, 'ssl' | 'sasl'>;
  /** The S3 client's options and the dead-letter bucket. @throws when a named file cannot be read. */
  s3(): {
    region: string;
    forcePathStyle: true;
    endpoint?: string;
    ca?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    bucket: string;
  };
  /** @default 'local' */
  clusterId: string;
  /** The SASL user, which the audit records name. */
  principal?: string;
  /** @default 'scalewise.' */
  topicPrefix: string;
}

/** Binds the `scalewise-bus` variables of `env`; files are read with `readFile` when asked. */
export function busCliEnvironment(
  env: Env,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): BusCliEnvironment {
  const need = (name: string): string => {
    const v = env[name];
    if (!v)
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `${name} is not set (try: eval "$(scripts/stack env | sed 's/^/export /')")`,
      );
    return v;
  };
  return {
    kafka: () => ({ brokers: need('KAFKA_BROKERS').split(','), ...kafkaSecurityFromEnv(env, readFile) }),
    s3: () => ({
      region: env.S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
      ...(env.S3_CA_FILE ? { ca: readFile(env.S3_CA_FILE) } : {}),
      ...(env.S3_ACCESS_KEY_ID && (env.S3_SECRET_ACCESS_KEY || env.S3_SECRET_ACCESS_KEY_FILE)
        ? {
            accessKeyId: env.S3_ACCESS_KEY_ID,
            secretAccessKey:
              env.S3_SECRET_ACCESS_KEY || readFile(env.S3_SECRET_ACCESS_KEY_FILE as string).trim(),
          }
        : {}),
      bucket: env.S3_BUCKET ?? 'scalewise-dlq',
    }),
    clusterId: env.SCALEWISE_CLUSTER_ID || 'local',
    ...(env.KAFKA_SECURITY_PROTOCOL?.startsWith('SASL_') && env.KAFKA_USERNAME
      ? { principal: env.KAFKA_USERNAME }
      : {}),
    topicPrefix: env.KAFKA_TOPIC_PREFIX ?? 'scalewise.',
  };
}

/**
 * kafkajs' `ssl` and `sasl` from the configuration's variables (docs/configuration.md):
 * KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_USERNAME, KAFKA_PASSWORD or
 * KAFKA_PASSWORD_FILE, KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE.
 * @throws ScalewiseError INVALID_CONFIG naming the variable that is missing or wrong.
 */
export function kafkaSecurityFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const protocol = env.KAFKA_SECURITY_PROTOCOL || 'PLAINTEXT';
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol))
    throw new ScalewiseError(
      'INVALID_CONFIG',
      `KAFKA_SECURITY_PROTOCOL is '${protocol}': PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL`,
    );
  const file = (name: string): string | undefined => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFile(path);
    } catch (err) {
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `cannot read the file ${name} names: ${(err as Error).message}`,
      );
    }
  };
  const out: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (protocol.endsWith('SSL')) {
    const ca = file('KAFKA_SSL_CA_FILE');
    const cert = file('KAFKA_SSL_CERT_FILE');
    const key = file('KAFKA_SSL_KEY_FILE');
    out.ssl = {
      rejectUnauthorized: !['false', '0', 'no'].includes(
        (env.KAFKA_SSL_REJECT_UNAUTHORIZED ?? '').toLowerCase(),
      ),
      ...(ca ? { ca: [ca] } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    };
  }
  if (protocol.startsWith('SASL_')) {
    const mechanism = (env.KAFKA_SASL_MECHANISM || 'SCRAM-SHA-512').toLowerCase();
    const username = env.KAFKA_USERNAME;
    const password = env.KAFKA_PASSWORD || file('KAFKA_PASSWORD_FILE')?.trim();
    if (!username)
      throw new ScalewiseError('INVALID_CONFIG', `KAFKA_USERNAME is not set (needed with ${protocol})`);
    if (!password)
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `neither KAFKA_PASSWORD nor KAFKA_PASSWORD_FILE is set (needed with ${protocol})`,
      );
    if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(mechanism))
      throw new ScalewiseError(
        'INVALID_CONFIG',
        `KAFKA_SASL_MECHANISM is '${env.KAFKA_SASL_MECHANISM}': PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
      );
    out.sasl = { mechanism, username, password } as SASLOptions;
  }
  return out;
}
