import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// Module hooks (node:module register) for the bench's processes only; see
// protobuf-interop.ts for why. @deepstream/protobuf's generated module is
// CommonJS that fills `module.exports` at run time, so Node's ESM loader
// finds no named exports in it and `import * as generated` holds only
// `default`. This serves the same CommonJS module (the very instance
// `require` returns) as an ES module with every export named.

const GENERATED = '/@deepstream/protobuf/dist/generated/protobuf.js';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith(GENERATED)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const names = Object.keys(createRequire(url)(path)).filter(
    (name) => IDENTIFIER.test(name) && name !== 'default',
  );
  const source = [
    "import { createRequire } from 'node:module';",
    `const cjs = createRequire(${JSON.stringify(url)})(${JSON.stringify(path)});`,
    'export default cjs;',
    `export const { ${names.join(', ')} } = cjs;`,
  ].join('\n');
  return { format: 'module', source, shortCircuit: true };
}
