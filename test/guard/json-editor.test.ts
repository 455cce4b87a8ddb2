import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TextStyle } from '../../src/guard/format-editor.js';
import { jsoncEditor, jsonEditor } from '../../src/guard/json-editor.js';

const LF: TextStyle = { eol: '\n', indent: '  ' };
const ENTRY = { command: '/usr/bin/node', args: ['/opt/sphyr/bin/sphyr-mcp.js'] };
const KEY = ['mcpServers'] as const;

function roundTrip(text: string, editor = jsoncEditor, key: readonly string[] = KEY, style = LF) {
  const first = editor.set(text, key, 'sphyr', ENTRY, style);
  const again = editor.set(first.text, key, 'sphyr', ENTRY, style);
  const back = editor.undo(first.text, key, 'sphyr', first.undo, style);
  return { after: first.text, again: again.text, back, undo: first.undo };
}

describe('JSON/JSONC editor: set and undo one entry, nothing else', () => {
  it('appends after a one-line sibling without reformatting it, and undo restores the bytes', () => {
    const text = '{\n  "mcpServers": {\n    "a": { "command": "x" }\n  }\n}\n';
    const { after, again, back } = roundTrip(text, jsonEditor);
    expect(after).toBe(
      '{\n  "mcpServers": {\n    "a": { "command": "x" },\n    "sphyr": {\n      "command": "/usr/bin/node",\n      "args": [\n        "/opt/sphyr/bin/sphyr-mcp.js"\n      ]\n    }\n  }\n}\n',
    );
    expect(again).toBe(after);
    expect(back).toBe(text);
  });

  it('keeps a comment at the end of the last sibling with that sibling, and trailing commas', () => {
    const text = '{\n  "servers": {\n    "a": { "command": "x" }, // mine\n  },\n  // tail\n}\n';
    const { after, back } = roundTrip(text, jsoncEditor, ['servers']);
    expect(after).toContain('"a": { "command": "x" }, // mine\n    "sphyr": {');
    expect(after).toMatch(/\n {4}},\n {2}},\n {2}\/\/ tail\n}\n$/);
    expect(back).toBe(text);
  });

  it('creates the servers key when missing and removes it again', () => {
    const text = '{\n\t"preferences": {\n\t\t"sidebarMode": "chat"\n\t}\n}';
    const style: TextStyle = { eol: '\n', indent: '\t' };
    const { after, back, undo } = roundTrip(text, jsonEditor, KEY, style);
    expect(undo.createdKeys).toEqual(['mcpServers']);
    expect(after).toContain('\n\t"mcpServers": {\n\t\t"sphyr": {\n\t\t\t"command"');
    expect(after.endsWith('}')).toBe(true);
    expect(back).toBe(text);
  });

  it('fills an empty object and an empty file, and undo gives them back exactly', () => {
    for (const text of ['{}', '{ }\n', '{\n  "mcpServers": {}\n}\n', '', '\n', '  \r\n']) {
      const { back, after } = roundTrip(text, jsonEditor);
      expect(JSON.parse(after).mcpServers.sphyr).toEqual(ENTRY);
      expect(back).toBe(text);
    }
  });

  it('keeps CRLF line endings', () => {
    const text = '{\r\n  "mcpServers": {\r\n    "a": {"command": "x"}\r\n  }\r\n}\r\n';
    const style: TextStyle = { eol: '\r\n', indent: '  ' };
    const { after, back } = roundTrip(text, jsonEditor, KEY, style);
    expect(after.replace(/\r\n/g, '')).not.toContain('\n');
    expect(back).toBe(text);
  });

  it('replaces our own entry whole (no stale keys) and undo restores the old one byte for byte', () => {
    const text = '{"mcpServers": {"sphyr": {"command": "npx", "args": ["-y"], "stale": true}, "b": {}}}';
    const { after, back, undo } = roundTrip(text, jsonEditor);
    expect(JSON.parse(after).mcpServers.sphyr).toEqual(ENTRY);
    expect(undo.previous).toBe('{"command": "npx", "args": ["-y"], "stale": true}');
    expect(back).toBe(text);
  });

  it('updates only command and args of another entry, keeping its env and comments', () => {
    const text =
      '{\n  "servers": {\n    "gh": {\n      // pinned\n      "command": "npx",\n      "args": ["gh-mcp"],\n      "env": {"T": "1"}\n    }\n  }\n}\n';
    const wrapped = { command: '/usr/bin/node', args: ['/s.js', '--', 'npx', 'gh-mcp'] };
    const set = jsoncEditor.set(text, ['servers'], 'gh', wrapped, LF, { only: ['command', 'args'] });
    expect(set.text).toContain('// pinned');
    expect(jsoncEditor.parse(set.text)).toEqual({ servers: { gh: { ...wrapped, env: { T: '1' } } } });
    expect(jsoncEditor.undo(set.text, ['servers'], 'gh', set.undo, LF)).toBe(text);
  });

  it('refuses what it cannot parse, saying where', () => {
    expect(() => jsonEditor.parse('{\n  // a comment\n  "a": 1\n}')).toThrow(
      /comments are not allowed.*line 2, column 3/,
    );
    expect(() => jsonEditor.parse('{"a": 1,}')).toThrow(/trailing comma/);
    expect(() => jsoncEditor.parse('{"a": 1,}')).not.toThrow();
    expect(() => jsoncEditor.parse('{"a": }')).toThrow(/expected a value at line 1/);
    expect(() => jsoncEditor.parse('[1, 2]')).toThrow(/top level is not a JSON object/);
    expect(() => jsonEditor.set('{"mcpServers": []}', KEY, 'sphyr', ENTRY, LF)).toThrow(/not an object/);
  });
});

// ---- property test: generated JSONC documents with comments ---------------------------------------

type Model = Array<[string, Value]>;
type Value = number | string | boolean | null | Value[] | { obj: Model };

const keyArb = fc.constantFrom(
  'alpha',
  'beta',
  'gamma',
  'delta',
  'preferences',
  'inputs',
  'theme',
  'x y',
  'é',
);
const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null));
const valueArb: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc
      .uniqueArray(fc.tuple(keyArb, tie('value')), { maxLength: 3, selector: (t) => t[0] })
      .map((obj) => ({ obj })),
  ),
})).value;
const serversArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom('github', 'fs', 'memory', 'sphyr'), valueArb), {
    maxLength: 3,
    selector: (t) => t[0],
  })
  .map((entries) =>
    entries.map(
      ([k, v]) =>
        [
          k,
          typeof v === 'object' && v && 'obj' in v ? v : { obj: [['command', 'npx'] as [string, Value]] },
        ] as [string, Value],
    ),
  );

interface Layout {
  indent: string;
  eol: '\n' | '\r\n';
  trailingCommas: boolean;
  comments: boolean;
  compact: boolean;
  finalNewline: boolean;
}

function renderDoc(model: Model, layout: Layout, seed: number[]): string {
  let n = 0;
  const pick = () => seed[n++ % seed.length] as number;
  const value = (v: Value, depth: number): string => {
    if (Array.isArray(v)) return `[${v.map((x) => value(x, depth + 1)).join(', ')}]`;
    if (v !== null && typeof v === 'object') return object(v.obj, depth);
    return JSON.stringify(v);
  };
  const object = (props: Model, depth: number): string => {
    if (props.length === 0) return pick() % 2 ? '{}' : '{ }';
    if (layout.compact && depth > 1 && pick() % 2) {
      return `{ ${props.map(([k, v]) => `${JSON.stringify(k)}: ${value(v, depth + 1)}`).join(', ')} }`;
    }
    const pad = layout.indent.repeat(depth + 1);
    const lines: string[] = [];
    props.forEach(([k, v], i) => {
      if (layout.comments && pick() % 3 === 0) lines.push(`${pad}// note ${i}`);
      const last = i === props.length - 1;
      const comma = !last || (layout.trailingCommas && pick() % 2) ? ',' : '';
      const trailing = layout.comments && pick() % 3 === 1 ? ` // after ${k}` : '';
      const block = layout.comments && pick() % 5 === 2 ? '/* b */ ' : '';
      lines.push(`${pad}${block}${JSON.stringify(k)}: ${value(v, depth + 1)}${comma}${trailing}`);
    });
    return `{${layout.eol}${lines.join(layout.eol)}${layout.eol}${layout.indent.repeat(depth)}}`;
  };
  const text = object(model, 0);
  return layout.finalNewline ? text + layout.eol : text;
}

const layoutArb = fc.record({
  indent: fc.constantFrom('  ', '    ', '\t'),
  eol: fc.constantFrom('\n' as const, '\r\n' as const),
  trailingCommas: fc.boolean(),
  comments: fc.boolean(),
  compact: fc.boolean(),
  finalNewline: fc.boolean(),
});

describe('JSONC editor, property: init then remove restores the bytes; init touches nothing else', () => {
  it('holds for generated documents', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(keyArb, valueArb), { maxLength: 4, selector: (t) => t[0] }),
        fc.option(serversArb, { nil: undefined }),
        fc.nat({ max: 5 }),
        layoutArb,
        fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 20 }),
        (rest, servers, at, layout, seed) => {
          const model: Model = [...rest];
          if (servers) model.splice(Math.min(at, model.length), 0, ['mcpServers', { obj: servers }]);
          const text = renderDoc(model, layout, seed);
          const style: TextStyle = { eol: layout.eol, indent: layout.indent };
          const before = jsoncEditor.parse(text);
          const { text: after, undo } = jsoncEditor.set(text, KEY, 'sphyr', ENTRY, style);
          const parsed = jsoncEditor.parse(after) as { mcpServers: Record<string, unknown> };
          expect(parsed.mcpServers.sphyr).toEqual(ENTRY);
          const { sphyr: _ours, ...others } = parsed.mcpServers;
          const { mcpServers: oldServers, ...oldRest } = before as { mcpServers?: Record<string, unknown> };
          const { mcpServers: _new, ...newRest } = parsed;
          expect(newRest).toEqual(oldRest);
          const { sphyr: _old, ...oldOthers } = oldServers ?? {};
          expect(others).toEqual(oldOthers);
          if (layout.eol === '\r\n') expect(after.replace(/\r\n/g, '')).not.toContain('\n');
          expect(jsoncEditor.set(after, KEY, 'sphyr', ENTRY, style).text).toBe(after);
          expect(jsoncEditor.undo(after, KEY, 'sphyr', undo, style)).toBe(text);
        },
      ),
      { numRuns: 400 },
    );
  });
});
