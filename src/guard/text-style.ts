/** @module How an existing file is written (BOM, line endings, indentation), so our edit matches it. */

import type { TextStyle } from './format-editor.js';

const BOM = '\uFEFF';

export interface FileText {
  bom: boolean;
  /** The text without its BOM. */
  body: string;
  style: TextStyle;
}

export function readStyle(raw: string): FileText {
  const bom = raw.startsWith(BOM);
  const body = bom ? raw.slice(1) : raw;
  const eol = /\r\n/.test(body) && !/(^|[^\r])\n/.test(body.replace(/\r\n/g, '')) ? '\r\n' : '\n';
  const indented = body.split(/\r?\n/).find((line) => /^[ \t]+\S/.test(line));
  const lead = indented?.match(/^[ \t]+/)?.[0] ?? '  ';
  const indent = lead.startsWith('\t') ? '\t' : ' '.repeat(Math.min(lead.length, 8));
  return { bom, body, style: { eol, indent } };
}

export function withBom(file: FileText, body: string): string {
  return file.bom ? BOM + body : body;
}
