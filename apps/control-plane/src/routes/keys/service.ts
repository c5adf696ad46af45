import type { Prisma, PrismaClient } from '@hubstream/db';
import { API_KEY_PREFIX } from '../../context.ts';
import { notFound } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { randomId } from '../../lib/ids.ts';
import { randomToken, sha256 } from '../../lib/secrets.ts';
import type { Principal } from '../../plugins/auth.ts';

/** A new key, stored as its SHA-256; `key` is the only copy of the secret. */
export async function createKey(
  prisma: PrismaClient,
  appId: string,
  principal: Principal,
  input: {
    name: string;
    scopes: string[];
    userId: string | null;
    serverData: Record<string, unknown> | null;
  },
) {
  const prefix = `${API_KEY_PREFIX}${randomId(8)}`;
  const key = randomToken(`${prefix}_`);
  const created = await prisma.apiKey.create({
    data: {
      appId,
      name: input.name,
      prefix,
      keyHash: sha256(key),
      scopes: input.scopes,
      userId: input.userId,
      ...(input.serverData ? { serverData: input.serverData as Prisma.InputJsonObject } : {}),
    },
  });
  await audit(prisma, {
    appId,
    principal,
    action: 'key.created',
    target: prefix,
    details: {
      name: created.name,
      scopes: input.scopes,
      userId: input.userId,
      serverData: input.serverData,
    },
  });
  return { created, key };
}

/** The app's keys, oldest first. */
export const listKeys = (prisma: PrismaClient, appId: string) =>
  prisma.apiKey.findMany({
    // The keys the data browser makes for itself (records/realtime-data.ts) are not the developer's.
    where: { appId, NOT: { scopes: { has: 'console' } } },
    orderBy: { createdAt: 'asc' },
  });

/** Revokes the key (it stops working at once); a revoked key stays as it is. */
export async function revokeKey(
  prisma: PrismaClient,
  appId: string,
  principal: Principal,
  keyId: string,
) {
  const key = await prisma.apiKey.findFirst({ where: { id: keyId, appId } });
  if (!key) throw notFound(`API key ${keyId}`);
  if (key.revokedAt) return key;
  const revoked = await prisma.apiKey.update({
    where: { id: key.id },
    data: { revokedAt: new Date() },
  });
  await audit(prisma, { appId, principal, action: 'key.revoked', target: key.prefix });
  return revoked;
}
