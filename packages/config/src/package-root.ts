import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of the package a module belongs to: the nearest one above
 * it with a package.json. Files a package reads at run time (its built
 * dashboard, its migrations) are found from here, not relative to the
 * module, because the build bundles a package's modules into whichever of
 * its dist/ files (or shared chunks) import them, at other depths than in
 * src/.
 */
export function packageRoot(moduleUrl: string): string {
  const start = path.dirname(fileURLToPath(moduleUrl));
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}
