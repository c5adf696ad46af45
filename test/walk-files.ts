import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files under `dir` (absolute paths) whose name matches `match`, not
 * declaration files, skipping directories named in `skip` and, with
 * `skipDotted`, any name starting with a dot. A missing `dir` has none.
 * The repository-level tests walk the tree with this one function.
 */
export function walkFiles(
  dir: string,
  options: { skip: ReadonlySet<string>; match: RegExp; skipDotted?: boolean },
  out: string[] = [],
): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (options.skip.has(entry.name)) continue;
    if (options.skipDotted && entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walkFiles(path, options, out);
    else if (options.match.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}
