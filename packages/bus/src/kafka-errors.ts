/**
 * Kafka's refusals in words: a wrong password, an untrusted certificate and a missing ACL each
 * get a message that names the cause and what to check, instead of kafkajs' "Connection error"
 * or "Not authorized to access topics: [Topic authorization failed]" (which names no topic).
 */
import { certificateProblem } from '@scalewise/errors';

/** What went wrong, when it is not a server that is down. */
export type KafkaAccessProblem = 'authentication' | 'authorization' | 'tls';

interface Wrapped {
  name?: string;
  type?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

const authorizationTypes = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
]);
const authenticationTypes = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
]);

/** The errors of a kafkajs error's chain, outermost first. */
function chain(err: unknown): Wrapped[] {
  const out: Wrapped[] = [];
  let e = err as Wrapped | undefined;
  for (let depth = 0; e && typeof e === 'object' && depth < 8; depth += 1) {
    out.push(e);
    e = (e.originalError ?? e.cause) as Wrapped | undefined;
  }
  return out;
}

/**
 * Whether Kafka refused us rather than failed: a failed SASL authentication, a TLS certificate
 * the client does not trust, or an operation no ACL allows. No retry changes these.
 */
export function kafkaAccessProblem(err: unknown): KafkaAccessProblem | undefined {
  const errors = chain(err);
  if (
    errors.some((e) => e.name === 'KafkaJSSASLAuthenticationError' || authenticationTypes.has(e.type ?? ''))
  )
    return 'authentication';
  // kafkajs re-wraps some protocol errors with the message alone (KafkaJSNonRetriableError).
  if (
    errors.some(
      (e) => authorizationTypes.has(e.type ?? '') || /^Not authorized to access /.test(e.message ?? ''),
    )
  )
    return 'authorization';
  if (certificateProblem(err)) return 'tls';
  return undefined;
}

/**
 * Whether a consumer kafkajs gave up on would be refused again if started again: an access
 * problem anywhere in the error's chain. A coordinator lookup that failed is one only when the
 * broker's answer was a refusal (GROUP_AUTHORIZATION_FAILED, kept as the error's cause by our
 * kafkajs patch); a broker that went away mid-lookup (a Kafka restart) is no refusal.
 */
export function kafkaRefused(err: unknown): boolean {
  return kafkaAccessProblem(err) !== undefined;
}

/** The innermost message of a kafkajs error chain. */
function innermost(err: unknown): string {
  const errors = chain(err);
  for (let i = errors.length - 1; i >= 0; i -= 1) {
    const m = errors[i]?.message;
    if (m) return m;
  }
  return String(err);
}

/**
 * One line for a Kafka failure: for a refusal its cause (SASL authentication, the certificate,
 * the missing ACL with the topics or group asked for) and what to check; otherwise kafkajs'
 * innermost message.
 */
export function describeKafkaError(
  err: unknown,
  on: { topics?: readonly string[]; group?: string } = {},
): string {
  const problem = kafkaAccessProblem(err);
  const errors = chain(err);
  if (problem === 'authentication') {
    return `SASL authentication failed (check the user name, password and mechanism of kafka.security): ${innermost(err)}`;
  }
  if (problem === 'tls') return certificateProblem(err) as string;
  if (problem === 'authorization') {
    const type =
      errors.map((e) => e.type).find((t) => t !== undefined && authorizationTypes.has(t)) ??
      (/access group/.test(innermost(err)) ? 'GROUP_AUTHORIZATION_FAILED' : 'TOPIC_AUTHORIZATION_FAILED');
    const what =
      type === 'GROUP_AUTHORIZATION_FAILED' && on.group
        ? `consumer group ${on.group}`
        : type === 'TOPIC_AUTHORIZATION_FAILED' && on.topics?.length
          ? `topic${on.topics.length > 1 ? 's' : ''} ${on.topics.join(', ')}`
          : type === 'CLUSTER_AUTHORIZATION_FAILED'
            ? 'the cluster'
            : 'the resource asked for';
    return `${type}: Kafka's authorizer refused this client's user on ${what} (an ACL is missing: docs/security.md, "Transport")`;
  }
  if (errors.some((e) => e.name === 'KafkaJSGroupCoordinatorNotFound')) {
    const group = on.group ? `consumer group ${on.group}` : 'the consumer group';
    const answer = errors.length > 1 ? innermost(err) : 'no broker answered';
    return `no broker named the coordinator of ${group}: ${answer}`;
  }
  return innermost(err);
}
