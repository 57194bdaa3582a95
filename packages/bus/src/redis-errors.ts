/** Redis' refusals in words: the credentials, an ACL, the server's certificate. */
import { certificateProblem } from '@scalewise/errors';

/**
 * One line for a Redis client error: refused credentials (WRONGPASS, NOAUTH) and ACL refusals
 * (NOPERM) name what to check, an untrusted certificate names itself; anything else is the
 * client's message.
 */
export function describeRedisError(err: unknown): string {
  const tls = certificateProblem(err);
  if (tls) return tls;
  const message = err instanceof Error ? err.message : String(err);
  if (/^(WRONGPASS|NOAUTH)\b/.test(message) || /^ERR (AUTH|invalid password)/.test(message)) {
    return `Redis refused the credentials (check redis.username and redis.password): ${message}`;
  }
  if (/^NOPERM\b/.test(message)) return `Redis' ACL refused this user a command or key: ${message}`;
  return message;
}
