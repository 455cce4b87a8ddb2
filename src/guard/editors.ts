import type { ClientAdapter } from '../../clients/types.js';
import { GuardParseError } from './errors.js';
import type { FormatEditor } from './format-editor.js';
import { jsonEditorFor } from './json-editor.js';
import { type FileText, readStyle } from './text-style.js';

/** The editor for a client's file, in its own dialect; TOML's (and its parser) load only when needed. */
export async function editorFor(client: Pick<ClientAdapter, 'format' | 'dialect'>): Promise<FormatEditor> {
  if (client.format === 'toml') return (await import('./toml-editor.js')).tomlEditor;
  return jsonEditorFor(client.dialect);
}

/**
 * Read a config file's text as its client would: a BOM only if the client skips one, then the
 * document in the client's dialect. Throws GuardParseError (line, column) on anything it refuses.
 */
export async function readConfig(
  client: Pick<ClientAdapter, 'format' | 'dialect' | 'displayName'>,
  raw: string,
): Promise<{ file: FileText; doc: Record<string, unknown>; editor: FormatEditor }> {
  const file = readStyle(raw);
  if (file.bom && !client.dialect.bom) {
    throw new GuardParseError(
      `it starts with a UTF-8 byte order mark (BOM), which ${client.displayName} refuses: save it as UTF-8 without a BOM`,
      1,
      1,
    );
  }
  const editor = await editorFor(client);
  return { file, doc: editor.parse(file.body), editor };
}
