import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SphyrConfigError } from '../../src/errors.js';
import { GuardParseError } from '../../src/guard/errors.js';
import type { TextStyle } from '../../src/guard/format-editor.js';
import { tomlEditor } from '../../src/guard/toml-editor.js';

const LF: TextStyle = { eol: '\n', indent: '  ' };
const CRLF: TextStyle = { eol: '\r\n', indent: '  ' };
const KEY = ['mcp_servers'] as const;

const SPHYR = {
  command: '/usr/bin/node',
  args: ['/x/sphyr-mcp.js'],
  env_vars: ['SPHYR_CREDENTIAL'],
  env: { SPHYR_CREDENTIAL: 'sphyr.k.s' },
};

const SPHYR_BLOCK = [
  '[mcp_servers.sphyr]',
  'command = "/usr/bin/node"',
  'args = ["/x/sphyr-mcp.js"]',
  'env_vars = ["SPHYR_CREDENTIAL"]',
  '[mcp_servers.sphyr.env]',
  'SPHYR_CREDENTIAL = "sphyr.k.s"',
  '',
].join('\n');

const REALISTIC = `# Codex configuration — hand edited, keep my notes!
model = "o3" # trailing comment
approval_policy = "on-request"
notes = """
This is a note.
[mcp_servers.sphyr]
command = "not a header"
"""

# GitHub server, added by hand
[mcp_servers.github]
command = "npx"
args = [
  "-y", # install quietly
  "@modelcontextprotocol/server-github",
]

[mcp_servers.github.env]
GITHUB_TOKEN = "ghp_xxx" # rotate me

[projects."/home/me/src/app"]
trust_level = "trusted"

[profiles.fast]
model = "o4-mini"
`;

function setSphyr(text: string, style: TextStyle = LF) {
  return tomlEditor.set(text, KEY, 'sphyr', SPHYR, style);
}

function roundTrip(text: string, style: TextStyle = LF) {
  const result = setSphyr(text, style);
  return { ...result, restored: tomlEditor.undo(result.text, KEY, 'sphyr', result.undo, style) };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SphyrConfigError ? error.code : `not a config error: ${String(error)}`;
  }
  return undefined;
}

describe('tomlEditor.parse', () => {
  it('reads empty, whitespace and BOM-prefixed text', () => {
    expect(tomlEditor.parse('')).toEqual({});
    expect(tomlEditor.parse(' \n\t\r\n')).toEqual({});
    expect(tomlEditor.parse('\uFEFFa = 1\n')).toEqual({ a: 1 });
  });

  it('returns ordinary objects', () => {
    const doc = tomlEditor.parse('[a.b]\nc = [{ d = 1 }]\n');
    expect(Object.getPrototypeOf(doc.a)).toBe(Object.prototype);
  });

  it('does not take a header-looking line inside a multi-line string for a header', () => {
    const doc = tomlEditor.parse(REALISTIC);
    expect(doc.mcp_servers).toEqual({
      github: {
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-github'],
        env: { GITHUB_TOKEN: 'ghp_xxx' },
      },
    });
  });

  it('throws GuardParseError with line and column', () => {
    const error = (() => {
      try {
        tomlEditor.parse('a = 1\nb = = 2\n');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(GuardParseError);
    const parseError = error as GuardParseError;
    expect(parseError.code).toBe('config_parse_error');
    expect(parseError.line).toBe(2);
    expect(parseError.column).toBe(5);
    expect(parseError.message).toMatch(/line 2, column 5/);
  });
});

describe('tomlEditor.set / undo on a realistic config', () => {
  it('appends exactly the expected bytes', () => {
    const { text, undo } = setSphyr(REALISTIC);
    expect(text).toBe(`${REALISTIC}\n${SPHYR_BLOCK}`);
    expect(undo).toEqual({ previous: null, separator: '\n' });
  });

  it('is idempotent', () => {
    const once = setSphyr(REALISTIC).text;
    const twice = setSphyr(once);
    expect(twice.text).toBe(once);
    expect(twice.undo.previous).toBe(SPHYR_BLOCK);
  });

  it('undo restores the original bytes', () => {
    expect(roundTrip(REALISTIC).restored).toBe(REALISTIC);
  });

  it('keeps CRLF everywhere', () => {
    const original = REALISTIC.replace(/\n/g, '\r\n');
    const { text, restored } = roundTrip(original, CRLF);
    expect(text).toBe(`${original}\r\n${SPHYR_BLOCK.replace(/\n/g, '\r\n')}`);
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
    expect(restored).toBe(original);
  });

  it('handles a file without a final newline', () => {
    const original = REALISTIC.trimEnd();
    const { text, undo, restored } = roundTrip(original);
    expect(text).toBe(`${original}\n\n${SPHYR_BLOCK}`);
    expect(undo.separator).toBe('\n\n');
    expect(restored).toBe(original);
  });

  it('adds no separator after a blank line', () => {
    const original = 'a = 1\n\n';
    const { text, undo, restored } = roundTrip(original);
    expect(text).toBe(`a = 1\n\n${SPHYR_BLOCK}`);
    expect(undo).toEqual({ previous: null });
    expect(restored).toBe(original);
  });

  it('writes just the block into an empty file and undo empties it', () => {
    const { text, undo, restored } = roundTrip('');
    expect(text).toBe(SPHYR_BLOCK);
    expect(undo).toEqual({ previous: null });
    expect(restored).toBe('');
  });

  it('keeps a BOM', () => {
    const { text, restored } = roundTrip('\uFEFF');
    expect(text).toBe(`\uFEFF${SPHYR_BLOCK}`);
    expect(restored).toBe('\uFEFF');
  });
});

describe('replacing an existing [mcp_servers.sphyr]', () => {
  const OLD_BLOCK = [
    '[ mcp_servers . "sphyr" ] # ours',
    'command = "old-node"',
    '# keep this comment',
    'args = ["old.js"]',
    '',
    '[mcp_servers.sphyr.env]',
    'OLD = "1"',
    '',
  ].join('\n');
  const ORIGINAL = `model = "o3"\n\n${OLD_BLOCK}\n# about github\n[mcp_servers.github]\ncommand = "npx"\n`;

  it('replaces the block in place and undo restores it byte for byte', () => {
    const { text, undo } = setSphyr(ORIGINAL);
    expect(undo.previous).toBe(OLD_BLOCK);
    expect(text).toBe(
      `model = "o3"\n\n${SPHYR_BLOCK}\n# about github\n[mcp_servers.github]\ncommand = "npx"\n`,
    );
    expect(tomlEditor.undo(text, KEY, 'sphyr', undo, LF)).toBe(ORIGINAL);
  });

  it('keeps a block at EOF without a final newline', () => {
    const original = 'a = 1\n\n[mcp_servers.sphyr]\ncommand = "x"';
    const { text, restored } = roundTrip(original);
    expect(text).toBe(`a = 1\n\n${SPHYR_BLOCK.slice(0, -1)}`);
    expect(restored).toBe(original);
  });
});

describe('set with only', () => {
  const only = ['command', 'args'] as const;
  const launch = { command: '/usr/bin/node', args: ['/x/sphyr-mcp.js', '--wrap', 'npx'] };

  it('updates command and args of github, keeping comments and the env sub-table', () => {
    const { text, undo } = tomlEditor.set(REALISTIC, KEY, 'github', launch, LF, { only });
    const expected = REALISTIC.replace('command = "npx"', 'command = "/usr/bin/node"').replace(
      /args = \[\n[^\]]*\]/,
      'args = ["/x/sphyr-mcp.js", "--wrap", "npx"]',
    );
    expect(text).toBe(expected);
    expect(text).toContain('GITHUB_TOKEN = "ghp_xxx" # rotate me');
    expect(text).toContain('# GitHub server, added by hand\n[mcp_servers.github]');
    expect(tomlEditor.undo(text, KEY, 'github', undo, LF)).toBe(REALISTIC);
  });

  it('keeps a trailing comment after the value and adds missing keys after the last key', () => {
    const original = '[mcp_servers.x]\ncommand = "a" # the command\ntimeout = 5\n# end\n\n[other]\n';
    const { text, undo } = tomlEditor.set(original, KEY, 'x', launch, LF, { only });
    expect(text).toBe(
      '[mcp_servers.x]\ncommand = "/usr/bin/node" # the command\ntimeout = 5\n' +
        'args = ["/x/sphyr-mcp.js", "--wrap", "npx"]\n# end\n\n[other]\n',
    );
    expect(tomlEditor.undo(text, KEY, 'x', undo, LF)).toBe(original);
  });

  it('requires an existing table', () => {
    expect(codeOf(() => tomlEditor.set('a = 1\n', KEY, 'x', launch, LF, { only }))).toBe(
      'config_entry_missing',
    );
  });
});

describe('shapes we cannot edit', () => {
  it.each([
    ['inline table', '[mcp_servers]\nsphyr = { command = "x" }\n'],
    ['dotted keys at root', 'mcp_servers.sphyr.command = "x"\n'],
    ['dotted keys in [mcp_servers]', '[mcp_servers]\nsphyr.command = "x"\n'],
    ['servers table inline', 'mcp_servers = { other = { command = "x" } }\n'],
    ['array of tables', '[[mcp_servers.sphyr]]\ncommand = "x"\n'],
    ['sub-table only', '[mcp_servers.sphyr.env]\nA = "1"\n'],
    ['split sub-table', '[mcp_servers.sphyr]\ncommand = "x"\n[other]\n[mcp_servers.sphyr.env]\nA = "1"\n'],
  ])('%s throws config_unsupported_shape', (_label, text) => {
    expect(codeOf(() => setSphyr(text))).toBe('config_unsupported_shape');
  });

  it('says what to do', () => {
    expect(() => setSphyr('[mcp_servers]\nsphyr = { command = "x" }\n')).toThrow(
      /cannot edit safely.*\[mcp_servers\.sphyr\] table, or remove it/,
    );
  });

  it('rejects a syntax error with GuardParseError', () => {
    expect(() => setSphyr('[mcp_servers.x\n')).toThrow(GuardParseError);
  });
});

describe('values', () => {
  it('round-trips a Windows path', () => {
    const value = {
      command: 'C:\\Program Files\\nodejs\\node.exe',
      args: ['C:\\Users\\me\\sphyr-mcp.js', "it's \\ odd", 'tab\there', 'quote"d'],
      env: { 'WEIRD KEY': 'C:\\x' },
    };
    const { text } = tomlEditor.set('', KEY, 'sphyr', value, LF);
    expect(text).toContain("command = 'C:\\Program Files\\nodejs\\node.exe'");
    expect(tomlEditor.parse(text)).toEqual({ mcp_servers: { sphyr: value } });
  });

  it('writes numbers, booleans, quoted names and nested arrays', () => {
    const value = { command: 'x', startup_timeout_sec: 20, enabled: true, matrix: [[1, 2], ['a']] };
    const { text } = tomlEditor.set('', KEY, 'my.server', value, LF);
    expect(text.split('\n')[0]).toBe('[mcp_servers."my.server"]');
    expect(tomlEditor.parse(text)).toEqual({ mcp_servers: { 'my.server': value } });
  });

  it('undo leaves a file alone when the entry is gone', () => {
    expect(tomlEditor.undo('a = 1\n', KEY, 'sphyr', { previous: null, separator: '\n' }, LF)).toBe('a = 1\n');
  });
});

// ---------------------------------------------------------------------------------------------
// Property test: documents built from a structured model, so they are always valid TOML.

interface Line {
  kind: 'kv' | 'comment' | 'blank';
  key: string;
  value: string;
  comment: string | null;
}

interface Table {
  name: string;
  lines: Line[];
  headerComment: string | null;
  commentsAbove: string[];
}

const TABLE_POOL = [
  'mcp_servers.github',
  'mcp_servers.github.env',
  'mcp_servers.sphyr',
  'mcp_servers.sphyr.env',
  'mcp_servers."other one"',
  'mcp_servers',
  'projects."/home/me/app"',
  'profiles.fast',
  'tools',
];
const KEY_POOL = ['command', 'args', 'model', 'env_vars', 'timeout', 'enabled', '"quoted key"', 'x-y'];

const commentText = fc.constantFrom('# note', '#', '# [mcp_servers.sphyr] not a header', '# "quoted" \'x\'');

const valueText = fc.oneof(
  fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    "'C:\\path\\x'",
    '"""\n[mcp_servers.sphyr]\nx = 1\n"""',
    "'''\n[[a]]\n'''",
    '"a\\"b # not a comment"',
    "'''x'''''",
    '"""y \\""" \\\\"""""',
    '1979-05-27 07:32:00Z',
    '1.5e3',
    '-inf',
  ),
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.boolean().map(String),
  fc.constantFrom(
    '[]',
    '[1, 2]',
    '[\n  "a", # c\n  "b",\n]',
    '[ # it\'s ] "odd"\n  1,\n]',
    '{ a = 1, b = "[x]" }',
    '[ [1], ["#"] ]',
  ),
);

const lineArb: fc.Arbitrary<Line> = fc.record({
  kind: fc.constantFrom<Line['kind']>('kv', 'kv', 'kv', 'comment', 'blank'),
  key: fc.constantFrom(...KEY_POOL),
  value: valueText,
  comment: fc.option(commentText, { nil: null }),
});

const tableArb: fc.Arbitrary<Table> = fc.record({
  name: fc.constantFrom(...TABLE_POOL),
  lines: fc.array(lineArb, { maxLength: 5 }),
  headerComment: fc.option(commentText, { nil: null }),
  commentsAbove: fc.array(fc.oneof(commentText, fc.constant('')), { maxLength: 2 }),
});

interface DocModel {
  root: Line[];
  tables: Table[];
  eol: TextStyle['eol'];
  finalNewline: boolean;
}

const docArb: fc.Arbitrary<DocModel> = fc.record({
  root: fc.array(lineArb, { maxLength: 4 }),
  tables: fc.uniqueArray(tableArb, { selector: (t) => t.name, maxLength: 6 }),
  eol: fc.constantFrom<TextStyle['eol']>('\n', '\r\n'),
  finalNewline: fc.boolean(),
});

function renderLines(lines: Line[], eol: string): string[] {
  const seen = new Set<string>();
  return lines.flatMap((line) => {
    if (line.kind === 'blank') return [''];
    if (line.kind === 'comment') return [line.comment ?? '#'];
    // Duplicate keys would be invalid TOML; skip them.
    if (seen.has(line.key)) return [];
    seen.add(line.key);
    const value = line.value.replace(/\n/g, eol);
    return [`${line.key} = ${value}${line.comment ? ` ${line.comment}` : ''}`];
  });
}

/** Headers are unique and no key collides with a table name, so any table order is valid TOML. */
function renderDoc(model: DocModel): string {
  const lines = renderLines(model.root, model.eol);
  for (const table of model.tables) {
    lines.push(...table.commentsAbove);
    lines.push(`[${table.name}]${table.headerComment ? ` ${table.headerComment}` : ''}`);
    lines.push(...renderLines(table.lines, model.eol));
  }
  const text = lines.join(model.eol);
  return model.finalNewline && text !== '' ? text + model.eol : text;
}

/** The document minus mcp_servers.sphyr, and minus mcp_servers if that leaves it empty. */
function withoutSphyr(doc: Record<string, unknown>): Record<string, unknown> {
  const { mcp_servers: servers, ...others } = doc;
  if (servers === undefined) return doc;
  const { sphyr: _drop, ...rest } = servers as Record<string, unknown>;
  return Object.keys(rest).length === 0 ? others : { ...others, mcp_servers: rest };
}

describe('property: set then undo', () => {
  it('restores the bytes and changes nothing outside the entry', () => {
    let edited = 0;
    let replaced = 0;
    fc.assert(
      fc.property(docArb, (model) => {
        const original = renderDoc(model);
        const style: TextStyle = { eol: model.eol, indent: '  ' };
        const before = tomlEditor.parse(original);
        let result: ReturnType<typeof setSphyr>;
        try {
          result = setSphyr(original, style);
        } catch (error) {
          // Only the documented refusal is acceptable (sub-tables split from the entry).
          expect(error).toBeInstanceOf(SphyrConfigError);
          expect((error as SphyrConfigError).code).toBe('config_unsupported_shape');
          return;
        }
        edited++;
        if (result.undo.previous !== null) replaced++;
        const after = tomlEditor.parse(result.text);
        expect((after.mcp_servers as Record<string, unknown>).sphyr).toEqual(SPHYR);
        expect(withoutSphyr(after)).toEqual(withoutSphyr(before));
        if (model.eol === '\r\n') expect(result.text.replace(/\r\n/g, '')).not.toContain('\n');
        expect(tomlEditor.undo(result.text, KEY, 'sphyr', result.undo, style)).toBe(original);
      }),
      { numRuns: 300 },
    );
    expect(edited).toBeGreaterThan(150);
    expect(replaced).toBeGreaterThan(20);
  });

  it('with only, updates github in place and undo restores the bytes', () => {
    const launch = { command: '/usr/bin/node', args: ['C:\\x\\sphyr.js', 'npx'] };
    fc.assert(
      fc.property(docArb, (model) => {
        const original = renderDoc(model);
        const style: TextStyle = { eol: model.eol, indent: '  ' };
        const before = tomlEditor.parse(original);
        const servers = before.mcp_servers as Record<string, Record<string, unknown>> | undefined;
        if (!model.tables.some((t) => t.name === 'mcp_servers.github')) return;
        let result: ReturnType<typeof setSphyr>;
        try {
          result = tomlEditor.set(original, KEY, 'github', launch, style, { only: ['command', 'args'] });
        } catch (error) {
          expect((error as SphyrConfigError).code).toBe('config_unsupported_shape');
          return;
        }
        const after = tomlEditor.parse(result.text);
        expect((after.mcp_servers as Record<string, unknown>).github).toEqual({
          ...servers?.github,
          ...launch,
        });
        expect(tomlEditor.undo(result.text, KEY, 'github', result.undo, style)).toBe(original);
      }),
      { numRuns: 200 },
    );
  });
});
