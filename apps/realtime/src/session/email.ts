import { burnPasswordCheck, verifyPassword } from '@hubstream/service';
import type { Strategy } from './strategy.ts';

const FAILED = { kind: 'deny', clientData: { error: 'INVALID_EMAIL_OR_PASSWORD' } } as const;

/**
 * The app's own users. Unknown email and wrong password take the same time
 * (a dummy hash is verified) and give the same answer.
 */
export const emailStrategy: Strategy = async (authData, { appId, prisma }) => {
  const { email, password } = authData;
  if (typeof email !== 'string' || typeof password !== 'string') return { kind: 'skip' };
  if (email.length > 254 || password.length > 1024) return FAILED;
  const user = await prisma.appUser.findUnique({
    where: { appId_emailKey: { appId, emailKey: email.trim().toLowerCase() } },
  });
  if (!user) {
    await burnPasswordCheck(password);
    return FAILED;
  }
  if (!(await verifyPassword(user.passwordHash, password))) return FAILED;
  const clientData = { ...(user.clientData as Record<string, unknown>), id: user.id };
  return {
    kind: 'allow',
    user: { id: user.id, isAuthenticated: true, data: user.serverData },
    clientData,
  };
};
