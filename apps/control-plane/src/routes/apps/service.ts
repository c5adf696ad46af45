import { appRealtimeUrl, type Config } from '@hubstream/config';
import type { App, PrismaClient } from '@hubstream/db';
import { audit } from '../../lib/audit.ts';
import { randomId } from '../../lib/ids.ts';
import type { Developer } from '../../plugins/auth.ts';

export const APP_ID_LENGTH = 12;

type AppWithVersion = App & { activePermissionVersion: { version: number } | null };

export const appInclude = { activePermissionVersion: { select: { version: true } } } as const;

export function appView(config: Config, app: AppWithVersion) {
  return {
    id: app.id,
    name: app.name,
    url: appRealtimeUrl(config, app.id),
    activePermissionVersion: app.activePermissionVersion?.version ?? null,
    createdAt: app.createdAt.toISOString(),
    updatedAt: app.updatedAt.toISOString(),
  };
}

/** A new app starts with open auth on and no rules of its own. */
export async function createApp(prisma: PrismaClient, developer: Developer, name: string) {
  return prisma.$transaction(async (tx) => {
    const app = await tx.app.create({
      data: {
        id: randomId(APP_ID_LENGTH),
        accountId: developer.accountId,
        name: name.trim(),
        authSettings: { create: {} },
      },
      include: appInclude,
    });
    await audit(tx, {
      appId: app.id,
      principal: developer,
      action: 'app.created',
      target: app.id,
      details: { name: app.name },
    });
    return app;
  });
}
