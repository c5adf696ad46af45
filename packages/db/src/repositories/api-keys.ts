import type { PrismaClient } from '../generated/prisma/client.ts';

// App API keys as the HTTP data API checks them: looked up by the SHA-256
// of the key (all the database holds of it), and marked as used.

/** What checking a key needs to know of it. */
export type ApiKeyGrant = {
  id: string;
  appId: string;
  name: string;
  prefix: string;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  scopes: string[] | null;
  userId: string | null;
  serverData: unknown;
};

/** The key whose SHA-256 (hex) is `keyHash`, or null when there is none. */
export async function findApiKeyByHash(
  prisma: PrismaClient,
  keyHash: string,
): Promise<ApiKeyGrant | null> {
  const row = await prisma.apiKey.findUnique({
    where: { keyHash },
    select: {
      id: true,
      appId: true,
      name: true,
      prefix: true,
      revokedAt: true,
      lastUsedAt: true,
      scopes: true,
      userId: true,
      serverData: true,
    },
  });
  return row as ApiKeyGrant | null;
}

/** Records that the key was used at `at` (a hint for the dashboard). */
export async function touchApiKey(prisma: PrismaClient, id: string, at: Date): Promise<void> {
  await prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
}
