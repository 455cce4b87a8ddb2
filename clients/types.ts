/**
 * @module What a client adapter supplies (DESIGN §5): facts only — where the config lives, its
 * format, the key that holds servers, how to recognise the client, how its entry is shaped.
 * The engine in src/guard/ does every read, edit and write.
 */

export type Platform = 'darwin' | 'win32' | 'linux';

/** Everything a path function may look at: no filesystem, so every OS is testable anywhere. */
export interface PathContext {
  platform: Platform;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
}

/** A command line as a client launches it. */
export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
  /**
   * Variables of the client's own environment the entry asks it to pass on, where a client needs
   * asking (Codex's `env_vars`); set only when guard's caller exported them.
   */
  forward?: string[];
}

export type ConfigFormat = 'json' | 'toml';

/**
 * What the client's own parser accepts in its config file. Guard parses with exactly this, so a
 * file the client would refuse is never written and never reported as configured.
 */
export interface Dialect {
  /** `//` and block comments (TOML always has `#` comments). */
  comments: boolean;
  /** A comma after the last member of a JSON object or array. */
  trailingCommas: boolean;
  /** A UTF-8 byte order mark before the document. */
  bom: boolean;
}

/**
 * One file the client reads. A `*` path segment (Claude's MSIX package folder, VS Code profiles)
 * is expanded by the engine against the directories that exist.
 */
export interface ConfigLocation {
  path: string;
  /** Shown beside the path: "user", "profile", "1.x", "MSIX"… */
  label: string;
  /**
   * Locations sharing a group are alternatives (opencode.jsonc or opencode.json): the first that
   * exists is used, or the last one when none does.
   */
  group?: string;
}

export interface ClientAdapter {
  id: string;
  displayName: string;
  format: ConfigFormat;
  dialect: Dialect;
  /** Path to the servers object inside the document: ['mcpServers'], ['servers'], ['mcp_servers']… */
  serversKey: readonly string[];
  /**
   * Every servers object in a parsed document, `serversKey` first: Claude Code also keeps local-scope
   * servers per project (`projects[<dir>].mcpServers`). Our entry goes to `serversKey` only;
   * --wrap-existing and doctor visit them all. Default: `[serversKey]`.
   */
  serverMaps?(doc: Record<string, unknown>): string[][];
  /** User-scope config files, in preference order. Pure: (platform, env, home) → paths. */
  configPaths(ctx: PathContext): ConfigLocation[];
  /** Project-scope config files under `dir` (none for clients without a project scope). */
  projectPaths(dir: string, platform: Platform): ConfigLocation[];
  /** Files or folders whose existence means the client is installed. */
  detectPaths(ctx: PathContext): string[];
  /** The entry this client needs for a stdio server. */
  buildEntry(launch: Launch): Record<string, unknown>;
  /** Read a stdio entry back (for doctor and --wrap-existing); undefined for remote or odd entries. */
  readEntry(entry: unknown): Launch | undefined;
  /** The keys of an entry that hold its command line (what --wrap-existing rewrites). Default: command, args. */
  launchKeys?: readonly string[];
  /** Rewrite an existing stdio entry to launch `launch`, keeping every other field. */
  rewriteEntry(entry: Record<string, unknown>, launch: Launch): Record<string, unknown>;
  /**
   * The environment the client gives a stdio server from its own environment `parent`, before the
   * entry's `env` is laid over it (`entry` is the raw entry: Codex reads its `env_vars`).
   */
  inheritedEnv(
    platform: Platform,
    parent: Readonly<Record<string, string | undefined>>,
    entry: unknown,
  ): Record<string, string>;
  /** That rule in words, for messages and the README. */
  envRule: string;
  /** How to make the client pick up the change. */
  reload: string;
  /** The same for a project file, when it differs (an approval or trust prompt). */
  projectReload?: string;
}
