/**
 * @module Loads @sphyr/gateway for `sphyr gateway|keys|log`. It is a package of its own (it carries
 * the native SQLite driver), installed beside the CLI only where a gateway runs; without it those
 * commands say in one line what to install.
 */
import { SphyrConfigError } from '../errors.js';

export type GatewayPackage = typeof import('../gateway/index.js');

/** A variable, so bundlers leave the specifier for Node to resolve at run time. */
const GATEWAY_PACKAGE = '@sphyr/gateway';

function isMissing(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return (
    (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') &&
    String(e.message).includes(GATEWAY_PACKAGE)
  );
}

/** @throws {SphyrConfigError} `gateway_not_installed` when @sphyr/gateway cannot be found. */
export async function loadGatewayPackage(): Promise<GatewayPackage> {
  try {
    return (await import(GATEWAY_PACKAGE)) as GatewayPackage;
  } catch (error) {
    if (!isMissing(error)) throw error;
    throw new SphyrConfigError(
      'gateway_not_installed',
      'this command needs the gateway package: npm install @sphyr/gateway beside @sphyr/cli ' +
        '(or run npx -p @sphyr/cli -p @sphyr/gateway sphyr …)',
      { cause: error },
    );
  }
}
