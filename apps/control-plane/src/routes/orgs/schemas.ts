import Type from 'typebox';
import { Email, Uuid } from '../../lib/schemas.ts';

export const RoleName = Type.Union(
  [Type.Literal('owner'), Type.Literal('admin'), Type.Literal('developer'), Type.Literal('viewer')],
  { description: 'owner > admin > developer > viewer; GET /v1/roles says what each may do.' },
);

/** A role that may be given by invitation or by a change of role: owner only by a transfer. */
export const GrantableRole = Type.Union(
  [Type.Literal('admin'), Type.Literal('developer'), Type.Literal('viewer')],
  {
    description:
      'admin, developer or viewer. The owner is one member; ownership moves only by POST /v1/orgs/{orgId}/transfer.',
  },
);

export const OrgName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });

export const OrgParams = Type.Object({ orgId: Uuid });
export const MemberParams = Type.Object({ orgId: Uuid, accountId: Uuid });
export const InvitationParams = Type.Object({ orgId: Uuid, invitationId: Uuid });

export const OrgView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  personal: Type.Boolean({
    description: "Whether this is the caller's own organisation, where its apps go by default.",
  }),
  role: RoleName,
  memberCount: Type.Optional(Type.Integer()),
  createdAt: Type.String(),
});

export const OrgList = Type.Object({ organisations: Type.Array(OrgView) });

export const CreateOrgBody = Type.Object({ name: OrgName }, { additionalProperties: false });

export const MemberView = Type.Object({
  accountId: Type.String(),
  email: Type.String(),
  role: RoleName,
  joinedAt: Type.String(),
});

export const MemberList = Type.Object({ members: Type.Array(MemberView) });

export const ChangeRoleBody = Type.Object({ role: GrantableRole }, { additionalProperties: false });

export const TransferBody = Type.Object(
  { accountId: Uuid },
  { additionalProperties: false, description: 'The member who becomes the owner.' },
);

export const InviteBody = Type.Object(
  { email: Email, role: GrantableRole },
  { additionalProperties: false },
);

export const InvitationView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: RoleName,
  invitedBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  expiresAt: Type.String(),
});

export const InvitationList = Type.Object({ invitations: Type.Array(InvitationView) });

export const InvitationToken = Type.Object(
  {
    token: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'The "token" query parameter of the link in the invitation mail.',
    }),
  },
  { additionalProperties: false },
);

export const InvitationPreview = Type.Object({
  organisation: Type.Object({ id: Type.String(), name: Type.String() }),
  email: Type.String({
    description: 'The address invited: accept with the account of this address.',
  }),
  role: RoleName,
  invitedBy: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
  accountExists: Type.Boolean({
    description: 'Whether an account of this address exists (log in) or not (sign up first).',
  }),
});

export const AcceptReply = Type.Object({ organisation: OrgView });

const Allowed = Type.Object({
  owner: Type.Boolean(),
  admin: Type.Boolean(),
  developer: Type.Boolean(),
  viewer: Type.Boolean(),
});

export const RoleTable = Type.Object({
  roles: Type.Array(RoleName),
  actions: Type.Array(
    Type.Object({
      action: Type.String(),
      label: Type.String(),
      minimum: RoleName,
      allowed: Allowed,
    }),
  ),
});
