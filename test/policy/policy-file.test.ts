import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SphyrConfigError } from '../../src/errors.js';
import {
  DEFAULT_POLICY,
  effectivePolicyForKey,
  loadPolicyFile,
  parsePolicy,
} from '../../src/policy/policy-file.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../fixtures/policies/${name}`, import.meta.url));

/** Runs `fn`, expecting a SphyrConfigError; returns it. */
async function configError(fn: () => unknown): Promise<SphyrConfigError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SphyrConfigError);
    return error as SphyrConfigError;
  }
  throw new Error('expected a SphyrConfigError');
}

describe('DEFAULT_POLICY', () => {
  it('is the policy of an empty object', () => {
    expect(DEFAULT_POLICY).toEqual({
      mode: 'enforce',
      hosts: { allow: [], deny: [] },
      rateLimits: { perAgent: 10, perKey: 100, perIp: 300, preAuthPerIp: 500 },
      unsafeAllowRanges: [],
      tunnelPorts: [443, 80],
      logFullUrl: false,
      retentionDays: 36,
      keys: {},
    });
    expect(parsePolicy('{}', 'policy.json')).toEqual(DEFAULT_POLICY);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(DEFAULT_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.rateLimits)).toBe(true);
  });
});

describe('loadPolicyFile fixtures', () => {
  it('minimal-unsafe-loopback.json is valid on its own', async () => {
    const policy = await loadPolicyFile(fixture('minimal-unsafe-loopback.json'));
    expect(policy).toEqual({ ...DEFAULT_POLICY, unsafeAllowRanges: ['127.0.0.0/8'] });
  });

  it('full.jsonc sets every field', async () => {
    const policy = await loadPolicyFile(fixture('full.jsonc'));
    expect(policy).toEqual({
      mode: 'report',
      hosts: {
        allow: ['api.openai.com', '*.anthropic.com', 'xn--bcher-kva.example'],
        deny: ['*.evil.example'],
      },
      methods: ['GET', 'POST'],
      entropyThreshold: 5.5,
      rateLimits: { perAgent: 5, perKey: 50, perIp: 200, preAuthPerIp: 400 },
      unsafeAllowRanges: ['127.0.0.0/8', 'fd00::/8'],
      tunnelPorts: [443, 8443],
      logFullUrl: true,
      retentionDays: 90,
      tools: { allow: ['fetch', 'github_*'], deny: ['shell_exec', 'odd/*not-a-comment*/name//still-data'] },
      keys: {
        key_live_7Qm2: {
          hosts: { allow: ['*'], deny: ['*.internal.example'] },
          methods: ['GET'],
          entropyThreshold: 7,
          rateLimits: { perAgent: 20 },
        },
        'key-ci': { rateLimits: { perKey: 1000, perIp: 1000 } },
      },
    });
  });

  it('broken-syntax.json names the file and the position', async () => {
    const path = fixture('broken-syntax.json');
    const error = await configError(() => loadPolicyFile(path));
    expect(error.code).toBe('policy_invalid');
    expect(error.message).toMatch(
      /broken-syntax\.json: invalid JSON at line 4, column 3: expected "," or a closing bracket$/,
    );
  });

  it('broken-schema.json lists every problem with its path', async () => {
    const path = fixture('broken-schema.json');
    const error = await configError(() => loadPolicyFile(path));
    expect(error.code).toBe('policy_invalid');
    expect(error.message.split('\n')).toEqual([
      `${path}: mode: expected "enforce" or "report"`,
      `${path}: rateLimits.perAgent: expected a positive integer`,
    ]);
  });

  it('a missing file is policy_unreadable', async () => {
    const path = fixture('does-not-exist.json');
    const error = await configError(() => loadPolicyFile(path));
    expect(error.code).toBe('policy_unreadable');
    expect(error.message).toContain(`${path}: cannot read the policy file`);
  });
});

describe('parsePolicy JSONC', () => {
  it('accepts comments and trailing commas, leaving strings alone', () => {
    const text = `\uFEFF// top
      {
        /* block
           comment */ "hosts": { "deny": ["a.example", "b.example",], }, // trailing
        "tools": { "allow": ["x//y", "p/*q*/r", "esc\\"//"], },
        "methods": ["get",
          // comment between elements
        ],
      }`;
    const policy = parsePolicy(text, 'p.jsonc');
    expect(policy.hosts.deny).toEqual(['a.example', 'b.example']);
    expect(policy.tools?.allow).toEqual(['x//y', 'p/*q*/r', 'esc"//']);
    expect(policy.methods).toEqual(['GET']);
  });

  it.each([
    [
      '{"mode": "report" /* never closed',
      'p.json: invalid JSON at line 1, column 19: unterminated /* comment',
    ],
    ['{\n  "mode": "report",,\n}', 'p.json: invalid JSON at line 2, column 20'],
    ['[1,,]', 'p.json: invalid JSON at line 1, column 4'],
    ['', 'p.json: invalid JSON at line 1, column 1: expected a value'],
    ['{"mode": "report"', 'p.json: invalid JSON at line 1, column 18: expected "}"'],
    ['{mode: "report"}', 'p.json: invalid JSON at line 1, column 2: unexpected character'],
    ["{'mode': 'report'}", 'p.json: invalid JSON at line 1, column 2: unexpected character'],
    ['{"mode": "rep\\qort"}', 'p.json: invalid JSON at line 1, column 10: bad escape in a string'],
    ['{"mode": "report"} x', 'p.json: invalid JSON at line 1, column 20: unexpected character'],
    [
      '{"retentionDays": 036}',
      'p.json: invalid JSON at line 1, column 20: expected "," or a closing bracket',
    ],
    ['{"mode" "report"}', 'p.json: invalid JSON at line 1, column 9: expected ":" after the property name'],
  ])('syntax error in %j', async (text, message) => {
    const error = await configError(() => parsePolicy(text, 'p.json'));
    expect(error.code).toBe('policy_invalid');
    expect(error.message).toContain(message);
  });
});

describe('parsePolicy schema errors', () => {
  it.each([
    ['[]', 'policy.json: expected a JSON object at the top level'],
    ['{"mode": "block"}', 'policy.json: mode: expected "enforce" or "report"'],
    ['{"moed": "report"}', 'policy.json: moed: unknown key'],
    ['{"rateLimits": {"perAgnet": 5}}', 'policy.json: rateLimits.perAgnet: unknown key'],
    ['{"rateLimits": {"perAgent": 0}}', 'policy.json: rateLimits.perAgent: expected a positive integer'],
    ['{"rateLimits": {"perKey": 1.5}}', 'policy.json: rateLimits.perKey: expected a positive integer'],
    ['{"rateLimits": {"perIp": "300"}}', 'policy.json: rateLimits.perIp: expected a positive integer'],
    ['{"rateLimits": 5}', 'policy.json: rateLimits: expected an object of rate limits'],
    ['{"hosts": ["a.com"]}', 'policy.json: hosts: expected an object with "allow" and/or "deny"'],
    ['{"hosts": {"allow": "a.com"}}', 'policy.json: hosts.allow: expected a list of host patterns'],
    ['{"hosts": {"deny": ["api.*.com"]}}', 'policy.json: hosts.deny[0]: "api.*.com": a "*" is only allowed'],
    [
      '{"hosts": {"allow": ["https://a.com"]}}',
      'policy.json: hosts.allow[0]: "https://a.com": expected a hostname',
    ],
    ['{"methods": []}', 'policy.json: methods: list at least one method'],
    ['{"methods": ["GET", "BAD METHOD"]}', 'policy.json: methods[1]: expected an HTTP method'],
    [
      '{"entropyThreshold": 9}',
      'policy.json: entropyThreshold: expected bits per character, a number from 0 to 8',
    ],
    ['{"entropyThreshold": -1}', 'policy.json: entropyThreshold: expected bits per character'],
    [
      '{"unsafeAllowRanges": ["127.0.0.1/8"]}',
      'policy.json: unsafeAllowRanges[0]: "127.0.0.1/8" is not a valid CIDR',
    ],
    [
      '{"unsafeAllowRanges": ["localhost"]}',
      'policy.json: unsafeAllowRanges[0]: "localhost" is not a valid CIDR',
    ],
    ['{"unsafeAllowRanges": "127.0.0.0/8"}', 'policy.json: unsafeAllowRanges: expected a list of CIDRs'],
    ['{"tunnelPorts": [22, 0]}', 'policy.json: tunnelPorts[1]: expected port numbers (1-65535)'],
    ['{"tunnelPorts": [65536]}', 'policy.json: tunnelPorts[0]: expected port numbers (1-65535)'],
    ['{"tunnelPorts": ["443"]}', 'policy.json: tunnelPorts[0]: expected port numbers (1-65535)'],
    ['{"tunnelPorts": 443}', 'policy.json: tunnelPorts: expected a list of port numbers'],
    ['{"logFullUrl": "yes"}', 'policy.json: logFullUrl: expected true or false'],
    ['{"retentionDays": 0}', 'policy.json: retentionDays: expected a whole number of days, at least 1'],
    ['{"tools": {"allow": [""]}}', 'policy.json: tools.allow[0]: expected a tool name'],
    ['{"tools": {"alow": []}}', 'policy.json: tools.alow: unknown key'],
    ['{"keys": {"a.b": {}}}', 'policy.json: keys["a.b"]: invalid key: key ids contain only'],
    ['{"keys": {"__proto__": {}}}', 'policy.json: keys.__proto__: invalid key: this key id is reserved'],
    ['{"keys": {"k1": {"mode": "report"}}}', 'policy.json: keys.k1.mode: unknown key'],
    [
      '{"keys": {"k1": {"rateLimits": {"preAuthPerIp": 5}}}}',
      'policy.json: keys.k1.rateLimits.preAuthPerIp: unknown key',
    ],
    [
      '{"keys": {"k1": {"rateLimits": {"perAgent": -2}}}}',
      'policy.json: keys.k1.rateLimits.perAgent: expected',
    ],
    ['{"keys": {"k1": {"hosts": {"allow": ["a.*"]}}}}', 'policy.json: keys.k1.hosts.allow[0]: "a.*"'],
  ])('%s', async (text, message) => {
    const error = await configError(() => parsePolicy(text, 'policy.json'));
    expect(error.code).toBe('policy_invalid');
    expect(error.message).toContain(message);
  });

  it('normalises methods and host patterns', () => {
    const policy = parsePolicy(
      '{"methods": ["get", "GET", "Post"], "hosts": {"allow": ["API.Example.com."]}}',
      'p',
    );
    expect(policy.methods).toEqual(['GET', 'POST']);
    expect(policy.hosts.allow).toEqual(['api.example.com.']);
  });

  it('canonicalises CIDRs', () => {
    expect(parsePolicy('{"unsafeAllowRanges": ["FD00::/8", "10.1.2.3"]}', 'p').unsafeAllowRanges).toEqual([
      'fd00::/8',
      '10.1.2.3/32',
    ]);
  });
});

describe('effectivePolicyForKey', () => {
  const policy = parsePolicy(
    JSON.stringify({
      hosts: { allow: ['api.example.com'], deny: ['*.evil.example'] },
      methods: ['GET', 'POST'],
      entropyThreshold: 5,
      rateLimits: { perAgent: 3 },
      keys: {
        wide: { hosts: { allow: ['*'], deny: ['blocked.example'] }, rateLimits: { perKey: 7 } },
        strict: { methods: ['GET'], entropyThreshold: 4 },
      },
    }),
    'p',
  );

  it('returns the global policy for an unknown key, including prototype names', () => {
    expect(effectivePolicyForKey(policy, 'nobody')).toBe(policy);
    expect(effectivePolicyForKey(policy, 'constructor')).toBe(policy);
    expect(effectivePolicyForKey(policy, '__proto__')).toBe(policy);
  });

  it('replaces allow, adds deny and merges rate limits field by field', () => {
    const eff = effectivePolicyForKey(policy, 'wide');
    expect(eff.hosts).toEqual({ allow: ['*'], deny: ['*.evil.example', 'blocked.example'] });
    expect(eff.methods).toEqual(['GET', 'POST']);
    expect(eff.entropyThreshold).toBe(5);
    expect(eff.rateLimits).toEqual({ perAgent: 3, perKey: 7, perIp: 300, preAuthPerIp: 500 });
  });

  it('replaces methods and entropy threshold', () => {
    const eff = effectivePolicyForKey(policy, 'strict');
    expect(eff.hosts).toEqual(policy.hosts);
    expect(eff.methods).toEqual(['GET']);
    expect(eff.entropyThreshold).toBe(4);
  });
});
