/**
 * @module A unified diff of two texts, for `guard init --dry-run`. Config edits change one small
 * region, so the common head and tail are trimmed first and only the middle is compared (LCS);
 * a middle too large to compare is shown as removed-then-added, which is still a correct diff.
 */

const CONTEXT = 3;
const MAX_LCS_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string; lastA?: boolean; lastB?: boolean };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function middleOps(a: string[], b: string[]): Op[] {
  if (a.length * b.length > MAX_LCS_CELLS) {
    return [
      ...a.map((line) => ({ kind: '-' as const, line })),
      ...b.map((line) => ({ kind: '+' as const, line })),
    ];
  }
  // lengths[i][j] = LCS of a[i..] and b[j..]
  const lengths = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      const row = lengths[i] as Uint32Array;
      const below = lengths[i + 1] as Uint32Array;
      row[j] =
        a[i] === b[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] as string });
      i += 1;
      j += 1;
    } else if (
      ((lengths[i + 1] as Uint32Array)[j] as number) >= ((lengths[i] as Uint32Array)[j + 1] as number)
    ) {
      ops.push({ kind: '-', line: a[i] as string });
      i += 1;
    } else {
      ops.push({ kind: '+', line: b[j] as string });
      j += 1;
    }
  }
  while (i < a.length) ops.push({ kind: '-', line: a[i++] as string });
  while (j < b.length) ops.push({ kind: '+', line: b[j++] as string });
  return ops;
}

function lineOps(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail += 1;
  }
  const same = (lines: string[]) => lines.map((line) => ({ kind: ' ' as const, line }));
  return [
    ...same(a.slice(0, head)),
    ...middleOps(a.slice(head, a.length - tail), b.slice(head, b.length - tail)),
    ...same(a.slice(a.length - tail)),
  ];
}

function range(start: number, count: number): string {
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/** `--- a` / `+++ b` and @@ hunks with three lines of context; '' when the texts are equal. */
export function unifiedDiff(
  fileName: string,
  before: string,
  after: string,
  labels: [string, string],
): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const ops: Op[] = [];
  // Mark the ops holding each side's last line, for the "no newline" marker after them; a line
  // that differs only in that ending becomes a change, so patch gets the ending right.
  let seenA = 0;
  let seenB = 0;
  for (const op of lineOps(a, b)) {
    if (op.kind !== '+' && ++seenA === a.length && !before.endsWith('\n')) op.lastA = true;
    if (op.kind !== '-' && ++seenB === b.length && !after.endsWith('\n')) op.lastB = true;
    if (op.kind === ' ' && Boolean(op.lastA) !== Boolean(op.lastB)) {
      ops.push({ kind: '-', line: op.line, lastA: op.lastA }, { kind: '+', line: op.line, lastB: op.lastB });
    } else {
      ops.push(op);
    }
  }
  const out = [`--- ${fileName}\t${labels[0]}`, `+++ ${fileName}\t${labels[1]}`];
  let index = 0;
  let lineA = 1;
  let lineB = 1;
  while (index < ops.length) {
    // Find the next change and open a hunk CONTEXT lines before it.
    let next = index;
    while (next < ops.length && (ops[next] as Op).kind === ' ') next += 1;
    if (next === ops.length) break;
    const start = Math.max(index, next - CONTEXT);
    lineA += start - index;
    lineB += start - index;
    let end = next;
    let quiet = 0;
    while (end < ops.length && quiet <= 2 * CONTEXT) {
      quiet = (ops[end] as Op).kind === ' ' ? quiet + 1 : 0;
      end += 1;
    }
    end -= Math.max(0, quiet - CONTEXT);
    const hunk = ops.slice(start, end);
    const countA = hunk.filter((o) => o.kind !== '+').length;
    const countB = hunk.filter((o) => o.kind !== '-').length;
    out.push(
      `@@ -${range(countA ? lineA : lineA - 1, countA)} +${range(countB ? lineB : lineB - 1, countB)} @@`,
    );
    for (const op of hunk) {
      out.push(`${op.kind}${op.line}`);
      if ((op.kind !== '+' && op.lastA) || (op.kind !== '-' && op.lastB))
        out.push('\\ No newline at end of file');
    }
    lineA += countA;
    lineB += countB;
    index = end;
  }
  return `${out.join('\n')}\n`;
}
