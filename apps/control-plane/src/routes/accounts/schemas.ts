import Type from 'typebox';
import { Email, Password } from '../../lib/schemas.ts';

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
