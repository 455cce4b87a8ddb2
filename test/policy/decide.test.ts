import { describe, expect, it } from 'vitest';
import { evaluatePolicy, evaluateToolPolicy, type PolicyRequest } from '../../src/policy/decide.js';
import { DEFAULT_POLICY, type Policy, parsePolicy } from '../../src/policy/policy-file.js';
import { toolAllowed } from '../../src/policy/tool-policy.js';

const req = (url: string, extra: Partial<PolicyRequest> = {}): PolicyRequest => ({
  keyId: 'k_default',
  method: 'GET',
  url: new URL(url),
  entropy: 3,
  ...extra,
});

const RULES = {
  hosts: { allow: ['api.openai.com', '*.example.com'], deny: ['secret.example.com'] },
  methods: ['GET', 'POST'],
  entropyThreshold: 5,
  keys: {
    k_ci: { hosts: { allow: ['*'], deny: ['registry.npmjs.org'] }, methods: ['PUT'], entropyThreshold: 7.5 },
  },
};
const enforce: Policy = parsePolicy(JSON.stringify(RULES), 'enforce.json');
const report: Policy = parsePolicy(JSON.stringify({ ...RULES, mode: 'report' }), 'report.json');

describe('evaluatePolicy in enforce mode', () => {
  it.each([
    [req('https://api.openai.com/v1/responses', { method: 'POST' }), 'allow', 'allowed'],
    [req('https://a.b.example.com/'), 'allow', 'allowed'],
    [req('https://API.OPENAI.COM./'), 'allow', 'allowed'],
    [req('https://example.com/'), 'block', 'policy_denied_host'],
    [req('https://secret.example.com/'), 'block', 'policy_denied_host'],
    [req('https://SECRET.example.com./'), 'block', 'policy_denied_host'],
    [req('https://evil.test/'), 'block', 'policy_denied_host'],
    [req('https://api.openai.com/', { method: 'DELETE' }), 'block', 'policy_denied_method'],
    [req('https://api.openai.com/', { method: 'post' }), 'allow', 'allowed'],
    [req('https://api.openai.com/', { entropy: 5 }), 'allow', 'allowed'],
    [req('https://api.openai.com/', { entropy: 5.001 }), 'block', 'policy_denied_entropy'],
    [req('https://api.openai.com/', { entropy: Number.NaN }), 'block', 'policy_denied_entropy'],
    [req('https://evil.test/', { method: 'DELETE', entropy: 8 }), 'block', 'policy_denied_host'],
  ])('%#: %o → %s %s', (request, verdict, reason) => {
    expect(evaluatePolicy(enforce, request)).toEqual({ verdict, reason, enforced: true });
  });
});

describe('evaluatePolicy in report mode', () => {
  it.each([
    [req('https://api.openai.com/'), 'allowed'],
    [req('https://evil.test/'), 'report_policy_denied_host'],
    [req('https://api.openai.com/', { method: 'DELETE' }), 'report_policy_denied_method'],
    [req('https://api.openai.com/', { entropy: 6 }), 'report_policy_denied_entropy'],
  ])('%#: lets %o pass as %s', (request, reason) => {
    expect(evaluatePolicy(report, request)).toEqual({ verdict: 'allow', reason, enforced: false });
  });
});

describe('evaluatePolicy per-key overrides', () => {
  const ci = (url: string, extra: Partial<PolicyRequest> = {}) => req(url, { keyId: 'k_ci', ...extra });

  it('uses the key allow list, methods and threshold', () => {
    expect(evaluatePolicy(enforce, ci('https://evil.test/', { method: 'PUT' })).reason).toBe('allowed');
    expect(evaluatePolicy(enforce, ci('https://evil.test/', { method: 'GET' })).reason).toBe(
      'policy_denied_method',
    );
    expect(evaluatePolicy(enforce, ci('https://evil.test/', { method: 'PUT', entropy: 7 })).reason).toBe(
      'allowed',
    );
  });

  it('keeps the global deny list and adds the key deny list', () => {
    expect(evaluatePolicy(enforce, ci('https://secret.example.com/', { method: 'PUT' })).reason).toBe(
      'policy_denied_host',
    );
    expect(evaluatePolicy(enforce, ci('https://registry.npmjs.org/', { method: 'PUT' })).reason).toBe(
      'policy_denied_host',
    );
    expect(evaluatePolicy(enforce, req('https://registry.npmjs.org/')).reason).toBe('policy_denied_host');
  });

  it('reports instead of blocking for a key in report mode', () => {
    expect(evaluatePolicy(report, ci('https://registry.npmjs.org/', { method: 'PUT' }))).toEqual({
      verdict: 'allow',
      reason: 'report_policy_denied_host',
      enforced: false,
    });
  });
});

describe('evaluatePolicy with the default policy', () => {
  it('allows everything and enforces', () => {
    expect(
      evaluatePolicy(DEFAULT_POLICY, req('https://anything.test/', { method: 'PATCH', entropy: 8 })),
    ).toEqual({
      verdict: 'allow',
      reason: 'allowed',
      enforced: true,
    });
  });

  it('the wildcard allow list allows every host', () => {
    const policy = parsePolicy('{"hosts": {"allow": ["*"]}}', 'p');
    expect(evaluatePolicy(policy, req('http://[2606:4700::1]/')).verdict).toBe('allow');
  });

  it('matches IPv6 literal hosts', () => {
    const policy = parsePolicy('{"hosts": {"deny": ["[2606:4700::1]"]}}', 'p');
    expect(evaluatePolicy(policy, req('http://[2606:4700:0::1]/')).reason).toBe('policy_denied_host');
  });
});

describe('toolAllowed and evaluateToolPolicy', () => {
  it.each([
    ['echo', [], [], true],
    ['echo', ['echo'], [], true],
    ['echo', ['get_*'], [], false],
    ['github_push', ['github_*'], ['*_push'], false],
    ['github_pull', ['github_*'], ['*_push'], true],
    ['a.b', ['a*b'], [], true],
    ['axb', ['a.b'], [], false], // a dot is literal, not a regex wildcard
    ['rm_rf', [], ['*'], false],
  ])('%s with allow %j, deny %j → %s', (name, allow, deny, expected) => {
    expect(toolAllowed(name, allow, deny)).toBe(expected);
  });

  it('applies the global lists, then a key adds denials and replaces the allow list', () => {
    const policy = parsePolicy(
      JSON.stringify({
        tools: { allow: ['get_*', 'echo'], deny: ['get_secret'] },
        keys: { k2: { tools: { allow: ['echo', 'get_secret'], deny: ['echo'] } } },
      }),
      'p.json',
    );
    expect(evaluateToolPolicy(policy, 'k1', 'get_url')).toEqual({ verdict: 'allow', reason: 'allowed' });
    expect(evaluateToolPolicy(policy, 'k1', 'get_secret').reason).toBe('policy_denied_tool');
    expect(evaluateToolPolicy(policy, 'k1', 'rm').reason).toBe('policy_denied_tool');
    expect(evaluateToolPolicy(policy, 'k2', 'echo').reason).toBe('policy_denied_tool');
    expect(evaluateToolPolicy(policy, 'k2', 'get_url').reason).toBe('policy_denied_tool');
    expect(evaluateToolPolicy(policy, 'k2', 'get_secret').reason).toBe('policy_denied_tool'); // global deny stays
  });

  it('allows every tool when the policy has no tool lists, and only reports in report mode', () => {
    expect(evaluateToolPolicy(parsePolicy('{}', 'p.json'), 'k', 'anything').verdict).toBe('allow');
    const report = parsePolicy('{"mode":"report","tools":{"deny":["rm*"]}}', 'p.json');
    expect(evaluateToolPolicy(report, 'k', 'rm_rf')).toEqual({
      verdict: 'allow',
      reason: 'report_policy_denied_tool',
    });
  });
});
