import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startTestGateway, type TestGateway, tempDir } from '../helpers/gateway.js';
import { errorCode, sendSigned } from '../helpers/signed-request.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

describe('gateway start: bad configuration is a clear error, not a crash', () => {
  it('names the policy file and the problem when it is malformed', async () => {
    const dir = await tempDir();
    const policy = path.join(dir, 'policy.json');
    await writeFile(policy, '{"mode": "block", "rateLimits": {"perAgent": -1}}');
    const result = await runCli(['gateway', 'start', '--port', '0', '--data-dir', dir, '--policy', policy]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(policy);
    expect(result.stderr).toMatch(/mode/);
    expect(result.stderr).toMatch(/rateLimits\.perAgent/);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe('');
  });

  it('reports a policy file that is not JSON with its position', async () => {
    const dir = await tempDir();
    const policy = path.join(dir, 'policy.json');
    await writeFile(policy, '{"mode": "enforce",,}');
    const result = await runCli(['gateway', 'start', '--port', '0', '--data-dir', dir, '--policy', policy]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(policy);
  });

  it('reports a data dir that cannot be written', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'not a directory');
    const dataDir = path.join(file, 'data');
    const result = await runCli(['gateway', 'start', '--port', '0', '--data-dir', dataDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(dataDir);
    expect(result.stderr).toMatch(/--data-dir/);
  });

  it('reports a port in use and says what to do', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = await tempDir();
    const result = await runCli(['gateway', 'start', '--port', String(port), '--data-dir', dir]);
    blocker.close();
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(result.stderr).toContain('--port');
  });

  it('rejects a port that is not a number', async () => {
    const result = await runCli(['gateway', 'start', '--port', 'eighty']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--port must be a whole number/);
  });
});

describe('gateway requests: bad input is refused, never crashes or passes unscreened', () => {
  let gw: TestGateway;
  let target: TargetServer;
  let agentId: string;

  beforeAll(async () => {
    target = await startTarget();
    gw = await startTestGateway(undefined, {
      resolve: async (host) => {
        if (host === 'unresolvable.test') throw new Error('ENOTFOUND');
        if (host === 'empty.test') return [];
        return ['203.0.113.1'];
      },
    });
    agentId = await gw.client().agentId();
  });

  afterAll(async () => {
    await gw?.close();
    await target?.close();
  });

  async function healthy() {
    const res = await fetch(`${gw.gateway.url}/healthz`);
    expect(res.status).toBe(200);
  }

  it.each([
    ['no signature headers at all', {}, 'missing_signature'],
    [
      'a Signature-Input that is not a dictionary',
      { 'signature-input': '(((', signature: 'sig=:AAAA:' },
      'malformed_signature',
    ],
    [
      'a Signature that is not a byte sequence',
      { 'signature-input': 'sig=("@method");created=1', signature: 'sig=nope' },
      'malformed_signature',
    ],
    [
      'a signature under another label',
      { 'signature-input': 'other=("@method");created=1', signature: 'other=:AAAA:' },
      'malformed_signature',
    ],
    [
      'non-ASCII text',
      { 'signature-input': 'sig=("@méthod")', signature: 'sig=:ÿÿ:' },
      'malformed_signature',
    ],
    [
      'a huge but legal header',
      { 'signature-input': `sig=("${'a'.repeat(8000)}")`, signature: 'sig=:AAAA:' },
      'malformed_signature',
    ],
  ])('answers 401 for %s', async (_name, headers, code) => {
    const seen = target.seen.length;
    const res = await fetch(`${gw.gateway.url}/v1/relay`, {
      method: 'POST',
      headers: { 'sphyr-target-uri': `${target.url}/echo`, 'sphyr-agent-id': agentId, ...headers },
      body: 'x',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('sphyr-outcome')).toBe('unauthorized');
    expect(await errorCode(res)).toBe(code);
    expect(target.seen.length).toBe(seen);
    await healthy();
  });

  it('answers control characters in a header with 400 and keeps serving', async () => {
    const url = new URL(gw.gateway.url);
    const response = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      let got = '';
      socket.on('data', (c) => {
        got += c;
      });
      socket.on('close', () => resolve(got));
      socket.end(
        `POST /v1/relay HTTP/1.1\r\nHost: ${url.host}\r\nSignature-Input: \u0001\u0002\r\nContent-Length: 0\r\n\r\n`,
      );
    });
    expect(response).toMatch(/^HTTP\/1\.1 400/);
    expect(response).toContain('"code":"bad_request"');
    await healthy();
  });

  it('answers a 10 MB header with 431 and a JSON error, and keeps serving', async () => {
    const url = new URL(gw.gateway.url);
    const response = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      let got = '';
      socket.on('data', (c) => {
        got += c;
      });
      socket.on('error', () => resolve(got));
      socket.on('close', () => resolve(got));
      socket.write(`POST /v1/relay HTTP/1.1\r\nHost: ${url.host}\r\nX-Big: `);
      const chunk = 'a'.repeat(1024 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < 10) {
          sent += 1;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.end('\r\n\r\n');
      };
      pump();
    });
    expect(response).toMatch(/^HTTP\/1\.1 431/);
    expect(response).toContain('"code":"header_too_large"');
    await healthy();
  });

  it('rejects a body over the limit with 413 before relaying anything', async () => {
    const small = await startTestGateway(undefined, { limits: { maxRequestBodyBytes: 1024 } });
    try {
      const seen = target.seen.length;
      const client = small.client();
      await expect(
        client.relay({ method: 'POST', url: `${target.url}/echo`, body: new Uint8Array(4096) }),
      ).rejects.toMatchObject({ code: 'body_too_large' });
      expect(target.seen.length).toBe(seen);
    } finally {
      await small.close();
    }
  });

  it.each([
    ['ftp://example.com/file', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['gopher://example.com/', 'scheme_not_allowed'],
    ['http://unresolvable.test/', 'dns_error'],
    ['http://empty.test/', 'dns_no_answer'],
    ['http://user:pw@example.com/', 'credentials_in_url'],
  ])('refuses the target %s with 403 %s', async (targetUri, code) => {
    const res = await sendSigned({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agentId,
      method: 'GET',
      target: targetUri,
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('sphyr-outcome')).toBe('blocked');
    expect(await errorCode(res)).toBe(code);
  });

  it.each([
    ['a non-canonical target', 'HTTP://Example.COM', 400, 'target_not_canonical'],
    ['a target with a fragment', 'http://example.com/#frag', 400, 'target_not_canonical'],
    ['a target that is not a URL', 'not a url', 403, 'invalid_url'],
  ])('refuses %s', async (_name, targetUri, status, code) => {
    const res = await sendSigned({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agentId,
      method: 'GET',
      target: targetUri,
    });
    expect(res.status).toBe(status);
    expect(await errorCode(res)).toBe(code);
  });

  it('answers unknown paths with 404 JSON', async () => {
    const res = await fetch(`${gw.gateway.url}/v1/nope`);
    expect(res.status).toBe(404);
    expect(await errorCode(res)).toBe('not_found');
  });

  it('answers bad JSON on /v1/check with 400', async () => {
    const res = await sendSigned({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      agentId,
      kind: 'agent',
      path: '/v1/check',
      body: '{"method": "GET", "url": ',
    });
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe('bad_json');
  });
});
