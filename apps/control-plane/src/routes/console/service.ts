import type { PrismaClient } from '@hubstream/db';
import { authorizeApp } from '../../plugins/app-access.ts';
import type { Principal } from '../../plugins/auth.ts';
import { ruleLine } from './rule-lines.ts';

// What the live console reads from the database: each app's active rules,
// for the line a denial came from, and whether a stream's caller may still
// watch.

/** Apps whose active rules are kept in memory; the least recently used go first. */
const MAX_CACHED = 200;
/** How long a cached "active version" is trusted before it is asked again. */
const RECHECK_MS = 5_000;

/** ruleLine over each app's active rules, read from the database and cached per version. */
export function activeRuleLines(prisma: PrismaClient) {
  const cache = new Map<string, { checkedAt: number; versionId: string | null; source: string }>();
  return async (
    appId: string,
    rule: { section: string; pattern: string | null; type: string },
  ): Promise<number | null> => {
    let entry = cache.get(appId);
    if (!entry || Date.now() - entry.checkedAt > RECHECK_MS) {
      const app = await prisma.app.findUnique({
        where: { id: appId },
        select: { activePermissionVersionId: true },
      });
      const versionId = app?.activePermissionVersionId ?? null;
      let source = entry?.versionId === versionId ? entry.source : '';
      if (versionId !== null && entry?.versionId !== versionId) {
        const version = await prisma.permissionVersion.findUnique({
          where: { id: versionId },
          select: { source: true },
        });
        source = version?.source ?? '';
      }
      entry = { checkedAt: Date.now(), versionId, source };
      cache.delete(appId);
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(appId, entry);
    }
    return ruleLine(entry.source, rule.section, rule.pattern, rule.type);
  };
}

/** Whether the stream's caller may still watch the app (session alive, access kept). */
export async function stillAllowed(
  prisma: PrismaClient,
  principal: Principal,
  appId: string,
): Promise<boolean> {
  if (principal.kind === 'developer') {
    const session = await prisma.session.findUnique({ where: { id: principal.sessionId } });
    if (!session || session.expiresAt.getTime() <= Date.now()) return false;
  }
  const app = await prisma.app.findUnique({ where: { id: appId } });
  if (!app) return false;
  return authorizeApp(principal, app, 'data:read', prisma).then(
    () => true,
    () => false,
  );
}
