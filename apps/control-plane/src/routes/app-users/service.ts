import type { AppUser, Prisma, PrismaClient } from '@hubstream/db';
import { ApiError, notFound } from '../../errors.ts';
import { audit } from '../../lib/audit.ts';
import { emailKey, hashPassword } from '../../lib/secrets.ts';
import type { Principal } from '../../plugins/auth.ts';

/** Largest clientData or serverData, as JSON. */
export const MAX_USER_DATA_BYTES = 16 * 1024;

export const userView = (u: AppUser) => ({
  id: u.id,
  email: u.email,
  clientData: u.clientData as Record<string, unknown>,
  serverData: u.serverData as Record<string, unknown>,
  createdAt: u.createdAt.toISOString(),
  updatedAt: u.updatedAt.toISOString(),
});

function checkSize(name: string, value: unknown) {
  if (value !== undefined && JSON.stringify(value).length > MAX_USER_DATA_BYTES) {
    throw new ApiError(
      'VALIDATION_FAILED',
      `${name} is larger than ${MAX_USER_DATA_BYTES} bytes.`,
      [{ in: 'body', path: `/${name}`, message: 'too large' }],
    );
  }
}

const userExists = () =>
  new ApiError('USER_EXISTS', 'This app already has a user with this email (emails ignore case).');

const isUniqueViolation = (error: unknown) => (error as { code?: string }).code === 'P2002';

export async function createUser(
  prisma: PrismaClient,
  appId: string,
  input: { email: string; password: string; clientData?: object; serverData?: object },
) {
  checkSize('clientData', input.clientData);
  checkSize('serverData', input.serverData);
  try {
    return await prisma.appUser.create({
      data: {
        appId,
        email: input.email.trim(),
        emailKey: emailKey(input.email),
        passwordHash: await hashPassword(input.password),
        clientData: (input.clientData ?? {}) as Prisma.InputJsonObject,
        serverData: (input.serverData ?? {}) as Prisma.InputJsonObject,
      },
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw userExists();
    throw error;
  }
}

export async function findUser(prisma: PrismaClient, appId: string, userId: string) {
  const user = await prisma.appUser.findFirst({ where: { id: userId, appId } });
  if (!user) throw notFound(`User ${userId}`);
  return user;
}

export async function updateUser(
  prisma: PrismaClient,
  user: AppUser,
  input: { email?: string; password?: string; clientData?: object; serverData?: object },
) {
  checkSize('clientData', input.clientData);
  checkSize('serverData', input.serverData);
  const data: Prisma.AppUserUpdateInput = {};
  if (input.email !== undefined) {
    data.email = input.email.trim();
    data.emailKey = emailKey(input.email);
  }
  if (input.password !== undefined) data.passwordHash = await hashPassword(input.password);
  if (input.clientData !== undefined) data.clientData = input.clientData as Prisma.InputJsonObject;
  if (input.serverData !== undefined) data.serverData = input.serverData as Prisma.InputJsonObject;
  try {
    return await prisma.appUser.update({ where: { id: user.id }, data });
  } catch (error) {
    if (isUniqueViolation(error)) throw userExists();
    throw error;
  }
}

export async function listUsers(
  prisma: PrismaClient,
  appId: string,
  query: { q?: string | undefined; limit: number; offset: number },
) {
  const where: Prisma.AppUserWhereInput = { appId };
  // Prisma's contains is a LIKE: the query's own %, _ and \ are escaped to match as text.
  if (query.q) {
    where.emailKey = {
      contains: query.q
        .trim()
        .toLowerCase()
        .replace(/[\\%_]/g, '\\$&'),
    };
  }
  const [users, total] = await Promise.all([
    prisma.appUser.findMany({
      where,
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: query.limit,
      skip: query.offset,
    }),
    prisma.appUser.count({ where }),
  ]);
  return { users: users.map(userView), total, limit: query.limit, offset: query.offset };
}

/** createUser, audited. */
export async function registerUser(
  prisma: PrismaClient,
  appId: string,
  principal: Principal,
  input: Parameters<typeof createUser>[2],
) {
  const user = await createUser(prisma, appId, input);
  await audit(prisma, { appId, principal, action: 'user.created', target: user.id });
  return user;
}

/** updateUser of the app's user `userId` (404 when it has none), audited with the fields sent. */
export async function changeUser(
  prisma: PrismaClient,
  appId: string,
  principal: Principal,
  userId: string,
  input: Parameters<typeof updateUser>[2],
) {
  const user = await findUser(prisma, appId, userId);
  const updated = await updateUser(prisma, user, input);
  await audit(prisma, {
    appId,
    principal,
    action: 'user.updated',
    target: user.id,
    details: { fields: Object.keys(input) },
  });
  return updated;
}

/** Deletes the app's user `userId` (404 when it has none), audited. */
export async function deleteUser(
  prisma: PrismaClient,
  appId: string,
  principal: Principal,
  userId: string,
) {
  const user = await findUser(prisma, appId, userId);
  await prisma.appUser.delete({ where: { id: user.id } });
  await audit(prisma, { appId, principal, action: 'user.deleted', target: user.id });
}
