import Type from 'typebox';
import { Email, Password, Uuid } from '../../lib/schemas.ts';

export const Credentials = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 256 }),
    session: Type.Optional(
      Type.Union([Type.Literal('token'), Type.Literal('cookie')], {
        description:
          '"token" (default) returns a bearer token for scripts; "cookie" sets the dashboard\'s httpOnly session cookie instead.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SignupBody = Type.Object(
  {
    email: Email,
    password: Password,
    session: Credentials.properties.session,
  },
  { additionalProperties: false },
);

export const AccountView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  emailVerified: Type.Boolean(),
  createdAt: Type.String(),
  pendingEmail: Type.Optional(
    Type.String({
      description:
        'The address the account moves to once the link mailed there is opened (GET /v1/me only); the account keeps `email` until then.',
    }),
  ),
});

export const SignupReply = Type.Object({
  account: AccountView,
  token: Type.Optional(Type.String()),
});

export const LoginReply = Type.Object({
  token: Type.Optional(Type.String()),
  account: Type.Optional(AccountView),
});

export const OneTimeToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'The "token" query parameter of the link in the email.',
});

export const VerifyEmailBody = Type.Object(
  { token: OneTimeToken },
  { additionalProperties: false },
);

export const ForgotPasswordBody = Type.Object({ email: Email }, { additionalProperties: false });

export const ResetPasswordBody = Type.Object(
  { token: OneTimeToken, password: Password },
  { additionalProperties: false },
);

export const AccountReply = Type.Object({ account: AccountView });

export const AcceptedReply = Type.Object({ message: Type.String() });

// Account settings (settings.ts).

/** The password the caller types to prove that it is the account's owner, not a borrowed session. */
const CurrentPassword = Type.String({
  minLength: 1,
  maxLength: 256,
  description: "The account's current password.",
});

export const ChangePasswordBody = Type.Object(
  { currentPassword: CurrentPassword, newPassword: Password },
  { additionalProperties: false },
);

export const ChangePasswordReply = Type.Object({
  account: AccountView,
  endedSessions: Type.Integer({ description: 'How many other sessions were ended.' }),
});

export const ChangeEmailBody = Type.Object(
  { email: Email, password: CurrentPassword },
  { additionalProperties: false },
);

export const ChangeEmailReply = Type.Object({
  message: Type.String(),
  pendingEmail: Type.String(),
});

export const SessionView = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('cookie'), Type.Literal('bearer')], {
    description: '"cookie": a dashboard login; "bearer": a session token for scripts.',
  }),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()], {
    description: 'Updated at most once an hour; null when not used since it was opened.',
  }),
  expiresAt: Type.String(),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  address: Type.Union([Type.String(), Type.Null()], {
    description: 'The client address that opened the session.',
  }),
  current: Type.Boolean({ description: 'Whether this is the session making the request.' }),
});

export const SessionsReply = Type.Object({
  sessions: Type.Array(SessionView),
  total: Type.Integer({ description: 'How many sessions the account has, listed or not.' }),
});

export const SessionIdParams = Type.Object({ sessionId: Uuid });

export const RevokedReply = Type.Object({
  revoked: Type.Integer({ description: 'How many sessions were ended.' }),
});

export const DeleteAccountBody = Type.Object(
  {
    email: Type.String({
      minLength: 1,
      maxLength: 254,
      description: "The account's email address, typed to confirm.",
    }),
    password: CurrentPassword,
  },
  { additionalProperties: false },
);
