/**
 * Section "guard" of bench/run.mjs: `sphyr guard init --dry-run` across every client with realistic
 * files (wall time including Node's start, against a bare `node -e ""` start in the same run), and
 * one JSONC edit of a 1 MB settings file (against jsonc-parser's parse of the same text).
 */

import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'jsonc-parser';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The published entry (bin/sphyr.js in a clone only forwards to it).
const SPHYR = path.join(ROOT, 'packages', 'cli', 'bin', 'sphyr.js');

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeSpawn(args, env) {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** A home where all thirteen clients are installed, each with a config like a user's. */
export async function realisticHome(home) {
  const servers = Object.fromEntries(
    Array.from({ length: 8 }, (_, i) => [
      `server-${i}`,
      { command: 'npx', args: ['-y', `mcp-server-${i}`], env: { TOKEN: 'x'.repeat(20) } },
    ]),
  );
  const json = (extra) => `${JSON.stringify({ ...extra, mcpServers: servers }, null, 2)}\n`;
  const projects = Object.fromEntries(
    Array.from({ length: 200 }, (_, i) => [
      `/home/me/src/project-${i}`,
      { allowedTools: [], history: Array(10).fill({ display: 'ls -la' }), mcpServers: {} },
    ]),
  );
  const files = {
    '.config/Claude/claude_desktop_config.json': json({ preferences: { sidebarMode: 'chat' } }),
    '.claude.json': json({ numStartups: 412, projects }),
    '.cursor/mcp.json': json({}),
    '.config/Code/User/mcp.json': `// VS Code\n{\n  "servers": ${JSON.stringify(servers, null, 2).replace(/\n/g, '\n  ')},\n  "inputs": [],\n}\n`,
    '.config/Code/User/profiles/abc/mcp.json': '{\n  "servers": {}\n}\n',
    '.config/Code - Insiders/User/mcp.json': '{}\n',
    '.config/zed/settings.json': `// Zed settings\n{\n  "theme": "One Dark",\n  "context_servers": ${JSON.stringify(servers, null, 2).replace(/\n/g, '\n  ')},\n}\n`,
    '.codeium/windsurf/mcp_config.json': json({}),
    '.codex/config.toml': `# Codex\nmodel = "o3"\n\n${Object.keys(servers)
      .map(
        (n) =>
          `[mcp_servers.${n}] # ${n}\ncommand = "npx"\nargs = ["-y", "${n}"]\n\n[mcp_servers.${n}.env]\nTOKEN = "x"\n`,
      )
      .join('\n')}`,
    '.gemini/config/mcp_config.json': json({}),
    '.gemini/antigravity/mcp_config.json': json({}),
    '.gemini/settings.json': json({ theme: 'Default' }),
    '.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json': json({}),
    '.lmstudio/mcp.json': json({}),
    '.junie/mcp/mcp.json': json({}),
  };
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(home, rel)), { recursive: true });
    await writeFile(path.join(home, rel), text);
  }
  await mkdir(path.join(home, '.claude'), { recursive: true });
  return Object.keys(files).length;
}

/** A 1 MB Zed-style settings file: comments, trailing commas, nested objects. */
function bigJsonc() {
  const parts = ['// Zed settings\n{\n'];
  let i = 0;
  while (parts.join('').length < 1_000_000) {
    const chunk = [];
    for (let j = 0; j < 200; j += 1, i += 1) {
      chunk.push(
        `  // setting ${i}\n  "key_${i}": { "enabled": true, "values": [1, 2, 3], "name": "value ${i}" },\n`,
      );
    }
    parts.push(chunk.join(''));
  }
  parts.push('  "context_servers": {\n    "fs": { "command": "npx", "args": ["-y", "fs"] },\n  },\n}\n');
  return parts.join('');
}

export async function guardBench(tmpRoot, log) {
  const home = path.join(tmpRoot, 'guard-home');
  const files = await realisticHome(home);
  const env = { PATH: process.env.PATH, HOME: home };
  const runs = 10;
  const bare = [];
  const dry = [];
  // Interleaved, so both arms see the same machine.
  timeSpawn([SPHYR, 'guard', 'init', '--dry-run'], env);
  for (let i = 0; i < runs; i += 1) {
    bare.push(timeSpawn(['-e', ''], env));
    dry.push(timeSpawn([SPHYR, 'guard', 'init', '--dry-run'], env));
  }
  log(`guard: dry run over ${files} files`);
  const { jsoncEditor } = await import(path.join(ROOT, 'dist', 'src', 'guard', 'json-editor.js'));
  const text = bigJsonc();
  const entry = {
    command: '/usr/local/bin/node',
    args: ['/usr/local/lib/node_modules/@sphyr/sdk/bin/sphyr-mcp.js'],
  };
  const style = { eol: '\n', indent: '  ' };
  const editMs = [];
  const parseMs = [];
  for (let i = 0; i < 12; i += 1) {
    let t = performance.now();
    parse(text, [], { allowTrailingComma: true });
    parseMs.push(performance.now() - t);
    t = performance.now();
    const out = jsoncEditor.set(text, ['context_servers'], 'sphyr', entry, style);
    editMs.push(performance.now() - t);
    if (!out.text.includes('"sphyr"')) throw new Error('the 1 MB edit did not add the entry');
  }
  return {
    files,
    runs,
    bareNodeMs: median(bare),
    dryRunMs: median(dry),
    dryRunMaxMs: Math.max(...dry),
    bigFileBytes: text.length,
    editMs: median(editMs.slice(2)),
    parseMs: median(parseMs.slice(2)),
  };
}

export function renderGuard(g, fmt) {
  return [
    '',
    '== 6. guard init',
    '',
    `a. \`sphyr guard init --dry-run\` over ${g.files} realistic config files of 13 clients, spawn to exit, median of ${g.runs} (interleaved with a bare \`node -e ""\`):`,
    `   dry run ${fmt(g.dryRunMs, 1)} ms (max ${fmt(g.dryRunMaxMs, 1)} ms); bare Node start ${fmt(g.bareNodeMs, 1)} ms; ratio ${fmt(g.dryRunMs / g.bareNodeMs, 2)}×.`,
    `   Goal: < 300 ms including Node's start: ${g.dryRunMs < 300 ? 'met' : 'MISSED'}.`,
    `b. JSONC edit of a ${fmt(g.bigFileBytes / 1e6, 2)} MB settings file (parse, splice, re-parse twice to verify): ${fmt(g.editMs, 1)} ms; jsonc-parser parse alone ${fmt(g.parseMs, 1)} ms (${fmt(g.editMs / g.parseMs, 1)}×).`,
  ];
}
