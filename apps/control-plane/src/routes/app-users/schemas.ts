import Type from 'typebox';
import { Email, JsonObject, Password, Uuid } from '../../lib/schemas.ts';

export const UserParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  userId: Uuid,
});

export const CreateUserBody = Type.Object(
  {
    email: Email,
    password: Password,
    clientData: Type.Optional(JsonObject),
    serverData: Type.Optional(JsonObject),
  },
  { additionalProperties: false },
);

export const UpdateUserBody = Type.Object(
  {
    email: Type.Optional(Email),
    password: Type.Optional(Password),
    clientData: Type.Optional(JsonObject),
    serverData: Type.Optional(JsonObject),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  clientData: JsonObject,
  serverData: JsonObject,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const CreatedUser = Type.Object({ id: Type.String(), email: Type.String() });

export const UserListQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 254, description: 'Part of the email, any case.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
  },
  { additionalProperties: false },
);

export const UserList = Type.Object({
  users: Type.Array(UserView),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});
