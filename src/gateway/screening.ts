/**
 * @module The gateway's SSRF screen with everything it knows: its resolver, the policy's
 * `unsafeAllowRanges` and the loop guard (its listeners and public URL). Relays, tunnels and
 * webhook deliveries all screen through here, so they can never disagree.
 */
import { SphyrPolicyError } from '../errors.js';
import { type ScreenResult, screenTarget } from '../policy/index.js';
import type { GatewayContext } from './context.js';
import { selfUrls } from './self-address.js';

export function screenForGateway(ctx: GatewayContext, url: URL): Promise<ScreenResult> {
  return screenTarget(url.href, {
    resolve: ctx.resolve,
    unsafeAllowRanges: ctx.policy.unsafeAllowRanges,
    isSelf: ctx.isSelf,
    selfUrls: selfUrls(ctx),
  });
}

/** The vetted addresses to dial, or a `SphyrPolicyError` with the screen's reason. */
export async function vettedAddresses(ctx: GatewayContext, url: URL): Promise<string[]> {
  const screen = await screenForGateway(ctx, url);
  if (screen.verdict !== 'allow') {
    throw new SphyrPolicyError(screen.reason, `the target was blocked by SSRF screening (${screen.reason})`);
  }
  return screen.addresses;
}
