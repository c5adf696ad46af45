import { createHash, randomBytes } from 'node:crypto';
import type { PrismaClient } from '@hubstream/db';

// What the HTTP data API tests share: a POST that keeps the raw answer, and
// app API keys made as the control plane makes them.

// biome-ignore lint/suspicious/noExplicitAny: replies are asserted field by field
export type HttpReply = { status: number; type: string; text: string; json: () => any };

/** POSTs `body` (JSON unless already a string) to `base` + `path`. */
export async function postTo(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text,
    json: () => JSON.parse(text),
  };
}

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
