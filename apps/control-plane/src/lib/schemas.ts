import Type from 'typebox';

// Schema pieces shared by several resources.

export const ErrorReply = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Array(Type.Unknown()),
    }),
  },
  { $id: 'ErrorReply' },
);

export const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
  description: 'An email address.',
});

export const Password = Type.String({
  minLength: 8,
  maxLength: 256,
  description: 'At least 8 characters.',
});

export const AppIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/** The standard error replies, for the OpenAPI document. */
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorReply]));

/** JSON objects such as clientData, serverData and webhook headers. */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());

export const Uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
});
