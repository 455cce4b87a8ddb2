// The `sphyr` CLI bundled into a few ESM chunks: Node 20 has no compile cache, and loading each of
// ~90 small modules costs about a millisecond, which `guard init --dry-run` (goal < 300 ms) feels.
// Bundled: our code and the small pure-JS packages on that path (commander, jsonc-parser,
// smol-toml). Every other package stays external and loads exactly as published (some need their
// own __filename, or a native addon). The library entry points (the SDK, sphyr-mcp) stay in dist/src.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'rolldown';

const BUNDLED = new Set(['commander', 'jsonc-parser', 'smol-toml']);

export default defineConfig({
  input: { sphyr: 'dist/src/cli/main.js' },
  platform: 'node',
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !BUNDLED.has(id),
  resolve: {
    // jsonc-parser's main is a UMD build whose require() calls a bundler cannot follow.
    alias: {
      'jsonc-parser': fileURLToPath(new URL('node_modules/jsonc-parser/lib/esm/main.js', import.meta.url)),
    },
  },
  output: {
    dir: 'dist/cli',
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    sourcemap: false,
  },
});
