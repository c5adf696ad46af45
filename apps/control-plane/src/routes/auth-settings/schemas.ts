import Type from 'typebox';

// deepstreamHub's auth page, as JSON: open, email and webhook, each switched
// on or off and configured on its own, plus the limits that apply to every
// connection before it has logged in.

const StatusCode = Type.Integer({ minimum: 100, maximum: 599 });
const HeaderName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
});

export const WebhookSettings = Type.Object(
  {
    enabled: Type.Boolean(),
    url: Type.Union([Type.String({ maxLength: 2048 }), Type.Null()], {
      description:
        'http(s) URL that receives POST {authData, connectionData}. Required when enabled.',
    }),
    promoteToHeader: Type.Array(HeaderName, {
      maxItems: 20,
      description: 'authData fields sent as request headers as well.',
    }),
    headers: Type.Record(Type.String(), Type.String({ maxLength: 1000 }), {
      description: 'Fixed headers sent with every call.',
    }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000 }),
    permittedStatusCodes: Type.Array(StatusCode, { minItems: 1, maxItems: 20 }),
    retryStatusCodes: Type.Array(StatusCode, { maxItems: 20 }),
    retryAttempts: Type.Integer({ minimum: 0, maximum: 10 }),
    retryIntervalMs: Type.Integer({ minimum: 0, maximum: 30_000 }),
    signingSecret: Type.Union([Type.String({ minLength: 16, maxLength: 200 }), Type.Null()], {
      description:
        'HMAC-SHA256 key for the X-Hubstream-Signature header. Generated when the webhook is first enabled.',
    }),
  },
  { additionalProperties: false },
);

const Strategy = Type.Union([Type.Literal('open'), Type.Literal('email'), Type.Literal('webhook')]);
export const StrategyOrder = Type.Array(Strategy, {
  minItems: 3,
  maxItems: 3,
  uniqueItems: true,
  description:
    'The order strategies are tried in when the client names none with authData.type; the first verdict wins.',
});

export const AuthSettingsView = Type.Object({
  order: StrategyOrder,
  open: Type.Object({ enabled: Type.Boolean() }),
  email: Type.Object({ enabled: Type.Boolean() }),
  webhook: WebhookSettings,
  unauthenticatedTimeoutMs: Type.Integer(),
  maxAuthAttempts: Type.Integer(),
  updatedAt: Type.String(),
});

export const AuthSettingsBody = Type.Object(
  {
    order: Type.Optional(StrategyOrder),
    open: Type.Optional(Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false })),
    email: Type.Optional(Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false })),
    webhook: Type.Optional(Type.Partial(WebhookSettings, { additionalProperties: false })),
    unauthenticatedTimeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
    maxAuthAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  { additionalProperties: false },
);
