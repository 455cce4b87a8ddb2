import http, { type IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { autoInstrument, type Instrumentation, wrapHttp } from '../../src/index.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTarget, type TargetServer } from '../helpers/target-server.js';

let gw: TestGateway;
let target: TargetServer;
let handle: Instrumentation | undefined;

beforeAll(async () => {
  target = await startTarget();
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
  await target?.close();
});

afterEach(() => {
  handle?.restore();
  handle = undefined;
});

function body(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c) => {
      text += c;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

function call(fn: (done: (res: IncomingMessage) => void) => http.ClientRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = fn(resolve);
    req.on('error', reject);
  });
}

describe('wrapHttp(http): manual wrapping for the core module', () => {
  it('refuses to run before autoInstrument()', () => {
    expect(() => wrapHttp(http).get(`${target.url}/echo`)).toThrow(/autoInstrument\(\) first/);
  });

  it('relays a request with a streamed body through the gateway, signed', async () => {
    handle = autoInstrument({
      gatewayUrl: gw.gateway.url,
      credential: gw.credential,
      instrumentHosts: ['127.0.0.1'],
      warn: () => {},
    });
    const guarded = wrapHttp(http);
    const res = await call((done) => {
      const req = guarded.request(
        `${target.url}/echo?core=1`,
        { method: 'POST', headers: { 'content-type': 'text/plain' } },
        done,
      );
      req.write('part one, ');
      req.end('part two');
      return req;
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['sphyr-outcome']).toBe('allowed');
    expect(JSON.parse(await body(res))).toMatchObject({ method: 'POST', url: '/echo?core=1', bodyBytes: 18 });
    const [record] = await gw.gateway.store.query({ limit: 1 });
    expect(record).toMatchObject({ outcome: 'allowed', bytesIn: 18 });
  });

  it('emits SphyrPolicyError for a blocked target and sends excluded hosts direct', async () => {
    handle = autoInstrument({ gatewayUrl: gw.gateway.url, credential: gw.credential, warn: () => {} });
    const guarded = wrapHttp(http);
    await expect(
      call((done) => guarded.get('http://metadata.google.internal/computeMetadata/v1/', done)),
    ).rejects.toMatchObject({
      name: 'SphyrPolicyError',
      code: 'ssrf_metadata',
    });
    const before = (await gw.gateway.store.query({ limit: 1 }))[0]?.seq;
    const res = await call((done) =>
      guarded.get({ host: '127.0.0.1', port: target.port, path: '/echo?direct=1' }, done),
    );
    expect(res.headers['sphyr-outcome']).toBeUndefined();
    await body(res);
    expect((await gw.gateway.store.query({ limit: 1 }))[0]?.seq).toBe(before);
  });
});
