/**
 * @module The client side of RFC 8628 against a Sphyr gateway: discover the endpoints (RFC 8414),
 * ask for a device code, then poll the token endpoint at the interval the server sets, slowing
 * down by 5 s on `slow_down`, until the person approves or denies in the console, or the code
 * expires. Network and clock are injected for tests.
 */

import { SphyrAuthError, SphyrNetworkError } from '../errors.js';

export const CLIENT_ID = 'sphyr-cli';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
  interval: number;
}

export interface LoginResult {
  credential: string;
  gatewayUrl: string;
  keyId?: string;
}

export interface DeviceLoginOptions {
  gatewayUrl: string;
  deviceName: string;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Called once the code is known: show it to the person (and open the browser). */
  onCode(authorization: DeviceAuthorization): void | Promise<void>;
  /** Called before each poll (a spinner). */
  onPoll?: () => void;
}

interface Metadata {
  device_authorization_endpoint?: string;
  token_endpoint?: string;
}

async function readJson(res: Response, what: string): Promise<Record<string, unknown>> {
  try {
    return (await res.json()) as Record<string, unknown>;
  } catch {
    throw new SphyrNetworkError(
      'gateway_bad_response',
      `${what} answered HTTP ${res.status} without JSON; is this a Sphyr gateway?`,
    );
  }
}

async function post(
  doFetch: typeof fetch,
  url: string,
  form: Record<string, string>,
  gatewayUrl: string,
): Promise<Response> {
  try {
    return await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      redirect: 'error',
    });
  } catch (error) {
    throw new SphyrNetworkError(
      'gateway_unreachable',
      `cannot reach the Sphyr gateway at ${gatewayUrl} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`,
      { cause: error },
    );
  }
}

/** Run the whole device flow; resolves with the credential, or throws a SphyrAuthError saying why not. */
export async function deviceLogin(options: DeviceLoginOptions): Promise<LoginResult> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = options.now ?? Date.now;
  const base = options.gatewayUrl.replace(/\/+$/, '');
  let metaRes: Response;
  try {
    metaRes = await doFetch(`${base}/.well-known/oauth-authorization-server`, {
      headers: { accept: 'application/json' },
    });
  } catch (error) {
    throw new SphyrNetworkError(
      'gateway_unreachable',
      `cannot reach the Sphyr gateway at ${base} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message}); check --gateway`,
      { cause: error },
    );
  }
  if (!metaRes.ok) {
    throw new SphyrNetworkError(
      'gateway_bad_response',
      `${base} has no OAuth metadata (HTTP ${metaRes.status}); is it a Sphyr gateway?`,
    );
  }
  const meta = (await readJson(metaRes, base)) as Metadata;
  if (!meta.device_authorization_endpoint || !meta.token_endpoint) {
    throw new SphyrNetworkError('gateway_bad_response', `${base} does not offer device login`);
  }
  const codeRes = await post(
    doFetch,
    meta.device_authorization_endpoint,
    { client_id: CLIENT_ID, scope: 'gateway', device_name: options.deviceName },
    base,
  );
  const code = await readJson(codeRes, 'the device authorization endpoint');
  if (!codeRes.ok || typeof code.device_code !== 'string' || typeof code.user_code !== 'string') {
    throw new SphyrAuthError(
      String(code.error ?? 'login_failed'),
      `the gateway refused to start a login: ${String(code.error_description ?? code.error ?? codeRes.status)}`,
    );
  }
  const authorization: DeviceAuthorization = {
    deviceCode: code.device_code,
    userCode: code.user_code,
    verificationUri: String(code.verification_uri),
    ...(typeof code.verification_uri_complete === 'string'
      ? { verificationUriComplete: code.verification_uri_complete }
      : {}),
    expiresIn: Number(code.expires_in) || 600,
    // RFC 8628 §3.2: 5 s when the server does not say.
    interval: Number(code.interval) || 5,
  };
  await options.onCode(authorization);
  const deadline = now() + authorization.expiresIn * 1000;
  let interval = authorization.interval;
  for (;;) {
    await sleep(interval * 1000);
    if (now() > deadline) {
      throw new SphyrAuthError(
        'expired_token',
        `the code ${authorization.userCode} expired before it was approved; run sphyr login again`,
      );
    }
    options.onPoll?.();
    const res = await post(
      doFetch,
      meta.token_endpoint,
      { grant_type: DEVICE_GRANT, device_code: authorization.deviceCode, client_id: CLIENT_ID },
      base,
    );
    const body = await readJson(res, 'the token endpoint');
    if (res.ok) {
      const credential = body.sphyr_credential ?? body.access_token;
      if (typeof credential !== 'string')
        throw new SphyrNetworkError('gateway_bad_response', 'the token response carried no credential');
      return {
        credential,
        gatewayUrl: typeof body.sphyr_gateway_url === 'string' ? body.sphyr_gateway_url : base,
        ...(typeof body.key_id === 'string' ? { keyId: body.key_id } : {}),
      };
    }
    switch (body.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        interval += 5;
        continue;
      case 'access_denied':
        throw new SphyrAuthError('access_denied', 'the login was denied in the console');
      case 'expired_token':
        throw new SphyrAuthError(
          'expired_token',
          `the code ${authorization.userCode} expired before it was approved; run sphyr login again`,
        );
      default:
        throw new SphyrAuthError(
          String(body.error ?? 'login_failed'),
          `the gateway refused the login: ${String(body.error_description ?? body.error ?? res.status)}`,
        );
    }
  }
}
