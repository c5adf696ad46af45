import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

// The accessibility and layout checks of the dashboard's end-to-end tests
// (console, pages, team): axe-core run in the page, "does the page scroll
// sideways", and the two looks every page is checked in: the light theme at
// 1280 px and the dark theme at 390 px (a phone). Pages under test need a
// browser context with `bypassCSP: true`: their CSP runs only their own
// scripts, and axe-core is injected.

/** A serious or critical axe-core violation, as the tests print it. */
export type Violation = { id: string; impact: string; help: string; nodes: string[] };

/** One way a page is looked at: the colour scheme and the viewport. */
export type Look = { scheme: 'light' | 'dark'; width: number; height: number };

export const LOOKS: readonly Look[] = [
  { scheme: 'light', width: 1280, height: 900 },
  { scheme: 'dark', width: 390, height: 844 },
];

/**
 * Runs `check` once per look, after setting that look on every page of
 * `pages` (a test looking at the same screen as several people sets it on
 * all of them).
 */
export async function inEachLook(
  pages: readonly Page[],
  check: (look: Look) => Promise<void>,
): Promise<void> {
  for (const look of LOOKS) {
    for (const page of pages) {
      await page.emulateMedia({ colorScheme: look.scheme });
      await page.setViewportSize({ width: look.width, height: look.height });
    }
    await check(look);
  }
}

let axeSource: Promise<string> | undefined;

/** The serious and critical axe-core violations of what `page` shows now. */
export async function axe(page: Page): Promise<Violation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.addScriptTag({ content: await axeSource });
  return page.evaluate(async () => {
    type Axe = {
      run(
        context: Document,
        options: object,
      ): Promise<{
        violations: {
          id: string;
          impact: string | null;
          help: string;
          nodes: { target: string[] }[];
        }[];
      }>;
    };
    const { axe } = window as unknown as { axe: Axe };
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact ?? '',
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
}

/**
 * Empty when the page is no wider than the screen; else the elements that
 * stick out past its right edge (up to ten; wide tables, code and editors
 * scroll in their own box and are left out of the list) and a last line
 * saying the page is wider than the screen.
 */
export function sideways(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    document.documentElement.scrollWidth > window.innerWidth
      ? [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
          .filter(
            (e) => !e.closest('pre, .table-wrap, .cm-editor') && !e.matches('.visually-hidden'),
          )
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)
          .slice(0, 10)
          .concat(['(the page is wider than the screen)'])
      : [],
  );
}
