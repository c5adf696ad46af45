import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { walkFiles } from './walk-files.ts';

// The import graph of the workspace's own sources (apps/*/src and
// packages/*/src), read with the TypeScript compiler's own pre-processor and
// module resolution: the same `@hubstream/source` condition and NodeNext
// rules the typecheck uses, so `@hubstream/cluster` leads to
// packages/cluster/src/index.ts as it does for tsc. Every import counts,
// type-only ones included: `import type` is erased at run time, but a type
// cycle still means neither module can be read, changed or moved without the
// other, which is what layering is for.

const ROOT = resolve(import.meta.dirname, '..');

/** Generated code (the Prisma client) is not ours to layer. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'generated']);

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  customConditions: ['@hubstream/source'],
  allowImportingTsExtensions: true,
  resolveJsonModule: true,
  jsx: ts.JsxEmit.ReactJSX,
};

const sourceFiles = (dir: string, out: string[]) =>
  walkFiles(dir, { skip: SKIPPED_DIRS, match: /\.tsx?$/ }, out);

/** Every source file of apps/*\/src and packages/*\/src, absolute. */
export function workspaceSources(): string[] {
  const files: string[] = [];
  for (const group of ['apps', 'packages']) {
    for (const entry of readdirSync(join(ROOT, group), { withFileTypes: true })) {
      if (entry.isDirectory()) sourceFiles(join(ROOT, group, entry.name, 'src'), files);
    }
  }
  return files.sort();
}

export type ImportGraph = Map<string, Set<string>>;

/**
 * File -> the workspace source files it imports (paths relative to the
 * repository root). Imports that resolve outside the sources (node_modules,
 * node:*) or not at all are left out: they cannot close a cycle of ours.
 */
export function importGraph(files: string[] = workspaceSources()): ImportGraph {
  const inGraph = new Set(files);
  const host = ts.sys;
  const cache = ts.createModuleResolutionCache(ROOT, (name) => name, COMPILER_OPTIONS);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const edges = new Set<string>();
    for (const { fileName } of info.importedFiles) {
      const resolved = ts.resolveModuleName(
        fileName,
        file,
        COMPILER_OPTIONS,
        host,
        cache,
        undefined,
        ts.ModuleKind.ESNext,
      ).resolvedModule;
      if (!resolved) continue;
      const target = resolve(resolved.resolvedFileName);
      if (inGraph.has(target) && target !== file) edges.add(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), edges);
  }
  return graph;
}

/**
 * The graph's strongly connected components of more than one file (Tarjan's
 * algorithm, iterative): each is a set of files that import each other,
 * directly or through the others.
 */
export function cycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; edges: Iterator<string> }[] = [];
    const visit = (node: string) => {
      index.set(node, next);
      low.set(node, next);
      next++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, edges: (graph.get(node) ?? new Set()).values() });
    };
    visit(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const step = top.edges.next();
      if (!step.done) {
        const to = step.value;
        if (!index.has(to)) visit(to);
        else if (onStack.has(to)) low.set(top.node, Math.min(low.get(top.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) !== index.get(top.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== top.node);
      if (component.length > 1) found.push(component.sort());
    }
  }
  return found;
}

/** One shortest path from `from` back to itself inside `component`, to show in a failure. */
export function loopThrough(graph: ImportGraph, component: string[], from: string): string[] {
  const members = new Set(component);
  const previous = new Map<string, string>();
  const queue = [from];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === from) {
        const path = [from];
        for (let at = node; at !== from; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, from];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [from];
}
