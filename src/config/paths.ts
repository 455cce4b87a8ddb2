import path from 'node:path';
import envPaths from 'env-paths';

/** Where things live, as a pure function of the injected platform facts. */
export interface PlatformFacts {
  home: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** `~/.sphyr/config.json` (DESIGN §3.1). */
export function localConfigPath(facts: PlatformFacts): string {
  return path.join(facts.home, '.sphyr', 'config.json');
}

/** The gateway's default data dir: `SPHYR_DATA_DIR`, else the OS data dir for "sphyr" (env-paths). */
export function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.SPHYR_DATA_DIR || envPaths('sphyr', { suffix: '' }).data;
}
