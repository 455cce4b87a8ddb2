import type { ConfigFormat } from '../../clients/types.js';
import type { FormatEditor } from './format-editor.js';
import { jsoncEditor, jsonEditor } from './json-editor.js';
import { tomlEditor } from './toml-editor.js';

export function editorFor(format: ConfigFormat): FormatEditor {
  if (format === 'toml') return tomlEditor;
  return format === 'jsonc' ? jsoncEditor : jsonEditor;
}
