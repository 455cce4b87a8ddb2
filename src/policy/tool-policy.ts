/**
 * @module Which MCP tools an agent may call (DESIGN §4): allow/deny lists of names with `*` globs.
 * Used by the gateway for the policy file's `tools` and by sphyr-mcp for `--tools-allow/--tools-deny`;
 * no imports, so sphyr-mcp loads it without the policy-file parser.
 */

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function nameMatches(name: string, pattern: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  return new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`).test(name);
}

/**
 * Deny wins; an allow list, when given, must match.
 * @example toolAllowed('github_push', ['github_*'], ['*_push']) //=> false
 */
export function toolAllowed(name: string, allow: readonly string[], deny: readonly string[]): boolean {
  if (deny.some((p) => nameMatches(name, p))) return false;
  return allow.length === 0 || allow.some((p) => nameMatches(name, p));
}
