import { PURGE_APP_JOB } from '@hubstream/jobs';
import type { FastifyBaseLogger } from 'fastify';
import type { RouteContext } from '../../context.ts';
import { audit } from '../../lib/audit.ts';
import type { Developer } from '../../plugins/auth.ts';

/**
 * Deletes the account with the organisations it owns and their apps, in one transaction that also
 * records each app's "deleted" announcement (lib/app-changes.ts); after the
 * commit the realtime nodes are told and the worker is asked to purge what
 * the apps left in Redis. Resolves to the apps deleted.
 */
export async function deleteAccount(
  context: Pick<RouteContext, 'appChanges' | 'db' | 'jobs'>,
  developer: Developer,
  log: FastifyBaseLogger,
) {
  const { prisma } = context.db;
  // The organisations the account owns go with it, with their apps (its
  // own, and teams it did not hand over); apps it made in organisations
  // others own stay theirs.
  const owned = {
    memberships: { some: { accountId: developer.accountId, role: 'owner' as const } },
  };
  const apps = await prisma.$transaction(async (tx) => {
    const apps = await tx.app.findMany({
      where: { organisation: owned },
      select: { id: true, name: true },
    });
    for (const found of apps) {
      await audit(tx, {
        appId: null,
        principal: developer,
        action: 'app.deleted',
        target: found.id,
        details: { name: found.name, reason: 'account deleted' },
      });
    }
    await audit(tx, {
      appId: null,
      principal: developer,
      action: 'account.deleted',
      target: developer.accountId,
      details: { apps: apps.length },
    });
    // The apps' users, keys, rules and records go with them (foreign
    // key cascades); the account's sessions and mailed links with it.
    await tx.app.deleteMany({ where: { organisation: owned } });
    await tx.organisation.deleteMany({ where: owned });
    await tx.account.delete({ where: { id: developer.accountId } });
    for (const found of apps) await context.appChanges.record(tx, found.id, 'deleted');
    return apps;
  });
  // Committed: the realtime nodes drop the apps and their clients (a failed
  // announcement is retried), and the worker purges what they left in
  // Redis. A failure here leaves the deletion standing: logged, not answered.
  await context.appChanges.flush();
  for (const found of apps) {
    await context.jobs.enqueue(PURGE_APP_JOB, { appId: found.id }).catch((error: unknown) => {
      log.error({ err: error, app: found.id }, 'could not queue the purge of a deleted app');
    });
  }
  return apps;
}
