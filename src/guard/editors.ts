import type { ConfigFormat } from '../../clients/types.js';
import type { FormatEditor } from './format-editor.js';
import { jsoncEditor, jsonEditor } from './json-editor.js';

/** The editor for a format; TOML's (and its parser) load only when a TOML file is edited. */
export async function editorFor(format: ConfigFormat): Promise<FormatEditor> {
  if (format === 'toml') return (await import('./toml-editor.js')).tomlEditor;
  return format === 'jsonc' ? jsoncEditor : jsonEditor;
}
