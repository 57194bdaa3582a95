/**
 * Who may send a pool its triggers: the decision engine (every trigger) and min-enforcer
 * (`trigger.update`) ask the same question of the same list, so that both accept the same
 * triggers.
 */

/**
 * Whether a trigger `source` is allowed by a list of exact names or globs (`*` any run of
 * characters, `?` one character; every other character literal). Linear in the lengths, so
 * a hostile source cannot make it backtrack.
 */
export function sourceAllowed(source: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => globMatch(pattern, source));
}

/** The classic two-pointer wildcard match: on a mismatch, retry from the last `*`. */
function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === text[t]))) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
