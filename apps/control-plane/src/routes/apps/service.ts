import { appRealtimeUrl, type Config } from '@hubstream/config';
import type { App, PrismaClient } from '@hubstream/db';
import { PURGE_APP_JOB } from '@hubstream/jobs';
import { check, isTemplateName, TEMPLATES, type TemplateName } from '@hubstream/valve';
import type { FastifyBaseLogger } from 'fastify';
import type { RouteContext } from '../../context.ts';
import { audit } from '../../lib/audit.ts';
import { randomId } from '../../lib/ids.ts';
import type { Developer, Principal } from '../../plugins/auth.ts';
import { organisationForNewApp } from '../orgs/service.ts';

export const APP_ID_LENGTH = 12;

type AppWithVersion = App & {
  activePermissionVersion: { version: number; template: string | null } | null;
};

export const appInclude = {
  activePermissionVersion: { select: { version: true, template: true } },
} as const;

export function appView(config: Config, app: AppWithVersion) {
  const template = app.activePermissionVersion?.template;
  return {
    id: app.id,
    name: app.name,
    organisationId: app.organisationId,
    url: appRealtimeUrl(config, app.id),
    activePermissionVersion: app.activePermissionVersion?.version ?? null,
    activePermissionTemplate: isTemplateName(template) ? template : null,
    createdAt: app.createdAt.toISOString(),
    updatedAt: app.updatedAt.toISOString(),
  };
}

/**
 * A new app starts with open auth on and, unless a starter template is
 * chosen, no rules of its own (so everything is denied). A template becomes
 * its permissions version 1, active at once.
 */
export async function createApp(
  prisma: PrismaClient,
  developer: Developer,
  name: string,
  template?: TemplateName,
  /** Where the app goes: the caller's own organisation unless another is named (routes/orgs). */
  organisationId?: string,
) {
  const organisation = await organisationForNewApp(prisma, developer, organisationId);
  return prisma.$transaction(async (tx) => {
    const created = await tx.app.create({
      data: {
        id: randomId(APP_ID_LENGTH),
        organisationId: organisation,
        accountId: developer.accountId,
        name: name.trim(),
        authSettings: { create: {} },
      },
    });
    await audit(tx, {
      appId: created.id,
      principal: developer,
      action: 'app.created',
      target: created.id,
      details: {
        name: created.name,
        organisationId: organisation,
        ...(template ? { template } : {}),
      },
    });
    if (template) {
      const source = TEMPLATES[template].valve;
      const { stats } = check(source);
      const version = await tx.permissionVersion.create({
        data: {
          appId: created.id,
          version: 1,
          source,
          format: 'yaml',
          template,
          author: developer.email,
          authorAccountId: developer.accountId,
        },
      });
      await tx.app.update({
        where: { id: created.id },
        data: { activePermissionVersionId: version.id },
      });
      await audit(tx, {
        appId: created.id,
        principal: developer,
        action: 'permissions.published',
        target: 'v1',
        details: { version: 1, template, ...stats },
      });
    }
    return tx.app.findUniqueOrThrow({ where: { id: created.id }, include: appInclude });
  });
}

/** The apps of every organisation the developer is a member of, oldest first. */
export const listApps = (prisma: PrismaClient, developer: Developer) =>
  prisma.app.findMany({
    where: { organisation: { memberships: { some: { accountId: developer.accountId } } } },
    include: appInclude,
    orderBy: { createdAt: 'asc' },
  });

/** The app with its active permissions version. */
export const getApp = (prisma: PrismaClient, appId: string) =>
  prisma.app.findUniqueOrThrow({ where: { id: appId }, include: appInclude });

export async function renameApp(
  prisma: PrismaClient,
  app: App,
  principal: Principal,
  name: string,
) {
  const trimmed = name.trim();
  const updated = await prisma.app.update({
    where: { id: app.id },
    data: { name: trimmed },
    include: appInclude,
  });
  await audit(prisma, {
    appId: app.id,
    principal,
    action: 'app.renamed',
    target: app.id,
    details: { from: app.name, to: trimmed },
  });
  return updated;
}

/**
 * Deletes the app with its users, keys, rules and records (foreign key
 * cascades), audited and announced with the change; then queues the purge
 * of what the app left in Redis.
 */
export async function deleteApp(
  context: Pick<RouteContext, 'appChanges' | 'jobs'>,
  app: App,
  principal: Principal,
  log: FastifyBaseLogger,
) {
  await context.appChanges.change(app.id, 'deleted', async (tx) => {
    await tx.app.delete({ where: { id: app.id } });
    await audit(tx, {
      appId: null,
      principal,
      action: 'app.deleted',
      target: app.id,
      details: { name: app.name },
    });
  });
  // The rows are gone (committed), so the deletion stands even if the
  // purge of what the app left in Redis cannot be queued: say so loudly.
  await context.jobs.enqueue(PURGE_APP_JOB, { appId: app.id }).catch((error: unknown) => {
    log.error({ err: error, app: app.id }, 'could not queue the purge of a deleted app');
  });
}
