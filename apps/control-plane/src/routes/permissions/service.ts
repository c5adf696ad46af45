import type { PrismaClient } from '@hubstream/db';
import { check } from '@hubstream/valve';
import { ApiError, notFound } from '../../errors.ts';
import type { AppChanges } from '../../lib/app-changes.ts';
import { audit } from '../../lib/audit.ts';
import type { Principal } from '../../plugins/auth.ts';

export type VersionRow = {
  id: string;
  version: number;
  source: string;
  format: string;
  author: string;
  template: string | null;
  createdAt: Date;
};

export const versionSummary = (v: VersionRow, activeId: string | null) => ({
  version: v.version,
  format: v.format,
  author: v.author,
  template: v.template,
  createdAt: v.createdAt.toISOString(),
  active: v.id === activeId,
});

export const versionView = (v: VersionRow, activeId: string | null) => ({
  ...versionSummary(v, activeId),
  valve: v.source,
});

/** JSON when the text is a JSON object, else YAML (JSON files are YAML too). */
export const formatOf = (text: string) => (/^\s*\{/.test(text) ? 'json' : 'yaml');

export function validate(text: string) {
  const report = check(text);
  if (!report.ok) {
    throw new ApiError(
      'INVALID_PERMISSIONS',
      `The permissions file has ${report.errors.length} error${report.errors.length === 1 ? '' : 's'}; nothing was changed.`,
      report.errors.map((e) => ({
        code: e.code,
        message: e.message,
        line: e.line,
        column: e.column,
        endLine: e.endLine,
        endColumn: e.endColumn,
        path: e.path,
      })),
    );
  }
  return report;
}

/** Stores a checked file as the next version and makes it the active one. */
export async function publishVersion(
  appChanges: AppChanges,
  appId: string,
  principal: Principal,
  text: string,
) {
  const report = validate(text);
  return appChanges.change(appId, 'permissions', async (tx) => {
    // Serialise uploads per app so version numbers never collide.
    await tx.$queryRaw`SELECT id FROM apps WHERE id = ${appId} FOR UPDATE`;
    const last = await tx.permissionVersion.findFirst({
      where: { appId },
      orderBy: { version: 'desc' },
      select: { version: true },
    });
    const created = await tx.permissionVersion.create({
      data: {
        appId,
        version: (last?.version ?? 0) + 1,
        source: text,
        format: formatOf(text),
        author: principal.kind === 'developer' ? principal.email : `api key ${principal.prefix}`,
        authorAccountId: principal.kind === 'developer' ? principal.accountId : null,
      },
    });
    await tx.app.update({ where: { id: appId }, data: { activePermissionVersionId: created.id } });
    await audit(tx, {
      appId,
      principal,
      action: 'permissions.published',
      target: `v${created.version}`,
      details: { version: created.version, ...report.stats },
    });
    return created;
  });
}

export async function activateVersion(
  prisma: PrismaClient,
  appChanges: AppChanges,
  appId: string,
  principal: Principal,
  version: number,
) {
  const found = await prisma.permissionVersion.findUnique({
    where: { appId_version: { appId, version } },
  });
  if (!found) throw notFound(`Permissions version ${version}`);
  // Limits may have tightened since it was stored: check it again.
  validate(found.source);
  await appChanges.change(appId, 'permissions', async (tx) => {
    await tx.app.update({ where: { id: appId }, data: { activePermissionVersionId: found.id } });
    await audit(tx, {
      appId,
      principal,
      action: 'permissions.activated',
      target: `v${version}`,
      details: { version },
    });
  });
  return found;
}

export const findVersionById = (prisma: PrismaClient, id: string) =>
  prisma.permissionVersion.findUniqueOrThrow({ where: { id } });

/** One stored version, or null. */
export const findVersion = (prisma: PrismaClient, appId: string, version: number) =>
  prisma.permissionVersion.findUnique({ where: { appId_version: { appId, version } } });

/** Every stored version, newest first. */
export const listVersions = (prisma: PrismaClient, appId: string) =>
  prisma.permissionVersion.findMany({ where: { appId }, orderBy: { version: 'desc' } });
