import type { App, PrismaClient } from '@hubstream/db';
import { ApiError } from '../errors.ts';
import { allows } from '../routes/orgs/roles.ts';
import { notAllowed } from '../routes/orgs/service.ts';
import { membershipWithOrgName } from './access-service.ts';
import { APP_ACCESS, type AppAccess, isAppAccess } from './app-accesses.ts';
import { LACKS_USERS_SCOPE, type Principal } from './auth.ts';

export { APP_ACCESS, type AppAccess, isAppAccess };

/** The only access an app's API key can have, and only with the "users" scope. */
const API_KEY_ACCESS: ReadonlySet<AppAccess> = new Set(['users:read', 'users:write']);

/**
 * Whether `principal` may do `access` on `app`; throws the reply otherwise.
 * An app the caller may not see at all is a 404 (ids cannot be probed); one
 * it sees but may not do this to is a 403 that says why. An API key of
 * another app never reaches here (app-scope.ts refuses it before the app is
 * looked up).
 *
 * A developer sees the apps of the organisations it is a member of, and may
 * do what its role there allows: the role table (routes/orgs/roles.ts). An
 * app's API key may manage the app's end users when it has the "users"
 * scope, nothing else.
 */
export async function authorizeApp(
  principal: Principal,
  app: App,
  access: AppAccess,
  prisma: PrismaClient,
): Promise<void> {
  if (principal.kind === 'apiKey') {
    if (app.id !== principal.appId) throw new ApiError('NOT_FOUND', `App ${app.id} was not found.`);
    if (!API_KEY_ACCESS.has(access)) {
      throw new ApiError(
        'FORBIDDEN',
        'App API keys can only manage the app users of their own app.',
      );
    }
    if (!principal.scopes.includes('users')) throw new ApiError('FORBIDDEN', LACKS_USERS_SCOPE);
    return;
  }
  const membership = await membershipWithOrgName(prisma, app.organisationId, principal.accountId);
  if (!membership) throw new ApiError('NOT_FOUND', `App ${app.id} was not found.`);
  if (!allows(membership.role, access)) {
    throw notAllowed(
      access,
      membership.role,
      `"${membership.organisation.name}", which owns app ${app.id}`,
    );
  }
}
