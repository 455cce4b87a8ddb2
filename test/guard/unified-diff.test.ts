import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../src/guard/unified-diff.js';
import { tempDir } from '../helpers/temp.js';

describe('unifiedDiff', () => {
  it('shows an added entry with three lines of context', () => {
    const before = '{\n  "a": 1,\n  "b": 2,\n  "c": 3,\n  "d": 4\n}\n';
    const after = '{\n  "a": 1,\n  "b": 2,\n  "c": 3,\n  "d": 4,\n  "sphyr": {}\n}\n';
    expect(unifiedDiff('f.json', before, after, ['(current)', '(after)'])).toBe(
      '--- f.json\t(current)\n+++ f.json\t(after)\n@@ -2,5 +2,6 @@\n   "a": 1,\n   "b": 2,\n   "c": 3,\n-  "d": 4\n+  "d": 4,\n+  "sphyr": {}\n }\n',
    );
    expect(unifiedDiff('f', 'same\n', 'same\n', ['a', 'b'])).toBe('');
  });

  it('is a patch that GNU patch applies to give the new text, for generated edits', async () => {
    const dir = await tempDir('sphyr-diff-');
    const line = fc.constantFrom('a', 'b', 'c', '{', '}', '  "x": 1,', '', '// note');
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 30 }),
        fc.array(line, { maxLength: 30 }),
        fc.boolean(),
        fc.boolean(),
        async (x, y, endA, endB) => {
          const before = x.join('\n') + (endA && x.length ? '\n' : '');
          const after = y.join('\n') + (endB && y.length ? '\n' : '');
          const diff = unifiedDiff('file.txt', before, after, ['a', 'b']);
          if (before === after) {
            expect(diff).toBe('');
            return;
          }
          const file = path.join(dir, 'file.txt');
          await writeFile(file, before);
          await writeFile(path.join(dir, 'p.diff'), diff);
          execFileSync('patch', ['-s', '-f', file, path.join(dir, 'p.diff')], { stdio: 'pipe' });
          expect(await readFile(file, 'utf8')).toBe(after);
        },
      ),
      { numRuns: 150 },
    );
  });
});
