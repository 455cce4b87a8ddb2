/**
 * @module TOML editor (OpenAI Codex `~/.codex/config.toml`). smol-toml parses and validates but
 * drops comments, so edits are textual: a small scanner finds statements (headers, key/values,
 * comments, blank lines) with exact offsets, and we splice only our `[servers.<name>]` block.
 * Every result is re-parsed and compared with the old document before it is returned.
 */

import { isDeepStrictEqual } from 'node:util';
import { parse as parseToml, stringify as stringifyToml, TomlError } from 'smol-toml';
import { SphyrConfigError } from '../errors.js';
import { GuardParseError } from './errors.js';
import type { EntryUndo, FormatEditor, SetOptions, TextStyle } from './format-editor.js';

const BOM = '\uFEFF';
const BARE_KEY = /^[A-Za-z0-9_-]+$/;

type Doc = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Parsing

function parse(text: string): Doc {
  const body = text.startsWith(BOM) ? text.slice(1) : text;
  if (body.trim() === '') return {};
  try {
    return toPlain(parseToml(body)) as Doc;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
    const message = `Invalid TOML at line ${error.line}, column ${error.column}: ${reason}`;
    throw new GuardParseError(message, error.line, error.column);
  }
}

/** smol-toml builds null-prototype tables; callers compare with ordinary objects. */
function toPlain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlain);
  if (!isPlainObject(value)) return value;
  // fromEntries defines own properties, so a `__proto__` key stays a key.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
}

function isPlainObject(value: unknown): value is Doc {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// ---------------------------------------------------------------------------------------------
// Scanner: the text as a list of top-level statements. Runs only on text smol-toml accepted.

type StatementKind = 'blank' | 'comment' | 'table' | 'array' | 'keyval';

interface Statement {
  kind: StatementKind;
  /** Start of the line (leading whitespace included). */
  start: number;
  /** After the line's eol, or EOF. */
  end: number;
  /** Header path or key path, unquoted; empty for blank and comment lines. */
  path: string[];
  /** Value span of a key/value, which may cover several lines. */
  valueStart: number;
  valueEnd: number;
}

function scan(text: string): Statement[] {
  const statements: Statement[] = [];
  let p = text.startsWith(BOM) ? 1 : 0;
  while (p < text.length) {
    const statement = readStatement(text, p);
    if (statement.end <= p) throw new Error(`TOML scanner made no progress at offset ${p}`);
    statements.push(statement);
    p = statement.end;
  }
  return statements;
}

function readStatement(text: string, start: number): Statement {
  const p = skipSpaces(text, start);
  const ch = text[p];
  const base = { start, path: [], valueStart: -1, valueEnd: -1 };
  if (ch === undefined || ch === '\n' || ch === '\r')
    return { ...base, kind: 'blank', end: finishLine(text, p) };
  if (ch === '#') return { ...base, kind: 'comment', end: finishLine(text, p) };
  if (ch === '[') return readHeader(text, start, p);
  const key = readKey(text, p);
  const eq = skipSpaces(text, key.end);
  if (text[eq] !== '=') throw new Error(`TOML scanner expected '=' at offset ${eq}`);
  const valueStart = skipSpaces(text, eq + 1);
  const valueEnd = skipValue(text, valueStart);
  return { kind: 'keyval', start, end: finishLine(text, valueEnd), path: key.path, valueStart, valueEnd };
}

function readHeader(text: string, start: number, p: number): Statement {
  const isArray = text[p + 1] === '[';
  const key = readKey(text, p + (isArray ? 2 : 1));
  const close = skipSpaces(text, key.end) + (isArray ? 2 : 1);
  const kind = isArray ? 'array' : 'table';
  return { kind, start, end: finishLine(text, close), path: key.path, valueStart: -1, valueEnd: -1 };
}

function skipSpaces(text: string, p: number): number {
  let q = p;
  while (text[q] === ' ' || text[q] === '\t') q++;
  return q;
}

/** Past trailing spaces, an optional comment and the eol. */
function finishLine(text: string, p: number): number {
  let q = skipSpaces(text, p);
  if (text[q] === '#') q = lineBreak(text, q);
  if (text[q] === '\r' && text[q + 1] === '\n') return q + 2;
  if (text[q] === '\n') return q + 1;
  if (q < text.length) throw new Error(`TOML scanner expected end of line at offset ${q}`);
  return q;
}

/** Offset of the next `\n` (or `\r\n`), or EOF. */
function lineBreak(text: string, p: number): number {
  const nl = text.indexOf('\n', p);
  if (nl === -1) return text.length;
  return text[nl - 1] === '\r' ? nl - 1 : nl;
}

function readKey(text: string, p: number): { path: string[]; end: number } {
  const path: string[] = [];
  let q = p;
  for (;;) {
    const segment = readKeySegment(text, skipSpaces(text, q));
    path.push(segment.value);
    q = skipSpaces(text, segment.end);
    if (text[q] !== '.') return { path, end: q };
    q++;
  }
}

function readKeySegment(text: string, p: number): { value: string; end: number } {
  const ch = text[p];
  if (ch === '"') {
    const end = skipString(text, p);
    // Basic-string escapes are exactly those of values, so let the real parser unescape.
    return { value: String(parseToml(`k = ${text.slice(p, end)}`).k), end };
  }
  if (ch === "'") {
    const end = skipString(text, p);
    return { value: text.slice(p + 1, end - 1), end };
  }
  let q = p;
  while (q < text.length && !' \t.=]\r\n#'.includes(text[q] ?? '')) q++;
  if (q === p) throw new Error(`TOML scanner expected a key at offset ${p}`);
  return { value: text.slice(p, q), end: q };
}

function skipValue(text: string, p: number): number {
  const ch = text[p];
  if (ch === '"' || ch === "'") return skipString(text, p);
  if (ch === '[' || ch === '{') return skipNested(text, p);
  // Scalars (numbers, booleans, dates with a space) run to a comment or the eol.
  let q = p;
  while (q < text.length && !'#\r\n'.includes(text[q] ?? '')) q++;
  while (q > p && (text[q - 1] === ' ' || text[q - 1] === '\t')) q--;
  return q;
}

/** End of the string starting at `p` (basic, literal, or their multi-line forms). */
function skipString(text: string, p: number): number {
  const quote = text[p] ?? '';
  const escapes = quote === '"';
  const triple = quote.repeat(3);
  if (text.startsWith(triple, p)) return skipMultiline(text, p + 3, quote, escapes);
  let q = p + 1;
  while (q < text.length) {
    if (escapes && text[q] === '\\') q += 2;
    else if (text[q] === quote) return q + 1;
    else q++;
  }
  throw new Error(`TOML scanner found an unterminated string at offset ${p}`);
}

function skipMultiline(text: string, from: number, quote: string, escapes: boolean): number {
  const triple = quote.repeat(3);
  let q = from;
  while (q < text.length) {
    if (escapes && text[q] === '\\') q += 2;
    else if (text.startsWith(triple, q)) {
      q += 3;
      // Up to two quotes right before the closing delimiter belong to the content.
      for (let extra = 0; extra < 2 && text[q] === quote; extra++) q++;
      return q;
    } else q++;
  }
  throw new Error(`TOML scanner found an unterminated multi-line string at offset ${from}`);
}

/** End of an array or inline table, which may span lines and hold comments and strings. */
function skipNested(text: string, p: number): number {
  let depth = 0;
  let q = p;
  while (q < text.length) {
    const ch = text[q];
    if (ch === '"' || ch === "'") q = skipString(text, q);
    else if (ch === '#') q = lineBreak(text, q);
    else {
      if (ch === '[' || ch === '{') depth++;
      if (ch === ']' || ch === '}') depth--;
      q++;
      if (depth === 0) return q;
    }
  }
  throw new Error(`TOML scanner found an unterminated array or inline table at offset ${p}`);
}

// ---------------------------------------------------------------------------------------------
// Locating our entry

interface Block {
  /** Start of the header line. */
  start: number;
  /** After the last line of the block that is neither blank nor a comment. */
  end: number;
  header: Statement;
  /** Statements of the main table: after the header, before the first sub-table. */
  main: Statement[];
  /** Sub-table headers of the entry. */
  subTables: Statement[];
}

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && startsWith(a, b);
}

function renderPath(path: readonly string[]): string {
  return path.map(renderKey).join('.');
}

function unsupportedShape(path: readonly string[], detail: string): SphyrConfigError {
  const header = `[${renderPath(path)}]`;
  return new SphyrConfigError(
    'config_unsupported_shape',
    `The entry ${renderPath(path)} is written in a form Sphyr cannot edit safely (${detail}). ` +
      `Rewrite it as a ${header} table, or remove it, and run the command again.`,
  );
}

function tooUnusual(path: readonly string[]): SphyrConfigError {
  const header = `[${renderPath(path)}]`;
  return new SphyrConfigError(
    'config_unsupported_shape',
    `This file is too unusual to edit safely: sub-tables of ${header} are separated from it by other ` +
      `tables (or come before it). Move all [${renderPath(path)}.*] tables directly below ${header}, ` +
      'or remove the entry, and run the command again.',
  );
}

/** Our block, undefined if the entry is absent; throws if it exists in a form we cannot edit. */
function locate(text: string, doc: Doc, path: readonly string[]): Block | undefined {
  const statements = scan(text);
  let current: string[] = [];
  let headerIndex = -1;
  let lastIndex = -1;
  let inBlock = false;
  const subTables: Statement[] = [];
  for (const [i, s] of statements.entries()) {
    if (s.kind === 'table' || s.kind === 'array') {
      current = s.path;
      inBlock = checkHeader(s, path, inBlock);
      if (inBlock && headerIndex === -1) headerIndex = i;
      else if (inBlock) subTables.push(s);
    } else if (s.kind === 'keyval' && !inBlock) checkKeyval([...current, ...s.path], path);
    if (inBlock && s.kind !== 'blank' && s.kind !== 'comment') lastIndex = i;
  }
  if (headerIndex === -1) {
    if (getAt(doc, path) !== undefined) throw unsupportedShape(path, 'it is not a table of its own');
    return undefined;
  }
  return toBlock(statements, headerIndex, lastIndex, subTables);
}

/** Whether this header opens or continues our block; throws on shapes we cannot edit. */
function checkHeader(s: Statement, path: readonly string[], inBlock: boolean): boolean {
  const related = startsWith(s.path, path) || startsWith(path, s.path);
  if (s.kind === 'array' && related)
    throw unsupportedShape(path, `[[${renderPath(s.path)}]] is an array of tables`);
  if (s.kind === 'array' || !startsWith(s.path, path)) return false;
  if (samePath(s.path, path)) return true;
  // A sub-table of ours: fine right after our block, not elsewhere.
  if (!inBlock) throw tooUnusual(path);
  return true;
}

function checkKeyval(full: readonly string[], path: readonly string[]): void {
  if (startsWith(full, path)) throw unsupportedShape(path, `it is set by the key ${renderPath(full)}`);
  if (startsWith(path, full))
    throw unsupportedShape(path, `${renderPath(full)} is written as an inline value`);
}

function toBlock(
  statements: Statement[],
  headerIndex: number,
  lastIndex: number,
  subTables: Statement[],
): Block {
  const header = statements[headerIndex]!;
  const last = statements[lastIndex]!;
  const firstSub = subTables[0];
  const mainEnd = firstSub === undefined ? lastIndex + 1 : statements.indexOf(firstSub);
  return {
    start: header.start,
    end: last.end,
    header,
    main: statements.slice(headerIndex + 1, mainEnd),
    subTables,
  };
}

function getAt(doc: Doc, path: readonly string[]): unknown {
  let node: unknown = doc;
  for (const segment of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, segment)) return undefined;
    node = node[segment];
  }
  return node;
}

/** `doc` without the entry at `path`; ancestors left empty are dropped so both sides compare alike. */
function withoutEntry(doc: Doc, path: readonly string[]): Doc {
  const [head, ...rest] = path;
  const entries = Object.entries(doc).flatMap(([k, v]): [string, unknown][] => {
    if (k !== head) return [[k, v]];
    if (rest.length === 0 || !isPlainObject(v)) return rest.length === 0 ? [] : [[k, v]];
    const pruned = withoutEntry(v, rest);
    return Object.keys(pruned).length === 0 ? [] : [[k, pruned]];
  });
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------
// Rendering

function renderKey(key: string): string {
  return BARE_KEY.test(key) ? key : basicString(key);
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\f': '\\f',
  '\r': '\\r',
};

function basicString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    const escaped = ESCAPES[ch];
    if (escaped !== undefined) out += escaped;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function renderString(s: string): string {
  // A lone surrogate cannot be written as UTF-8 nor escaped in TOML.
  if (/\p{Cs}/u.test(s)) throw new Error('A TOML string cannot hold an unpaired surrogate');
  // Literal strings keep Windows paths readable: 'C:\Program Files\nodejs\node.exe'.
  if (s.includes('\\') && !s.includes("'") && !hasControl(s)) return `'${s}'`;
  return basicString(s);
}

function renderValue(value: unknown): string {
  if (typeof value === 'string') return renderString(value);
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  if (isPlainObject(value)) return renderInlineTable(value);
  const scalar = typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean';
  if (scalar || value instanceof Date) {
    return stringifyToml({ v: value }).trim().replace(/^v = /, '');
  }
  throw new Error(`A value of type ${value === null ? 'null' : typeof value} cannot be written to TOML`);
}

function renderInlineTable(table: Doc): string {
  const pairs = Object.entries(table)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${renderKey(k)} = ${renderValue(v)}`);
  return pairs.length === 0 ? '{}' : `{ ${pairs.join(', ')} }`;
}

/** `[path]` with scalar and array keys, then one sub-table per plain-object value. */
function renderTableLines(path: readonly string[], table: Doc, lines: string[]): void {
  lines.push(`[${renderPath(path)}]`);
  const subTables: [string, Doc][] = [];
  for (const [key, value] of Object.entries(table)) {
    if (value === undefined) continue;
    if (isPlainObject(value)) subTables.push([key, value]);
    else lines.push(`${renderKey(key)} = ${renderValue(value)}`);
  }
  for (const [key, value] of subTables) renderTableLines([...path, key], value, lines);
}

function renderBlock(path: readonly string[], value: Doc, eol: string): string {
  const lines: string[] = [];
  renderTableLines(path, value, lines);
  return lines.map((line) => line + eol).join('');
}

/** `value` as parsing its rendering gives it back: undefined keys dropped, ordinary objects. */
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalized);
  if (!isPlainObject(value)) return value;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.map(([k, v]) => [k, normalized(v)]));
}

// ---------------------------------------------------------------------------------------------
// Edits

interface SetResult {
  text: string;
  undo: EntryUndo;
}

/** Blank-line separator before a block appended to non-empty `text`. */
function separatorFor(text: string, eol: string): string {
  if (!text.endsWith('\n')) return eol + eol;
  const withoutLast = text.replace(/\r?\n$/, '');
  const lastLine = withoutLast.slice(withoutLast.lastIndexOf('\n') + 1);
  return /^[ \t]*$/.test(lastLine) ? '' : eol;
}

function appendBlock(text: string, path: readonly string[], value: Doc, eol: string): SetResult {
  const block = renderBlock(path, value, eol);
  const body = text.startsWith(BOM) ? text.slice(1) : text;
  if (body === '') return { text: text + block, undo: { previous: null } };
  const separator = separatorFor(text, eol);
  const undo: EntryUndo = separator === '' ? { previous: null } : { previous: null, separator };
  return { text: text + separator + block, undo };
}

function replaceBlock(
  text: string,
  block: Block,
  path: readonly string[],
  value: Doc,
  eol: string,
): SetResult {
  const previous = text.slice(block.start, block.end);
  let rendered = renderBlock(path, value, eol);
  // A block at EOF without a final newline stays without one.
  if (!previous.endsWith('\n')) rendered = rendered.slice(0, -eol.length);
  return { text: text.slice(0, block.start) + rendered + text.slice(block.end), undo: { previous } };
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  }
  return out;
}

/** Update `only` keys of the main table in place; missing keys go after its last key/value. */
function updateKeys(
  text: string,
  block: Block,
  path: readonly string[],
  value: Doc,
  only: readonly string[],
  eol: string,
): SetResult {
  const edits: Edit[] = [];
  const added: string[] = [];
  for (const key of only) {
    const rendered = renderOnlyValue(block, path, key, value[key]);
    const line = block.main.find((s) => s.kind === 'keyval' && samePath(s.path, [key]));
    if (line) edits.push({ start: line.valueStart, end: line.valueEnd, text: rendered });
    else added.push(`${renderKey(key)} = ${rendered}`);
  }
  if (added.length > 0) edits.push(insertion(text, block, added, eol));
  return { text: applyEdits(text, edits), undo: { previous: text.slice(block.start, block.end) } };
}

function renderOnlyValue(block: Block, path: readonly string[], key: string, value: unknown): string {
  // Removing a line could strand comments above it outside the block, breaking undo.
  if (value === undefined) throw new Error(`set(only): the new value has no "${key}"`);
  const dotted = block.main.some((s) => s.kind === 'keyval' && s.path.length > 1 && s.path[0] === key);
  const subTable = block.subTables.some((s) => s.path[path.length] === key);
  if (dotted || subTable)
    throw unsupportedShape(path, `its "${key}" is a table, which cannot be updated in place`);
  return renderValue(value);
}

function insertion(text: string, block: Block, lines: string[], eol: string): Edit {
  const keyvals = block.main.filter((s) => s.kind === 'keyval');
  const anchor = keyvals[keyvals.length - 1] ?? block.header;
  const at = anchor.end;
  // After a last line without eol (EOF), keep the file without a final newline.
  const added = text[at - 1] === '\n' ? lines.map((l) => l + eol).join('') : eol + lines.join(eol);
  return { start: at, end: at, text: added };
}

/** Parse text we produced; a failure is our bug, never the user's file. */
function parseOwn(text: string): Doc {
  try {
    return parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`TOML editor produced invalid TOML (a bug; nothing was written): ${reason}`);
  }
}

function verifySet(oldDoc: Doc, newText: string, path: readonly string[], expected: unknown): void {
  const newDoc = parseOwn(newText);
  if (!isDeepStrictEqual(getAt(newDoc, path), expected)) {
    throw new Error(
      `TOML editor bug: ${renderPath(path)} does not read back as written; nothing was written`,
    );
  }
  if (!isDeepStrictEqual(withoutEntry(newDoc, path), withoutEntry(oldDoc, path))) {
    throw new Error(`TOML editor bug: editing ${renderPath(path)} changed other values; nothing was written`);
  }
}

function expectedEntry(oldDoc: Doc, path: readonly string[], value: Doc, only?: readonly string[]): unknown {
  if (only === undefined) return normalized(value);
  const old = getAt(oldDoc, path);
  const base = isPlainObject(old) ? old : {};
  const kept = Object.entries(base).filter(([k]) => !only.includes(k));
  const updated = only.map((k): [string, unknown] => [k, normalized(value[k])]);
  return Object.fromEntries([...kept, ...updated]);
}

function set(
  text: string,
  serversKey: readonly string[],
  name: string,
  value: Record<string, unknown>,
  style: TextStyle,
  options: SetOptions = {},
): SetResult {
  const oldDoc = parse(text);
  const path = [...serversKey, name];
  const block = locate(text, oldDoc, path);
  const { only } = options;
  let result: SetResult;
  if (only !== undefined) {
    if (block === undefined) {
      throw new SphyrConfigError(
        'config_entry_missing',
        `There is no [${renderPath(path)}] table to update; add the entry first.`,
      );
    }
    result = updateKeys(text, block, path, value, only, style.eol);
  } else if (block === undefined) result = appendBlock(text, path, value, style.eol);
  else result = replaceBlock(text, block, path, value, style.eol);
  verifySet(oldDoc, result.text, path, expectedEntry(oldDoc, path, value, only));
  return result;
}

function undo(
  text: string,
  serversKey: readonly string[],
  name: string,
  entryUndo: EntryUndo,
  style: TextStyle,
): string {
  const doc = parse(text);
  const block = locate(text, doc, [...serversKey, name]);
  if (block === undefined) return text;
  const before = text.slice(0, block.start);
  const after = text.slice(block.end);
  let out: string;
  if (entryUndo.previous === null) {
    const { separator } = entryUndo;
    // The blank line set put before an appended block goes too, if the block is still last.
    const dropSeparator =
      after === '' && separator !== undefined && separator !== '' && before.endsWith(separator);
    out = dropSeparator ? before.slice(0, before.length - (separator?.length ?? 0)) : before + after;
  } else {
    // A block restored in front of other text needs its eol back.
    const needsEol = after !== '' && !entryUndo.previous.endsWith('\n');
    out = before + entryUndo.previous + (needsEol ? style.eol : '') + after;
  }
  parseOwn(out);
  return out;
}

export const tomlEditor: FormatEditor = { parse, set, undo };
