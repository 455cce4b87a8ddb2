/**
 * Where every adapter looks, per OS and per environment variable, and what its entry looks like.
 * configPaths/detectPaths/projectPaths are pure functions of {platform, env, home}, so every OS is
 * described here as plain strings (Windows with backslashes) and checked on any machine.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLIENTS, clientById } from '../../clients/index.js';
import type { ClientAdapter, ConfigLocation, Launch, PathContext, Platform } from '../../clients/types.js';
import { type GuardHost, localPath } from '../../src/guard/platform.js';
import { expand, isDetected, targetsFor } from '../../src/guard/targets.js';
import { tempDir } from '../helpers/gateway.js';

const MAC_HOME = '/Users/ann';
const LINUX_HOME = '/home/ann';
const WIN_HOME = 'C:\\Users\\ann';
const HOMES: Record<Platform, string> = { darwin: MAC_HOME, linux: LINUX_HOME, win32: WIN_HOME };
const ROAMING = 'C:\\Users\\ann\\AppData\\Roaming';
const LOCAL = 'C:\\Users\\ann\\AppData\\Local';
const MAC_SUPPORT = '/Users/ann/Library/Application Support';

function ctx(platform: Platform, env: Record<string, string | undefined> = {}): PathContext {
  return { platform, env, home: HOMES[platform] };
}

function client(id: string): ClientAdapter {
  const found = clientById(id);
  if (!found) throw new Error(`no adapter ${id}`);
  return found;
}

interface PathCase {
  name: string;
  platform: Platform;
  env?: Record<string, string | undefined>;
  config: ConfigLocation[];
  detect: string[];
}

const user = (path: string): ConfigLocation => ({ path, label: 'user' });

/** Every adapter, every OS, and the env variables that move its files. */
const PATH_CASES: Record<string, PathCase[]> = {
  'claude-desktop': [
    {
      name: 'macOS: Application Support, and the app bundle for detection',
      platform: 'darwin',
      config: [user(`${MAC_SUPPORT}/Claude/claude_desktop_config.json`)],
      detect: ['/Applications/Claude.app', `${MAC_SUPPORT}/Claude`],
    },
    {
      name: 'macOS ignores XDG_CONFIG_HOME and APPDATA',
      platform: 'darwin',
      env: { XDG_CONFIG_HOME: '/xdg', APPDATA: 'D:\\Roaming' },
      config: [user(`${MAC_SUPPORT}/Claude/claude_desktop_config.json`)],
      detect: ['/Applications/Claude.app', `${MAC_SUPPORT}/Claude`],
    },
    {
      name: 'Windows with APPDATA/LOCALAPPDATA unset: MSIX package folder first, then the classic path',
      platform: 'win32',
      config: [
        {
          path: `${LOCAL}\\Packages\\Claude_*\\LocalCache\\Roaming\\Claude\\claude_desktop_config.json`,
          label: 'MSIX',
        },
        user(`${ROAMING}\\Claude\\claude_desktop_config.json`),
      ],
      detect: [`${ROAMING}\\Claude`, `${LOCAL}\\Packages\\Claude_*`],
    },
    {
      name: 'Windows honours APPDATA and LOCALAPPDATA',
      platform: 'win32',
      env: { APPDATA: 'D:\\Profiles\\ann\\Roaming', LOCALAPPDATA: 'E:\\Local' },
      config: [
        {
          path: 'E:\\Local\\Packages\\Claude_*\\LocalCache\\Roaming\\Claude\\claude_desktop_config.json',
          label: 'MSIX',
        },
        user('D:\\Profiles\\ann\\Roaming\\Claude\\claude_desktop_config.json'),
      ],
      detect: ['D:\\Profiles\\ann\\Roaming\\Claude', 'E:\\Local\\Packages\\Claude_*'],
    },
    {
      name: 'Windows with empty APPDATA/LOCALAPPDATA falls back to the defaults',
      platform: 'win32',
      env: { APPDATA: '', LOCALAPPDATA: '' },
      config: [
        {
          path: `${LOCAL}\\Packages\\Claude_*\\LocalCache\\Roaming\\Claude\\claude_desktop_config.json`,
          label: 'MSIX',
        },
        user(`${ROAMING}\\Claude\\claude_desktop_config.json`),
      ],
      detect: [`${ROAMING}\\Claude`, `${LOCAL}\\Packages\\Claude_*`],
    },
    {
      name: 'Linux (community builds): ~/.config/Claude',
      platform: 'linux',
      config: [user('/home/ann/.config/Claude/claude_desktop_config.json')],
      detect: ['/home/ann/.config/Claude'],
    },
    {
      name: 'Linux honours an absolute XDG_CONFIG_HOME',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/data/cfg' },
      config: [user('/data/cfg/Claude/claude_desktop_config.json')],
      detect: ['/data/cfg/Claude'],
    },
    {
      name: 'Linux ignores a relative XDG_CONFIG_HOME',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: 'relative/cfg' },
      config: [user('/home/ann/.config/Claude/claude_desktop_config.json')],
      detect: ['/home/ann/.config/Claude'],
    },
  ],
  'claude-code': [
    {
      name: 'macOS: ~/.claude.json',
      platform: 'darwin',
      config: [user('/Users/ann/.claude.json')],
      detect: ['/Users/ann/.claude', '/Users/ann/.claude.json'],
    },
    {
      name: 'Linux: ~/.claude.json',
      platform: 'linux',
      config: [user('/home/ann/.claude.json')],
      detect: ['/home/ann/.claude', '/home/ann/.claude.json'],
    },
    {
      name: 'Linux: CLAUDE_CONFIG_DIR moves the file and is detected first',
      platform: 'linux',
      env: { CLAUDE_CONFIG_DIR: '/srv/claude' },
      config: [user('/srv/claude/.claude.json')],
      detect: ['/srv/claude', '/home/ann/.claude', '/home/ann/.claude.json'],
    },
    {
      name: 'Windows: %USERPROFILE%\\.claude.json',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming' },
      config: [user(`${WIN_HOME}\\.claude.json`)],
      detect: [`${WIN_HOME}\\.claude`, `${WIN_HOME}\\.claude.json`],
    },
    {
      name: 'Windows: CLAUDE_CONFIG_DIR',
      platform: 'win32',
      env: { CLAUDE_CONFIG_DIR: 'D:\\claude' },
      config: [user('D:\\claude\\.claude.json')],
      detect: ['D:\\claude', `${WIN_HOME}\\.claude`, `${WIN_HOME}\\.claude.json`],
    },
  ],
  cursor: [
    {
      name: 'macOS',
      platform: 'darwin',
      config: [user('/Users/ann/.cursor/mcp.json')],
      detect: ['/Users/ann/.cursor'],
    },
    {
      name: 'Linux (XDG_CONFIG_HOME does not matter)',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [user('/home/ann/.cursor/mcp.json')],
      detect: ['/home/ann/.cursor'],
    },
    {
      name: 'Windows (APPDATA does not matter)',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming' },
      config: [user(`${WIN_HOME}\\.cursor\\mcp.json`)],
      detect: [`${WIN_HOME}\\.cursor`],
    },
  ],
  vscode: [
    {
      name: 'macOS: Application Support/Code/User, default profile and every other profile',
      platform: 'darwin',
      config: [
        { path: `${MAC_SUPPORT}/Code/User/mcp.json`, label: 'default profile' },
        { path: `${MAC_SUPPORT}/Code/User/profiles/*/mcp.json`, label: 'profile' },
      ],
      detect: [`${MAC_SUPPORT}/Code/User`],
    },
    {
      name: 'Windows: %APPDATA%\\Code\\User (default when unset)',
      platform: 'win32',
      config: [
        { path: `${ROAMING}\\Code\\User\\mcp.json`, label: 'default profile' },
        { path: `${ROAMING}\\Code\\User\\profiles\\*\\mcp.json`, label: 'profile' },
      ],
      detect: [`${ROAMING}\\Code\\User`],
    },
    {
      name: 'Windows: APPDATA honoured',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming' },
      config: [
        { path: 'D:\\Roaming\\Code\\User\\mcp.json', label: 'default profile' },
        { path: 'D:\\Roaming\\Code\\User\\profiles\\*\\mcp.json', label: 'profile' },
      ],
      detect: ['D:\\Roaming\\Code\\User'],
    },
    {
      name: 'Linux: ~/.config/Code/User',
      platform: 'linux',
      config: [
        { path: '/home/ann/.config/Code/User/mcp.json', label: 'default profile' },
        { path: '/home/ann/.config/Code/User/profiles/*/mcp.json', label: 'profile' },
      ],
      detect: ['/home/ann/.config/Code/User'],
    },
    {
      name: 'Linux: absolute XDG_CONFIG_HOME honoured',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [
        { path: '/xdg/Code/User/mcp.json', label: 'default profile' },
        { path: '/xdg/Code/User/profiles/*/mcp.json', label: 'profile' },
      ],
      detect: ['/xdg/Code/User'],
    },
    {
      name: 'Linux: relative XDG_CONFIG_HOME ignored',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '.config-elsewhere' },
      config: [
        { path: '/home/ann/.config/Code/User/mcp.json', label: 'default profile' },
        { path: '/home/ann/.config/Code/User/profiles/*/mcp.json', label: 'profile' },
      ],
      detect: ['/home/ann/.config/Code/User'],
    },
  ],
  'vscode-insiders': [
    {
      name: 'macOS',
      platform: 'darwin',
      config: [
        { path: `${MAC_SUPPORT}/Code - Insiders/User/mcp.json`, label: 'default profile' },
        { path: `${MAC_SUPPORT}/Code - Insiders/User/profiles/*/mcp.json`, label: 'profile' },
      ],
      detect: [`${MAC_SUPPORT}/Code - Insiders/User`],
    },
    {
      name: 'Windows',
      platform: 'win32',
      env: { APPDATA: ROAMING },
      config: [
        { path: `${ROAMING}\\Code - Insiders\\User\\mcp.json`, label: 'default profile' },
        { path: `${ROAMING}\\Code - Insiders\\User\\profiles\\*\\mcp.json`, label: 'profile' },
      ],
      detect: [`${ROAMING}\\Code - Insiders\\User`],
    },
    {
      name: 'Linux with XDG_CONFIG_HOME',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [
        { path: '/xdg/Code - Insiders/User/mcp.json', label: 'default profile' },
        { path: '/xdg/Code - Insiders/User/profiles/*/mcp.json', label: 'profile' },
      ],
      detect: ['/xdg/Code - Insiders/User'],
    },
  ],
  zed: [
    {
      name: 'macOS: ~/.config/zed, NOT Application Support',
      platform: 'darwin',
      config: [user('/Users/ann/.config/zed/settings.json')],
      detect: ['/Users/ann/.config/zed', '/Applications/Zed.app'],
    },
    {
      name: 'macOS ignores XDG_CONFIG_HOME and FLATPAK_XDG_CONFIG_HOME',
      platform: 'darwin',
      env: { XDG_CONFIG_HOME: '/xdg', FLATPAK_XDG_CONFIG_HOME: '/flatpak' },
      config: [user('/Users/ann/.config/zed/settings.json')],
      detect: ['/Users/ann/.config/zed', '/Applications/Zed.app'],
    },
    {
      name: 'Windows: %APPDATA%\\Zed (default when unset)',
      platform: 'win32',
      config: [user(`${ROAMING}\\Zed\\settings.json`)],
      detect: [`${ROAMING}\\Zed`],
    },
    {
      name: 'Windows: APPDATA honoured',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming', LOCALAPPDATA: 'D:\\Local' },
      config: [user('D:\\Roaming\\Zed\\settings.json')],
      detect: ['D:\\Roaming\\Zed'],
    },
    {
      name: 'Linux: ~/.config/zed',
      platform: 'linux',
      config: [user('/home/ann/.config/zed/settings.json')],
      detect: ['/home/ann/.config/zed'],
    },
    {
      name: 'Linux: absolute XDG_CONFIG_HOME honoured',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [user('/xdg/zed/settings.json')],
      detect: ['/xdg/zed'],
    },
    {
      name: 'Linux: relative XDG_CONFIG_HOME ignored',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: 'cfg' },
      config: [user('/home/ann/.config/zed/settings.json')],
      detect: ['/home/ann/.config/zed'],
    },
    {
      name: 'Linux: FLATPAK_XDG_CONFIG_HOME wins over XDG_CONFIG_HOME',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg', FLATPAK_XDG_CONFIG_HOME: '/home/ann/.var/app/dev.zed.Zed/config' },
      config: [user('/home/ann/.var/app/dev.zed.Zed/config/zed/settings.json')],
      detect: ['/home/ann/.var/app/dev.zed.Zed/config/zed'],
    },
  ],
  windsurf: [
    {
      name: 'macOS',
      platform: 'darwin',
      config: [user('/Users/ann/.codeium/windsurf/mcp_config.json')],
      detect: ['/Users/ann/.codeium/windsurf'],
    },
    {
      name: 'Linux',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [user('/home/ann/.codeium/windsurf/mcp_config.json')],
      detect: ['/home/ann/.codeium/windsurf'],
    },
    {
      name: 'Windows',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming' },
      config: [user(`${WIN_HOME}\\.codeium\\windsurf\\mcp_config.json`)],
      detect: [`${WIN_HOME}\\.codeium\\windsurf`],
    },
  ],
  codex: [
    {
      name: 'macOS: ~/.codex',
      platform: 'darwin',
      config: [user('/Users/ann/.codex/config.toml')],
      detect: ['/Users/ann/.codex'],
    },
    {
      name: 'Linux: CODEX_HOME moves the file and the detection folder',
      platform: 'linux',
      env: { CODEX_HOME: '/opt/codex-home' },
      config: [user('/opt/codex-home/config.toml')],
      detect: ['/opt/codex-home'],
    },
    {
      name: 'Linux: empty CODEX_HOME is the default',
      platform: 'linux',
      env: { CODEX_HOME: '' },
      config: [user('/home/ann/.codex/config.toml')],
      detect: ['/home/ann/.codex'],
    },
    {
      name: 'Windows: %USERPROFILE%\\.codex',
      platform: 'win32',
      config: [user(`${WIN_HOME}\\.codex\\config.toml`)],
      detect: [`${WIN_HOME}\\.codex`],
    },
    {
      name: 'Windows: CODEX_HOME',
      platform: 'win32',
      env: { CODEX_HOME: 'D:\\codex' },
      config: [user('D:\\codex\\config.toml')],
      detect: ['D:\\codex'],
    },
  ],
  antigravity: [
    {
      name: 'macOS: 2.0 then 1.x; ~/.gemini alone is not Antigravity',
      platform: 'darwin',
      config: [
        { path: '/Users/ann/.gemini/config/mcp_config.json', label: '2.0' },
        { path: '/Users/ann/.gemini/antigravity/mcp_config.json', label: '1.x' },
      ],
      detect: ['/Users/ann/.gemini/config', '/Users/ann/.gemini/antigravity'],
    },
    {
      name: 'Linux',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [
        { path: '/home/ann/.gemini/config/mcp_config.json', label: '2.0' },
        { path: '/home/ann/.gemini/antigravity/mcp_config.json', label: '1.x' },
      ],
      detect: ['/home/ann/.gemini/config', '/home/ann/.gemini/antigravity'],
    },
    {
      name: 'Windows',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming' },
      config: [
        { path: `${WIN_HOME}\\.gemini\\config\\mcp_config.json`, label: '2.0' },
        { path: `${WIN_HOME}\\.gemini\\antigravity\\mcp_config.json`, label: '1.x' },
      ],
      detect: [`${WIN_HOME}\\.gemini\\config`, `${WIN_HOME}\\.gemini\\antigravity`],
    },
  ],
  'gemini-cli': [
    {
      name: 'Linux',
      platform: 'linux',
      config: [user('/home/ann/.gemini/settings.json')],
      detect: ['/home/ann/.gemini/settings.json'],
    },
    {
      name: 'Windows',
      platform: 'win32',
      config: [user(`${WIN_HOME}\\.gemini\\settings.json`)],
      detect: [`${WIN_HOME}\\.gemini\\settings.json`],
    },
  ],
  cline: [
    {
      name: 'macOS: under VS Code globalStorage',
      platform: 'darwin',
      config: [
        user(
          `${MAC_SUPPORT}/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json`,
        ),
      ],
      detect: [`${MAC_SUPPORT}/Code/User/globalStorage/saoudrizwan.claude-dev`],
    },
    {
      name: 'Windows: under %APPDATA%\\Code',
      platform: 'win32',
      env: { APPDATA: 'D:\\Roaming' },
      config: [
        user(
          'D:\\Roaming\\Code\\User\\globalStorage\\saoudrizwan.claude-dev\\settings\\cline_mcp_settings.json',
        ),
      ],
      detect: ['D:\\Roaming\\Code\\User\\globalStorage\\saoudrizwan.claude-dev'],
    },
    {
      name: 'Linux with XDG_CONFIG_HOME',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [user('/xdg/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json')],
      detect: ['/xdg/Code/User/globalStorage/saoudrizwan.claude-dev'],
    },
  ],
  'lm-studio': [
    {
      name: 'Linux',
      platform: 'linux',
      config: [user('/home/ann/.lmstudio/mcp.json')],
      detect: ['/home/ann/.lmstudio'],
    },
    {
      name: 'Windows',
      platform: 'win32',
      config: [user(`${WIN_HOME}\\.lmstudio\\mcp.json`)],
      detect: [`${WIN_HOME}\\.lmstudio`],
    },
  ],
  junie: [
    {
      name: 'macOS',
      platform: 'darwin',
      config: [user('/Users/ann/.junie/mcp/mcp.json')],
      detect: ['/Users/ann/.junie'],
    },
    {
      name: 'Windows',
      platform: 'win32',
      config: [user(`${WIN_HOME}\\.junie\\mcp\\mcp.json`)],
      detect: [`${WIN_HOME}\\.junie`],
    },
  ],
  opencode: [
    {
      name: 'Linux: opencode.jsonc or opencode.json, one group',
      platform: 'linux',
      config: [
        { path: '/home/ann/.config/opencode/opencode.jsonc', label: 'user', group: 'config' },
        { path: '/home/ann/.config/opencode/opencode.json', label: 'user', group: 'config' },
      ],
      detect: ['/home/ann/.config/opencode'],
    },
    {
      name: 'Linux with XDG_CONFIG_HOME',
      platform: 'linux',
      env: { XDG_CONFIG_HOME: '/xdg' },
      config: [
        { path: '/xdg/opencode/opencode.jsonc', label: 'user', group: 'config' },
        { path: '/xdg/opencode/opencode.json', label: 'user', group: 'config' },
      ],
      detect: ['/xdg/opencode'],
    },
    {
      name: 'Windows: also under .config in the profile',
      platform: 'win32',
      config: [
        { path: `${WIN_HOME}\\.config\\opencode\\opencode.jsonc`, label: 'user', group: 'config' },
        { path: `${WIN_HOME}\\.config\\opencode\\opencode.json`, label: 'user', group: 'config' },
      ],
      detect: [`${WIN_HOME}\\.config\\opencode`],
    },
  ],
};

const PROJECT_CASES: Record<string, Record<'posix' | 'win32', ConfigLocation[]>> = {
  'claude-desktop': { posix: [], win32: [] },
  'claude-code': {
    posix: [{ path: '/src/app/.mcp.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.mcp.json', label: 'project' }],
  },
  cursor: {
    posix: [{ path: '/src/app/.cursor/mcp.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.cursor\\mcp.json', label: 'project' }],
  },
  vscode: {
    posix: [{ path: '/src/app/.vscode/mcp.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.vscode\\mcp.json', label: 'project' }],
  },
  'vscode-insiders': {
    posix: [{ path: '/src/app/.vscode/mcp.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.vscode\\mcp.json', label: 'project' }],
  },
  zed: {
    posix: [{ path: '/src/app/.zed/settings.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.zed\\settings.json', label: 'project' }],
  },
  windsurf: { posix: [], win32: [] },
  codex: {
    posix: [{ path: '/src/app/.codex/config.toml', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.codex\\config.toml', label: 'project' }],
  },
  antigravity: {
    posix: [{ path: '/src/app/.agents/mcp_config.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.agents\\mcp_config.json', label: 'project' }],
  },
  'gemini-cli': {
    posix: [{ path: '/src/app/.gemini/settings.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.gemini\\settings.json', label: 'project' }],
  },
  cline: { posix: [], win32: [] },
  'lm-studio': { posix: [], win32: [] },
  junie: {
    posix: [{ path: '/src/app/.junie/mcp/mcp.json', label: 'project' }],
    win32: [{ path: 'D:\\src\\app\\.junie\\mcp\\mcp.json', label: 'project' }],
  },
  opencode: {
    posix: [
      { path: '/src/app/opencode.jsonc', label: 'project', group: 'config' },
      { path: '/src/app/opencode.json', label: 'project', group: 'config' },
    ],
    win32: [
      { path: 'D:\\src\\app\\opencode.jsonc', label: 'project', group: 'config' },
      { path: 'D:\\src\\app\\opencode.json', label: 'project', group: 'config' },
    ],
  },
};

const pathRows = Object.entries(PATH_CASES).flatMap(([id, cases]) => cases.map((c) => ({ id, ...c })));

describe('configPaths and detectPaths', () => {
  it('the tables cover every adapter', () => {
    const ids = CLIENTS.map((c) => c.id).sort();
    expect(Object.keys(PATH_CASES).sort()).toEqual(ids);
    expect(Object.keys(PROJECT_CASES).sort()).toEqual(ids);
  });

  it.each(pathRows)('$id — $name', ({ id, platform, env, config, detect }) => {
    const adapter = client(id);
    expect(adapter.configPaths(ctx(platform, env))).toEqual(config);
    expect(adapter.detectPaths(ctx(platform, env))).toEqual(detect);
  });

  it.each(
    CLIENTS.flatMap((c) =>
      (['darwin', 'linux', 'win32'] as const).map((platform) => ({ id: c.id, platform })),
    ),
  )(
    '$id on $platform: one separator style, absolute paths, rooted in the home or env folders',
    ({ id, platform }) => {
      const adapter = client(id);
      const env =
        platform === 'win32'
          ? { APPDATA: 'D:\\Roaming', LOCALAPPDATA: 'D:\\Local', CODEX_HOME: 'D:\\codex' }
          : { XDG_CONFIG_HOME: '/xdg', CODEX_HOME: '/codex' };
      const paths = [
        ...adapter.configPaths(ctx(platform, env)).map((l) => l.path),
        ...adapter.detectPaths(ctx(platform, env)),
        ...adapter.projectPaths(platform === 'win32' ? 'D:\\p' : '/p', platform).map((l) => l.path),
      ];
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) {
        if (platform === 'win32') {
          expect(p).not.toContain('/');
          expect(p).toMatch(/^[A-Z]:\\/);
        } else {
          expect(p).not.toContain('\\');
          expect(p.startsWith('/')).toBe(true);
        }
      }
    },
  );

  it('Antigravity is not detected by ~/.gemini alone (that is Gemini CLI)', () => {
    for (const platform of ['darwin', 'linux', 'win32'] as const) {
      const home = HOMES[platform];
      const gemini = platform === 'win32' ? `${home}\\.gemini` : `${home}/.gemini`;
      expect(client('antigravity').detectPaths(ctx(platform))).not.toContain(gemini);
    }
  });

  it('Zed never uses Application Support on macOS', () => {
    const paths = [
      ...client('zed')
        .configPaths(ctx('darwin'))
        .map((l) => l.path),
      ...client('zed').detectPaths(ctx('darwin')),
    ];
    for (const p of paths) expect(p).not.toContain('Application Support');
  });
});

describe('projectPaths', () => {
  it.each(Object.entries(PROJECT_CASES).map(([id, c]) => ({ id, ...c })))('$id', ({ id, posix, win32 }) => {
    const adapter = client(id);
    expect(adapter.projectPaths('/src/app', 'linux')).toEqual(posix);
    expect(adapter.projectPaths('/src/app', 'darwin')).toEqual(posix);
    expect(adapter.projectPaths('D:\\src\\app', 'win32')).toEqual(win32);
  });
});

describe('the engine expands the `*` patterns against folders that exist', () => {
  async function winHost(): Promise<GuardHost> {
    const fsRoot = await tempDir('sphyr-paths-');
    return {
      platform: 'win32',
      env: { APPDATA: ROAMING, LOCALAPPDATA: LOCAL },
      home: WIN_HOME,
      fsRoot,
      now: () => new Date(),
    };
  }

  it('Claude Desktop: every Claude_* MSIX package folder, whatever the publisher suffix, plus %APPDATA%\\Claude', async () => {
    const host = await winHost();
    const msixDir = `${LOCAL}\\Packages\\Claude_pzs8sxrjxfjjc\\LocalCache\\Roaming\\Claude`;
    await mkdir(localPath(host, msixDir), { recursive: true });
    await mkdir(localPath(host, `${LOCAL}\\Packages\\NotClaude_x\\LocalCache\\Roaming\\Claude`), {
      recursive: true,
    });
    await mkdir(localPath(host, `${ROAMING}\\Claude`), { recursive: true });
    const adapter = client('claude-desktop');
    expect(await isDetected(host, adapter)).toBe(true);
    const targets = await targetsFor(host, adapter, adapter.configPaths(host), false);
    expect(targets.map((t) => [t.file, t.label])).toEqual([
      [`${msixDir}\\claude_desktop_config.json`, 'MSIX'],
      [`${ROAMING}\\Claude\\claude_desktop_config.json`, 'user'],
    ]);
  });

  it('Claude Desktop: the MSIX package folder alone is enough to detect the app', async () => {
    const host = await winHost();
    await mkdir(localPath(host, `${LOCAL}\\Packages\\Claude_abc123`), { recursive: true });
    expect(await expand(host, `${LOCAL}\\Packages\\Claude_*`)).toEqual([`${LOCAL}\\Packages\\Claude_abc123`]);
    expect(await isDetected(host, client('claude-desktop'))).toBe(true);
  });

  it('VS Code: the default profile and each profiles/*/mcp.json', async () => {
    const host = await winHost();
    const userDir = `${ROAMING}\\Code\\User`;
    await mkdir(localPath(host, `${userDir}\\profiles\\-7a1b2c`), { recursive: true });
    await mkdir(localPath(host, `${userDir}\\profiles\\5d3e`), { recursive: true });
    await writeFile(localPath(host, `${userDir}\\profiles\\5d3e\\mcp.json`), '{}');
    const adapter = client('vscode');
    const targets = await targetsFor(host, adapter, adapter.configPaths(host), false);
    expect(targets.map((t) => [t.file, t.label])).toEqual([
      [`${userDir}\\mcp.json`, 'default profile'],
      [`${userDir}\\profiles\\-7a1b2c\\mcp.json`, 'profile'],
      [`${userDir}\\profiles\\5d3e\\mcp.json`, 'profile'],
    ]);
  });
});

describe('entry shapes', () => {
  const node: Launch = { command: '/usr/local/bin/node', args: ['/opt/sphyr/bin/sphyr-mcp.js'], env: {} };
  const withEnv: Launch = { ...node, env: { SPHYR_CREDENTIAL: 'sphyr.k.s', SPHYR_GATEWAY_URL: 'https://g' } };
  const noArgs: Launch = { command: '/usr/local/bin/sphyr-mcp', args: [], env: {} };
  const FORWARDED = ['SPHYR_CREDENTIAL', 'SPHYR_GATEWAY_URL'];

  const SHAPES: Array<{ id: string; plain: unknown; env: unknown; empty: unknown; keys: string[] }> = [
    {
      id: 'claude-desktop',
      plain: { command: node.command, args: node.args },
      env: { command: node.command, args: node.args, env: withEnv.env },
      empty: { command: noArgs.command, args: [] },
      keys: ['command', 'args', 'env'],
    },
    {
      id: 'claude-code',
      plain: { type: 'stdio', command: node.command, args: node.args, env: {} },
      env: { type: 'stdio', command: node.command, args: node.args, env: withEnv.env },
      empty: { type: 'stdio', command: noArgs.command, args: [], env: {} },
      keys: ['type', 'command', 'args', 'env'],
    },
    {
      id: 'cursor',
      plain: { command: node.command, args: node.args },
      env: { command: node.command, args: node.args, env: withEnv.env },
      empty: { command: noArgs.command, args: [] },
      keys: ['command', 'args', 'env'],
    },
    {
      id: 'vscode',
      plain: { type: 'stdio', command: node.command, args: node.args },
      env: { type: 'stdio', command: node.command, args: node.args, env: withEnv.env },
      empty: { type: 'stdio', command: noArgs.command, args: [] },
      keys: ['type', 'command', 'args', 'env'],
    },
    {
      id: 'zed',
      plain: { command: node.command, args: node.args },
      env: { command: node.command, args: node.args, env: withEnv.env },
      empty: { command: noArgs.command, args: [] },
      keys: ['command', 'args', 'env'],
    },
    {
      id: 'windsurf',
      plain: { command: node.command, args: node.args },
      env: { command: node.command, args: node.args, env: withEnv.env },
      empty: { command: noArgs.command, args: [] },
      keys: ['command', 'args', 'env'],
    },
    {
      id: 'codex',
      // env_vars only when the launch forwards something (see the next test).
      plain: { command: node.command, args: node.args },
      env: { command: node.command, args: node.args, env: withEnv.env },
      empty: { command: noArgs.command, args: [] },
      keys: ['command', 'args', 'env'],
    },
    {
      id: 'antigravity',
      plain: { command: node.command, args: node.args },
      env: { command: node.command, args: node.args, env: withEnv.env },
      empty: { command: noArgs.command, args: [] },
      keys: ['command', 'args', 'env'],
    },
  ];

  it.each(SHAPES)('$id: buildEntry', ({ id, plain, env, empty, keys }) => {
    const adapter = client(id);
    expect(adapter.buildEntry(node)).toStrictEqual(plain);
    const full = adapter.buildEntry(withEnv);
    expect(full).toStrictEqual(env);
    expect(Object.keys(full)).toEqual(keys);
    const bare = adapter.buildEntry(noArgs);
    expect(bare).toStrictEqual(empty);
    // `args` is always written, even empty (Zed rejects an entry without it).
    expect(bare).toHaveProperty('args', []);
  });

  it('Antigravity never writes a `type` key; VS Code and Claude Code always say stdio', () => {
    for (const launch of [node, withEnv, noArgs]) {
      expect(client('antigravity').buildEntry(launch)).not.toHaveProperty('type');
      expect(client('vscode').buildEntry(launch)).toHaveProperty('type', 'stdio');
      expect(client('claude-code').buildEntry(launch)).toHaveProperty('type', 'stdio');
    }
  });

  it.each(SHAPES.map((s) => s.id))('%s: readEntry reads back what buildEntry wrote', (id) => {
    const adapter = client(id);
    for (const launch of [node, withEnv, noArgs])
      expect(adapter.readEntry(adapter.buildEntry(launch))).toEqual(launch);
  });

  const REMOTE: Array<[string, unknown]> = [
    ['url', { url: 'https://mcp.example.com/mcp' }],
    ['url + headers', { url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer x' } }],
    ['serverUrl (Windsurf, Antigravity)', { serverUrl: 'https://mcp.example.com/sse' }],
    ['type http (VS Code, Claude Code)', { type: 'http', url: 'https://mcp.example.com/mcp' }],
    ['type sse', { type: 'sse', url: 'https://mcp.example.com/sse' }],
    ['url beside a command', { command: 'npx', args: ['x'], url: 'https://mcp.example.com/mcp' }],
    ['serverUrl beside a command', { command: 'npx', serverUrl: 'https://mcp.example.com/sse' }],
    ['Zed extension server', { settings: { key: 'v' } }],
    ['empty command', { command: '', args: [] }],
    ['not an object', 'npx some-server'],
    ['null', null],
    ['an array', ['npx']],
  ];

  it.each(CLIENTS.flatMap((c) => REMOTE.map(([what, entry]) => ({ id: c.id, what, entry }))))(
    '$id: readEntry is undefined for $what',
    ({ id, entry }) => {
      expect(client(id).readEntry(entry)).toBeUndefined();
    },
  );

  it('Zed: readEntry also understands the legacy {command: {path, args, env}} form', () => {
    expect(
      client('zed').readEntry({
        command: { path: '/bin/srv', args: ['--x'], env: { A: '1' } },
        settings: {},
      }),
    ).toEqual({ command: '/bin/srv', args: ['--x'], env: { A: '1' } });
  });

  it('Codex: env_vars lists what the launch forwards, and nothing when it forwards nothing', () => {
    expect(client('codex').buildEntry({ ...node, forward: FORWARDED })).toStrictEqual({
      command: node.command,
      args: node.args,
      env_vars: FORWARDED,
    });
    expect(client('codex').buildEntry({ ...node, forward: [] })).not.toHaveProperty('env_vars');
  });

  it('Codex: readEntry takes env from the `env` table', () => {
    expect(
      client('codex').readEntry({
        command: 'srv',
        args: ['a'],
        env: { K: 'v', N: 3 },
        env_vars: ['X'],
      }),
    ).toEqual({ command: 'srv', args: ['a'], env: { K: 'v', N: '3' } });
  });
});
