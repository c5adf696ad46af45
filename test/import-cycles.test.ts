import { describe, expect, it } from 'vitest';
import { cycles, type ImportGraph, importGraph, loopThrough } from './import-graph.ts';

// No import cycle in apps/*/src or packages/*/src (issue 16): a layer imports
// only the layers below it. Type-only imports count (import-graph.ts says why).

const describeCycles = (graph: ImportGraph, found: string[][]) =>
  found.map((component) => {
    const loop = loopThrough(graph, component, component[0]!);
    return `${component.length} files, e.g. ${loop.join(' -> ')}\n    ${component.join('\n    ')}`;
  });

describe('import cycles', () => {
  it('the checker finds a cycle, and only a cycle', () => {
    const graph: ImportGraph = new Map([
      ['a.ts', new Set(['b.ts'])],
      ['b.ts', new Set(['c.ts'])],
      ['c.ts', new Set(['a.ts', 'd.ts'])],
      ['d.ts', new Set(['e.ts'])],
      ['e.ts', new Set<string>()],
    ]);
    const found = cycles(graph);
    expect(found).toEqual([['a.ts', 'b.ts', 'c.ts']]);
    expect(loopThrough(graph, found[0]!, 'a.ts')).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts']);
    graph.set('c.ts', new Set(['d.ts']));
    expect(cycles(graph)).toEqual([]);
  });

  it('resolves relative, type-only and workspace-package imports', () => {
    const graph = importGraph();
    // A type-only import (realtime's core reads its Config type from the package).
    const edges = [...graph.values()].flatMap((to) => [...to]);
    expect(edges).toContain('packages/config/src/index.ts');
    expect(graph.size).toBeGreaterThan(100);
  });

  it('no source file of an app or a package is part of an import cycle', () => {
    const graph = importGraph();
    expect(describeCycles(graph, cycles(graph))).toEqual([]);
  });
});
