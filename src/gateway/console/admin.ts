import type { GatewayStore } from '../store/types.js';

/**
 * Make the first console admin when there is none: password from the option, else
 * SPHYR_ADMIN_PASSWORD, else generated and returned once so the CLI can print it.
 * Filled in by the console work.
 */
export async function ensureAdmin(
  _store: GatewayStore,
  _options: { password?: string; now: number; env?: Readonly<Record<string, string | undefined>> },
): Promise<{ username: string; generatedPassword?: string }> {
  return { username: 'admin' };
}
