import path from 'node:path';

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
export async function defaultDataDir(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (env.SPHYR_DATA_DIR) return env.SPHYR_DATA_DIR;
  // Loaded here, not at the top: every CLI command imports this file, few need the default.
  const { default: envPaths } = await import('env-paths');
  return envPaths('sphyr', { suffix: '' }).data;
}
