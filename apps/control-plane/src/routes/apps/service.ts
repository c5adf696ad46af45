import { appRealtimeUrl, type Config } from '@hubstream/config';
import type { App, PrismaClient } from '@hubstream/db';
import { check, isTemplateName, TEMPLATES, type TemplateName } from '@hubstream/valve';
import { audit } from '../../lib/audit.ts';
import { randomId } from '../../lib/ids.ts';
import type { Developer } from '../../plugins/auth.ts';
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
