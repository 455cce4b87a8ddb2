/**
 * @module Surgical edits of JSON and JSONC config files. jsonc-parser finds the nodes; the text is
 * spliced by hand, because `modify` re-formats the sibling before an insertion (it turned a user's
 * one-line server entry into five lines). Everything outside our entry keeps its bytes.
 */

import { isDeepStrictEqual } from 'node:util';
import {
  createScanner,
  findNodeAtLocation,
  type Node,
  type ParseError,
  parse as parseJsonc,
  parseTree,
  printParseErrorCode,
  visit,
} from 'jsonc-parser';

// jsonc-parser's SyntaxKind is a const enum, which verbatimModuleSyntax cannot import.
const COMMA = 5;
const TRIVIA = new Set([12, 13, 14, 15]);

import type { Dialect } from '../../clients/types.js';
import { GuardParseError } from './errors.js';
import type { EntryUndo, FormatEditor, SetOptions, TextStyle } from './format-editor.js';

/** What a JSON editor accepts: the comments and trailing commas of its client's dialect. */
export type JsonDialect = Pick<Dialect, 'comments' | 'trailingCommas'>;

const PROBLEMS: Partial<Record<ReturnType<typeof printParseErrorCode>, string>> = {
  InvalidCommentToken: 'comments are not allowed here: this client reads strict JSON',
  InvalidSymbol: 'unexpected character',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected "," or a closing bracket',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the document',
  UnexpectedEndOfComment: 'a block comment is not closed',
  UnexpectedEndOfString: 'a string is not closed',
  InvalidEscapeCharacter: 'invalid escape in a string',
  InvalidCharacter: 'invalid character in a string (control characters must be escaped)',
};

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/**
 * jsonc-parser's parseTree, building nodes only along `target` (and inside it): a 1 MB
 * ~/.claude.json keeps its `projects` unallocated. Offsets of skipped values are still exact.
 * Call only on text already validated: errors inside skipped values are not reported here.
 */
function pathTree(text: string, target: readonly string[], dialect: JsonDialect): Node | undefined {
  const related = (path: ReadonlyArray<string | number>) => {
    const n = Math.min(path.length, target.length);
    for (let i = 0; i < n; i += 1) if (path[i] !== target[i]) return false;
    return true;
  };
  // jsonc-parser's Node is read-only; this is the same shape, built here.
  interface TreeNode {
    type: Node['type'];
    offset: number;
    length: number;
    parent?: TreeNode | undefined;
    children?: TreeNode[];
    value?: unknown;
    colonOffset?: number;
  }
  let current: TreeNode = { type: 'array', offset: -1, length: -1, children: [] };
  const complete = (end: number) => {
    if (current.type === 'property') {
      current.length = end - current.offset;
      current = current.parent as TreeNode;
    }
  };
  const add = (node: TreeNode) => {
    current.children?.push(node);
    return node;
  };
  const begin =
    (type: 'object' | 'array') =>
    (offset: number, _l: number, _a: number, _b: number, path: () => Array<string | number>) => {
      current = add({ type, offset, length: -1, parent: current, children: [] });
      return related(path());
    };
  const end = (offset: number, length: number) => {
    complete(offset + length);
    current.length = offset + length - current.offset;
    current = current.parent as TreeNode;
    complete(offset + length);
  };
  visit(
    text,
    {
      onObjectBegin: begin('object'),
      onObjectProperty: (name: string, offset: number, length: number) => {
        current = add({ type: 'property', offset, length: -1, parent: current, children: [] });
        current.children?.push({ type: 'string', value: name, offset, length, parent: current });
      },
      onObjectEnd: end,
      onArrayBegin: begin('array'),
      onArrayEnd: end,
      onLiteralValue: (value: unknown, offset: number, length: number) => {
        const type = value === null ? 'null' : (typeof value as 'string' | 'number' | 'boolean');
        add({ type, offset, length, parent: current, value });
        complete(offset + length);
      },
      onSeparator: (sep: string, offset: number) => {
        if (current.type === 'property') {
          if (sep === ':') current.colonOffset = offset;
          else if (sep === ',') complete(offset);
        }
      },
    },
    {
      disallowComments: !dialect.comments,
      allowTrailingComma: dialect.trailingCommas,
      allowEmptyContent: true,
    },
  );
  const root = current.children?.[0];
  if (root) root.parent = undefined;
  return root as Node | undefined;
}

/** A comma (then only whitespace and comments) right before `offset`. */
function afterComma(text: string, offset: number): boolean {
  const scanner = createScanner(text, false);
  let last = -1;
  for (let kind = scanner.scan(); scanner.getTokenOffset() < offset && kind !== 17; kind = scanner.scan()) {
    if (!TRIVIA.has(kind)) last = kind;
  }
  return last === COMMA;
}

function parseStrictly(text: string, dialect: JsonDialect): Node | undefined {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, {
    disallowComments: !dialect.comments,
    allowTrailingComma: dialect.trailingCommas,
    allowEmptyContent: true,
  });
  const first = errors[0];
  if (first) {
    const { line, column } = position(text, first.offset);
    const code = printParseErrorCode(first.error);
    const hint =
      !dialect.trailingCommas &&
      (code === 'PropertyNameExpected' || code === 'ValueExpected') &&
      afterComma(text, first.offset)
        ? " (a trailing comma is not allowed: this client's parser refuses it)"
        : '';
    throw new GuardParseError(
      `${PROBLEMS[code] ?? code}${hint} at line ${line}, column ${column}`,
      line,
      column,
    );
  }
  if (root && root.type !== 'object') {
    throw new GuardParseError('the top level is not a JSON object', 1, 1);
  }
  return root;
}

/** Node → plain value (jsonc-parser's getNodeValue without importing its typing quirks). */
function plainValue(node: Node): unknown {
  switch (node.type) {
    case 'object':
      return Object.fromEntries(
        (node.children ?? []).map((p) => [
          p.children?.[0]?.value as string,
          plainValue(p.children?.[1] as Node),
        ]),
      );
    case 'array':
      return (node.children ?? []).map(plainValue);
    default:
      return node.value;
  }
}

/** The first token at or after `offset` that is not whitespace or a comment. */
function nextToken(text: string, offset: number): { kind: number; offset: number; end: number } {
  const scanner = createScanner(text, false);
  scanner.setPosition(offset);
  for (;;) {
    const kind = scanner.scan();
    if (!TRIVIA.has(kind)) {
      return {
        kind,
        offset: scanner.getTokenOffset(),
        end: scanner.getTokenOffset() + scanner.getTokenLength(),
      };
    }
  }
}

function lineEnd(text: string, offset: number): number {
  const lf = text.indexOf('\n', offset);
  if (lf === -1) return text.length;
  return text[lf - 1] === '\r' ? lf - 1 : lf;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** One-line JSON in the common hand-written style: `["a", "b"]`, `{ "k": 1 }`. */
function renderInline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(renderInline).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const props = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${renderInline(v)}`);
    return props.length ? `{ ${props.join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

/** Our value as text, indented to sit at `depth` levels. */
function render(value: unknown, depth: number, style: TextStyle): string {
  const json = JSON.stringify(value, null, style.indent);
  return json.split('\n').join(style.eol + style.indent.repeat(depth));
}

function depthOf(node: Node): number {
  let depth = 0;
  for (let n = node.parent; n; n = n.parent) if (n.type === 'object' || n.type === 'array') depth += 1;
  return depth;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** Insert `"key": value` as the last property of `object`, in the object's own style. */
function insertProperty(
  text: string,
  object: Node,
  key: string,
  value: unknown,
  style: TextStyle,
): { text: string; hollow?: string } {
  const depth = depthOf(object) + 1;
  const open = object.offset;
  const close = object.offset + object.length - 1;
  const props = object.children ?? [];
  const last = props[props.length - 1];
  const property = `${JSON.stringify(key)}: ${render(value, depth, style)}`;
  if (!last) {
    const hollow = text.slice(open + 1, close);
    if (hollow.trim() === '') {
      const inner = `${style.eol}${style.indent.repeat(depth)}${property}${style.eol}${style.indent.repeat(depth - 1)}`;
      return { text: splice(text, open + 1, close, inner), hollow };
    }
    // Only comments inside: put ours first, keep them after it.
    return { text: splice(text, open + 1, open + 1, `${style.eol}${style.indent.repeat(depth)}${property}`) };
  }
  const valueEnd = last.offset + last.length;
  const after = nextToken(text, valueEnd);
  const trailingComma = after.kind === COMMA;
  const sameLineClose = lineEnd(text, valueEnd) >= close && !text.slice(valueEnd, close).includes('\n');
  if (sameLineClose) {
    // `{ "a": 1 }` on one line: stay on it.
    if (trailingComma) return { text: splice(text, after.end, after.end, ` ${property},`) };
    return { text: splice(text, valueEnd, valueEnd, `, ${property}`) };
  }
  // New line after the last property's line, so a comment at its end stays with it.
  const anchor = trailingComma ? after.end : valueEnd;
  const eolAt = lineEnd(text, anchor);
  const line = `${style.eol}${style.indent.repeat(depth)}${property}${trailingComma ? ',' : ''}`;
  let out = splice(text, eolAt, eolAt, line);
  if (!trailingComma) out = splice(out, valueEnd, valueEnd, ',');
  return { text: out };
}

/** Remove property `prop` of `object`: the exact reverse of {@link insertProperty}. */
function removeProperty(text: string, object: Node, prop: Node, hollow: string | undefined): string {
  const props = object.children ?? [];
  const index = props.indexOf(prop);
  const open = object.offset;
  const close = object.offset + object.length - 1;
  const start = prop.offset;
  const end = prop.offset + prop.length;
  if (props.length === 1 && hollow !== undefined) return splice(text, open + 1, close, hollow);
  const after = nextToken(text, end);
  const hasComma = after.kind === COMMA;
  const ownLine = text.slice(lineStart(text, start), start).trim() === '';
  const prevEnd =
    index > 0 ? (props[index - 1] as Node).offset + (props[index - 1] as Node).length : open + 1;
  if (!ownLine || lineStart(text, start) <= prevEnd) {
    // Inline: `, "key": value` (or `"key": value, ` when first).
    if (index > 0) {
      const comma = nextToken(text, prevEnd);
      return hasComma ? splice(text, comma.end, after.end, '') : splice(text, comma.offset, end, '');
    }
    return splice(text, start, hasComma ? nextNonSpace(text, after.end) : end, '');
  }
  // On its own line: drop the line break before it, the property, and its own comma.
  const from = lineStart(text, start) - (text[lineStart(text, start) - 2] === '\r' ? 2 : 1);
  const to = hasComma ? after.end : end;
  let out = splice(text, from, to, '');
  const last = index === props.length - 1;
  if (last && !hasComma && index > 0) {
    // We were the last one without a trailing comma: the comma before us was ours too.
    const comma = nextToken(out, prevEnd);
    if (comma.kind === COMMA) out = splice(out, comma.offset, comma.end, '');
  }
  return out;
}

function nextNonSpace(text: string, offset: number): number {
  let i = offset;
  while (text[i] === ' ') i += 1;
  return i;
}

function propertyNode(object: Node, key: string): Node | undefined {
  return object.children?.find((p) => p.children?.[0]?.value === key);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Deep equality of two documents everywhere except at `path` (our entry). A parent that is missing
 * on one side counts as an empty object: set may create `mcpServers`, undo removes it again.
 */
function equalOutside(a: unknown, b: unknown, path: readonly string[]): boolean {
  const [head, ...rest] = path;
  if (head === undefined) return true;
  if ((a !== undefined && !isObject(a)) || (b !== undefined && !isObject(b))) return isDeepStrictEqual(a, b);
  const left = a ?? {};
  const right = b ?? {};
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    if (key === head) {
      if (rest.length === 0) continue;
      if (!equalOutside(left[key], right[key], rest)) return false;
    } else if (!(key in left) || !(key in right) || !isDeepStrictEqual(left[key], right[key])) {
      return false;
    }
  }
  return true;
}

function entryOf(doc: Record<string, unknown>, serversKey: readonly string[], name: string): unknown {
  let node: unknown = doc;
  for (const key of [...serversKey, name]) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A parent key we would create must not collide with something that is not an object. */
function assertObjectPath(root: Node, path: readonly string[]): void {
  for (let i = 1; i <= path.length; i += 1) {
    const node = findNodeAtLocation(root, path.slice(0, i) as string[]);
    if (node && node.type !== 'object') {
      throw new GuardParseError(
        `"${path.slice(0, i).join('.')}" is not an object, so a server cannot be added under it`,
        1,
        1,
      );
    }
  }
}

function makeEditor(dialect: JsonDialect): FormatEditor {
  const strict = !dialect.comments && !dialect.trailingCommas;
  const parse = (text: string): Record<string, unknown> => {
    if (text.trim() === '') return {};
    if (strict) {
      // The native parser is several times faster; jsonc-parser only explains a failure.
      try {
        const value: unknown = JSON.parse(text);
        if (isObject(value)) return value;
      } catch (error) {
        parseStrictly(text, dialect);
        throw new GuardParseError((error as Error).message, 1, 1);
      }
    }
    const errors: ParseError[] = [];
    const value: unknown = parseJsonc(text, errors, {
      disallowComments: !dialect.comments,
      allowTrailingComma: dialect.trailingCommas,
      allowEmptyContent: true,
    });
    if (errors.length || !isObject(value)) parseStrictly(text, dialect);
    return value as Record<string, unknown>;
  };

  /** The safety net: the new text parses, reads back as written, and differs only in our entry. */
  const verify = (
    before: Record<string, unknown>,
    after: string,
    serversKey: readonly string[],
    name: string,
    want: unknown,
  ) => {
    const a = before;
    const b = parse(after);
    if (!equalOutside(a, b, [...serversKey, name])) {
      throw new Error('internal error: the edit would change more than the sphyr entry; nothing was written');
    }
    if (!isDeepStrictEqual(entryOf(b, serversKey, name), want)) {
      throw new Error('internal error: the edited entry does not read back as written; nothing was written');
    }
  };

  /** Validate the whole text, then build the nodes our edit needs. */
  const load = (text: string, target: readonly string[]) => {
    const doc = parse(text);
    return { doc, root: text.trim() === '' ? undefined : pathTree(text, target, dialect) };
  };

  const set: FormatEditor['set'] = (text, serversKey, name, value, style, options: SetOptions = {}) => {
    const target = [...serversKey, name];
    const { doc: before, root } = load(text, target);
    let out: string;
    const undo: EntryUndo = { previous: null };
    let want: unknown = value;
    if (!root) {
      undo.emptyDocument = text;
      const doc: Record<string, unknown> = {};
      let cursor = doc;
      for (const key of serversKey) {
        cursor[key] = {};
        cursor = cursor[key] as Record<string, unknown>;
      }
      cursor[name] = value;
      undo.createdKeys = [...serversKey];
      out = `${render(doc, 0, style)}${style.eol}`;
    } else {
      assertObjectPath(root, serversKey);
      const existing = findNodeAtLocation(root, [...serversKey, name]);
      if (existing) {
        undo.previous = text.slice(existing.offset, existing.offset + existing.length);
        if (options.only) {
          if (existing.type !== 'object')
            throw new GuardParseError(`the "${name}" entry is not an object`, 1, 1);
          out = text;
          const current = plainValue(existing) as Record<string, unknown>;
          want = { ...current };
          for (const key of options.only) {
            (want as Record<string, unknown>)[key] = value[key];
            const tree = pathTree(out, target, dialect) as Node;
            const entry = findNodeAtLocation(tree, [...serversKey, name]) as Node;
            const prop = propertyNode(entry, key);
            const node = prop?.children?.[1];
            // A one-line entry stays on one line.
            const inline = !(undo.previous as string).includes('\n');
            if (node) {
              const replacement = inline
                ? renderInline(value[key])
                : render(value[key], depthOf(node), style);
              out = splice(out, node.offset, node.offset + node.length, replacement);
            } else {
              out = insertProperty(out, entry, key, value[key], style).text;
            }
          }
        } else {
          out = splice(
            text,
            existing.offset,
            existing.offset + existing.length,
            render(value, depthOf(existing), style),
          );
        }
      } else {
        // Create missing parents from the innermost existing object outward.
        let depth = serversKey.length;
        while (depth > 0 && !findNodeAtLocation(root, serversKey.slice(0, depth) as string[])) depth -= 1;
        const parent =
          depth === 0 ? root : (findNodeAtLocation(root, serversKey.slice(0, depth) as string[]) as Node);
        const missing = serversKey.slice(depth);
        const key = missing[0] ?? name;
        const inner = missing
          .slice(1)
          .reduceRight<Record<string, unknown>>((acc, k) => ({ [k]: acc }), { [name]: value });
        if (missing.length > 0) undo.createdKeys = [...missing];
        const inserted = insertProperty(text, parent, key, missing.length > 0 ? inner : value, style);
        out = inserted.text;
        if (inserted.hollow !== undefined) undo.hollow = inserted.hollow;
      }
    }
    verify(before, out, serversKey, name, want);
    return { text: out, undo };
  };

  const undoSet: FormatEditor['undo'] = (text, serversKey, name, undo, _style) => {
    const { root } = load(text, [...serversKey, name]);
    if (!root) return text;
    const entry = findNodeAtLocation(root, [...serversKey, name]);
    if (!entry) return text; // already gone: nothing of ours to undo
    if (undo.previous !== null) {
      return splice(text, entry.offset, entry.offset + entry.length, undo.previous);
    }
    const created = undo.createdKeys ?? [];
    const servers = findNodeAtLocation(root, [...serversKey]) as Node;
    if (
      undo.emptyDocument !== undefined &&
      (root.children ?? []).length === 1 &&
      onlyChildChain(root, serversKey)
    ) {
      return undo.emptyDocument;
    }
    if (created.length > 0 && (servers.children ?? []).length === 1) {
      // The key we created holds nothing else now: remove it whole.
      const outerPath = serversKey.slice(0, serversKey.length - created.length);
      const outer = outerPath.length === 0 ? root : (findNodeAtLocation(root, [...outerPath]) as Node);
      const prop = propertyNode(outer, created[0] as string) as Node;
      return removeProperty(text, outer, prop, undo.hollow);
    }
    const prop = propertyNode(servers, name) as Node;
    return removeProperty(text, servers, prop, undo.hollow);
  };

  return { parse, set, undo: undoSet };
}

function onlyChildChain(root: Node, serversKey: readonly string[]): boolean {
  let node: Node | undefined = root;
  for (const key of serversKey) {
    if (!node || (node.children ?? []).length !== 1) return false;
    node = propertyNode(node, key)?.children?.[1];
  }
  return (node?.children ?? []).length === 1;
}

/** Strict JSON: Claude Desktop, Claude Code, Cursor, Windsurf, Antigravity… */
export const jsonEditor: FormatEditor = makeEditor({ comments: false, trailingCommas: false });
/** JSON with comments and trailing commas: VS Code's mcp.json, Zed's settings.json, opencode. */
export const jsoncEditor: FormatEditor = makeEditor({ comments: true, trailingCommas: true });
/** JSON with comments but no trailing commas: Gemini CLI (comments stripped, then JSON.parse). */
const commentsEditor: FormatEditor = makeEditor({ comments: true, trailingCommas: false });
const trailingEditor: FormatEditor = makeEditor({ comments: false, trailingCommas: true });

/** The editor for a client's JSON dialect. */
export function jsonEditorFor(dialect: JsonDialect): FormatEditor {
  if (dialect.comments) return dialect.trailingCommas ? jsoncEditor : commentsEditor;
  return dialect.trailingCommas ? trailingEditor : jsonEditor;
}
