import { describe, expect, it } from 'vitest';
import type { PresenceRegistry } from '../src/index.ts';

export function presenceRegistryContract(name: string, make: () => Promise<PresenceRegistry>) {
  describe(`${name} presence registry contract`, () => {
    it('reports coming online once and going offline once, per app', async () => {
      const registry = await make();
      try {
        expect(await registry.join('app1', 'ann')).toBe(true);
        expect(await registry.join('app1', 'ann')).toBe(false);
        expect(await registry.join('app1', 'bob')).toBe(true);
        expect(await registry.join('app2', 'ann')).toBe(true);
        expect((await registry.online('app1')).sort()).toEqual(['ann', 'bob']);
        expect(await registry.areOnline('app1', ['ann', 'carl'])).toEqual([true, false]);
        expect(await registry.leave('app1', 'ann')).toBe(true);
        expect(await registry.leave('app1', 'ann')).toBe(false);
        expect(await registry.online('app1')).toEqual(['bob']);
        expect(await registry.online('app2')).toEqual(['ann']);
        expect(await registry.areOnline('app1', [])).toEqual([]);
      } finally {
        await registry.close();
      }
    });
  });
}
