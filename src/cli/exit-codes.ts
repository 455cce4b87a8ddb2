/** Documented exit codes (README "Exit codes"). */
export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  /** `sphyr log verify` found a broken chain. */
  verifyFailed: 3,
  /** Not signed in, or the credential was refused. */
  auth: 4,
} as const;
