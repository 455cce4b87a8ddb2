/**
 * @module The contract between the guard engine and a file format (JSON/JSONC, TOML): parse the
 * whole file, set one server entry, and undo exactly that set later. Every editor keeps every byte
 * outside the entry it was asked to change.
 */

/** How the existing file is written; new text follows it. */
export interface TextStyle {
  eol: '\n' | '\r\n';
  /** One level of indentation as found in the file: '  ', '    ' or '\t'. */
  indent: string;
}

/**
 * What `set` did, kept in the guard state file so `undo` can reverse it byte for byte, even after
 * the user or the client edited other parts of the file. JSON-serializable; fields are editor-specific.
 */
export interface EntryUndo {
  /** Raw text of the entry before (the value for JSON, the table block for TOML); null if there was none. */
  previous: string | null;
  /** Keys of the servers path that `set` had to create (e.g. `mcpServers` in `{}`), outermost first. */
  createdKeys?: string[];
  /** Text inserted before a new TOML block (blank line), removed again with it. */
  separator?: string;
  /** The whole file before, when it held no document at all (empty or whitespace). */
  emptyDocument?: string;
  /** What stood between the braces of an object we filled, e.g. `{}` or `{ }`. */
  hollow?: string;
}

export interface SetOptions {
  /** Update only these keys of an existing entry (e.g. command and args), keeping its other fields and comments. */
  only?: readonly string[];
}

export interface FormatEditor {
  /**
   * The whole document. Empty or whitespace-only text is an empty document `{}`. Throws
   * `GuardParseError` (src/guard/errors.ts) with line and column on any syntax error.
   */
  parse(text: string): Record<string, unknown>;
  /** `text` with servers[name] set to `value` (replaced whole unless `only`); nothing else changes. */
  set(
    text: string,
    serversKey: readonly string[],
    name: string,
    value: Record<string, unknown>,
    style: TextStyle,
    options?: SetOptions,
  ): { text: string; undo: EntryUndo };
  /** Reverse one `set`: put `undo.previous` back (or remove the entry and what set created). */
  undo(text: string, serversKey: readonly string[], name: string, undo: EntryUndo, style: TextStyle): string;
}
