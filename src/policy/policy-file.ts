/**
 * @module The gateway policy file (DESIGN §3.5): JSON or JSONC, validated with zod. Objects are strict so
 * a typo is an error instead of a silently ignored rule. Every error names the file, the JSON path and
 * what is wrong, e.g. `policy.json: rateLimits.perAgent: expected a positive integer`.
 */

import { readFile } from 'node:fs/promises';
import {
  findNodeAtLocation,
  getNodeValue,
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import { z } from 'zod';
import { messageOf, SphyrConfigError } from '../errors.js';
import { parseCidr } from './address.js';
import { hostPatternProblem, normalizeHostPattern } from './host-glob.js';

const POSITIVE_INT = 'expected a positive integer';

const positiveInt = z
  .number({ error: POSITIVE_INT })
  .int({ error: POSITIVE_INT })
  .positive({ error: POSITIVE_INT });

const hostPattern = z
  .string({ error: 'expected a host pattern such as "api.example.com" or "*.example.com"' })
  .superRefine((pattern, ctx) => {
    const problem = hostPatternProblem(pattern);
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(pattern)}: ${problem}` });
  })
  .transform(normalizeHostPattern);

const hostList = z.array(hostPattern, { error: 'expected a list of host patterns' });

/** RFC 9110 token characters; methods are compared uppercase. */
const methodList = z
  .array(
    z
      .string({ error: 'expected an HTTP method such as "GET"' })
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'expected an HTTP method such as "GET"' })
      .transform((m) => m.toUpperCase()),
    { error: 'expected a list of HTTP methods' },
  )
  .min(1, { error: 'list at least one method, or leave "methods" out to allow all' })
  .transform((methods) => [...new Set(methods)]);

const ENTROPY = 'expected bits per character, a number from 0 to 8';
const entropyThreshold = z.number({ error: ENTROPY }).min(0, { error: ENTROPY }).max(8, { error: ENTROPY });

const cidr = z
  .string({ error: 'expected a CIDR such as "10.0.0.0/8"' })
  .superRefine((text, ctx) => {
    try {
      parseCidr(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: messageOf(error) });
    }
  })
  .transform((text) => parseCidr(text).text);

const toolPattern = z
  .string({ error: 'expected a tool name or glob such as "fetch" or "github_*"' })
  .min(1, { error: 'expected a tool name or glob such as "fetch" or "github_*"' });

const toolLists = z.strictObject(
  {
    allow: z.array(toolPattern, { error: 'expected a list of tool names' }).optional(),
    deny: z.array(toolPattern, { error: 'expected a list of tool names' }).optional(),
  },
  { error: 'expected an object with "allow" and/or "deny"' },
);

const RESERVED_KEY_IDS = new Set(['__proto__', 'constructor', 'prototype']);
const KEY_ID = 'key ids contain only A-Z, a-z, 0-9, "_" and "-"';
const keyId = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, { error: KEY_ID })
  .refine((id) => !RESERVED_KEY_IDS.has(id), { error: 'this key id is reserved' });

/** Per-key overrides. `preAuthPerIp` is absent on purpose: before auth there is no key to look up. */
const KeyOverrideSchema = z.strictObject(
  {
    hosts: z
      .strictObject(
        { allow: hostList.optional(), deny: hostList.optional() },
        { error: 'expected an object with "allow" and/or "deny"' },
      )
      .optional(),
    methods: methodList.optional(),
    entropyThreshold: entropyThreshold.optional(),
    tools: toolLists.optional(),
    rateLimits: z
      .strictObject(
        { perAgent: positiveInt.optional(), perKey: positiveInt.optional(), perIp: positiveInt.optional() },
        { error: 'expected an object of rate limits' },
      )
      .optional(),
  },
  { error: 'expected an object of per-key overrides' },
);

/** Zod schema of the policy file. Parse output has every default filled in. */
export const PolicySchema = z.strictObject(
  {
    mode: z.enum(['enforce', 'report'], { error: 'expected "enforce" or "report"' }).default('enforce'),
    hosts: z
      .strictObject(
        { allow: hostList.default([]), deny: hostList.default([]) },
        { error: 'expected an object with "allow" and/or "deny"' },
      )
      .prefault({}),
    methods: methodList.optional(),
    entropyThreshold: entropyThreshold.optional(),
    rateLimits: z
      .strictObject(
        {
          perAgent: positiveInt.default(10),
          perKey: positiveInt.default(100),
          perIp: positiveInt.default(300),
          preAuthPerIp: positiveInt.default(500),
        },
        { error: 'expected an object of rate limits (requests per rolling second)' },
      )
      .prefault({}),
    unsafeAllowRanges: z.array(cidr, { error: 'expected a list of CIDRs' }).default([]),
    // Ports a signed tunnel (POST /v1/tunnel) may reach; everything else is `tunnel_port_denied`.
    tunnelPorts: z
      .array(
        z
          .number({ error: 'expected port numbers (1-65535)' })
          .int({ error: 'expected port numbers (1-65535)' })
          .min(1, { error: 'expected port numbers (1-65535)' })
          .max(65535, { error: 'expected port numbers (1-65535)' }),
        { error: 'expected a list of port numbers' },
      )
      .default([443, 80]),
    logFullUrl: z.boolean({ error: 'expected true or false' }).default(false),
    retentionDays: z
      .number({ error: 'expected a whole number of days, at least 1' })
      .int({ error: 'expected a whole number of days, at least 1' })
      .min(1, { error: 'expected a whole number of days, at least 1' })
      .default(36),
    tools: toolLists.optional(),
    keys: z.record(keyId, KeyOverrideSchema, { error: 'expected an object keyed by key id' }).default({}),
  },
  { error: 'expected a JSON object at the top level' },
);

/** A validated policy with defaults applied. */
export type Policy = z.output<typeof PolicySchema>;
/** What a policy file may contain (everything optional). */
export type PolicyInput = z.input<typeof PolicySchema>;
/** One entry of `policy.keys`. */
export type KeyOverride = z.output<typeof KeyOverrideSchema>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The policy of an empty file `{}`: enforce, all hosts, all methods, default rate limits. Frozen. */
export const DEFAULT_POLICY: Policy = deepFreeze(PolicySchema.parse({}));

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

/** jsonc-parser's error codes, said the way a person fixing the file needs to read them. */
const SYNTAX_MESSAGES: Partial<Record<ReturnType<typeof printParseErrorCode>, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":" after the property name',
  CommaExpected: 'expected "," or a closing bracket',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end',
  InvalidCommentToken: 'malformed comment',
  UnexpectedEndOfComment: 'unterminated /* comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'bad \\u escape in a string',
  InvalidEscapeCharacter: 'bad escape in a string',
  InvalidCharacter: 'control character in a string',
};

/** JSON with comments and trailing commas, via jsonc-parser; the first syntax error names its position. */
function parseJsonc(text: string, source: string): { data: unknown; tree: Node | undefined } {
  // A BOM is how some Windows editors save; it is not content.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const errors: ParseError[] = [];
  const tree = parseTree(body, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first || !tree) {
    const code = first ? printParseErrorCode(first.error) : undefined;
    const what = code ? (SYNTAX_MESSAGES[code] ?? code) : 'the file is empty';
    const where = first ? ` at ${lineAndColumn(body, first.offset)}` : '';
    throw new SphyrConfigError('policy_invalid', `${source}: invalid JSON${where}: ${what}`);
  }
  return { data: getNodeValue(tree), tree };
}

/** `keys.key_1.hosts.allow[0]`; odd keys in brackets; empty path is the top level. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
    }
    if (issue.code === 'invalid_key') {
      const why = issue.issues[0]?.message ?? 'invalid key';
      return [`${formatPath(issue.path)}: invalid key: ${why}`];
    }
    const path = formatPath(issue.path);
    return [path === '' ? issue.message : `${path}: ${issue.message}`];
  });
}

/** zod drops a `__proto__` record key silently (assigning it would be unsafe); report it instead. */
function reservedKeyProblems(tree: Node | undefined): string[] {
  const hasProto = tree !== undefined && findNodeAtLocation(tree, ['keys', '__proto__']) !== undefined;
  return hasProto ? ['keys.__proto__: invalid key: this key id is reserved'] : [];
}

/**
 * Parses and validates policy text (JSON or JSONC: comments and trailing commas allowed).
 * @param source The file name to put in messages.
 * @throws {SphyrConfigError} code `policy_invalid`; one line per problem, each `source: path: what`,
 *   or `source: invalid JSON at line L, column C: what` for syntax errors.
 * @example parsePolicy('{"unsafeAllowRanges": ["127.0.0.0/8"]}', 'policy.json').mode //=> 'enforce'
 */
export function parsePolicy(text: string, source: string): Policy {
  const { data, tree } = parseJsonc(text, source);
  const result = PolicySchema.safeParse(data);
  const reserved = reservedKeyProblems(tree);
  if (result.success && reserved.length === 0) return result.data;
  const problems = [...reserved, ...(result.success ? [] : describeIssues(result.error.issues))];
  const lines = problems.map((line) => `${source}: ${line}`);
  throw new SphyrConfigError(
    'policy_invalid',
    lines.join('\n'),
    result.success ? {} : { cause: result.error },
  );
}

/**
 * Reads and validates a policy file.
 * @throws {SphyrConfigError} code `policy_unreadable` when the file cannot be read, else as {@link parsePolicy}.
 */
export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SphyrConfigError(
      'policy_unreadable',
      `${path}: cannot read the policy file: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  return parsePolicy(text, path);
}

/**
 * The policy as it applies to one key: per-key `hosts.allow`, `methods` and `entropyThreshold` replace
 * the global ones; per-key `hosts.deny` is added to the global deny list (an override can never lift a
 * global deny); per-key rate limits replace field by field. Unknown keys get the global policy.
 */
export function effectivePolicyForKey(policy: Policy, keyId: string): Policy {
  const override = Object.hasOwn(policy.keys, keyId) ? policy.keys[keyId] : undefined;
  if (!override) return policy;
  const limits = override.rateLimits ?? {};
  return {
    ...policy,
    hosts: {
      allow: override.hosts?.allow ?? policy.hosts.allow,
      deny: [...policy.hosts.deny, ...(override.hosts?.deny ?? [])],
    },
    methods: override.methods ?? policy.methods,
    entropyThreshold: override.entropyThreshold ?? policy.entropyThreshold,
    // Like hosts: a key's allow list replaces the global one, its deny list adds to it.
    tools:
      override.tools || policy.tools
        ? {
            allow: override.tools?.allow ?? policy.tools?.allow,
            deny: [...(policy.tools?.deny ?? []), ...(override.tools?.deny ?? [])],
          }
        : undefined,
    rateLimits: {
      perAgent: limits.perAgent ?? policy.rateLimits.perAgent,
      perKey: limits.perKey ?? policy.rateLimits.perKey,
      perIp: limits.perIp ?? policy.rateLimits.perIp,
      preAuthPerIp: policy.rateLimits.preAuthPerIp,
    },
  };
}
