import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '@hubstream/db';
import { type ApiReply, api } from '@hubstream/testing';

// What the HTTP data API tests share: a POST that keeps the raw answer, and
// app API keys made as the control plane makes them.

/** What the data API tests read of a reply (a raw fetch can give it too). */
export type HttpReply = Pick<ApiReply, 'status' | 'type' | 'text' | 'json'>;

/** POSTs `body` to `base` + `path` as JSON (a string body too, as a malformed one). */
export const postTo = (
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> =>
  api(base, 'POST', path, { body, headers: { 'content-type': 'application/json', ...headers } });

export type ApiKeyOptions = {
  scopes: string[];
  userId?: string;
  name?: string;
  serverData?: object;
  revoked?: boolean;
};

/** An app API key as the control plane stores it (only its SHA-256); returns the key. */
export async function addApiKey(
  prisma: PrismaClient,
  appId: string,
  options: ApiKeyOptions,
): Promise<string> {
  const prefix = randomBytes(4).toString('hex');
  const key = `hsk_${prefix}_${randomBytes(32).toString('base64url')}`;
  await prisma.apiKey.create({
    data: {
      appId,
      prefix,
      name: options.name ?? '',
      keyHash: createHash('sha256').update(key).digest('hex'),
      scopes: options.scopes,
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.serverData ? { serverData: options.serverData } : {}),
      ...(options.revoked ? { revokedAt: new Date() } : {}),
    },
  });
  return key;
}
