// A line diff (longest common subsequence) for comparing permission versions.
// Valve files are small (at most a few thousand lines), so O(n·m) is fine.

export type DiffLine = {
  kind: 'same' | 'added' | 'removed';
  text: string;
  old?: number;
  new?: number;
};

export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] =
        a[i] === b[j]
          ? (lcs[at(i + 1, j + 1)] ?? 0) + 1
          : Math.max(lcs[at(i + 1, j)] ?? 0, lcs[at(i, j + 1)] ?? 0);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i] ?? '', old: i + 1, new: j + 1 });
      i++;
      j++;
    } else if (i < n && (j >= m || (lcs[at(i + 1, j)] ?? 0) >= (lcs[at(i, j + 1)] ?? 0))) {
      // On a tie the removal comes first, as in unified diffs.
      out.push({ kind: 'removed', text: a[i] ?? '', old: i + 1 });
      i++;
    } else {
      out.push({ kind: 'added', text: b[j] ?? '', new: j + 1 });
      j++;
    }
  }
  return out;
}
