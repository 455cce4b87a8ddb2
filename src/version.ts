/** The package version, shown by `--version` and in MCP `initialize` (a test keeps it equal to package.json). */
export const VERSION = '0.1.0';
