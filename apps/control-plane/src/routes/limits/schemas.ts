import Type, { type TSchema } from 'typebox';

// An app's own limits. Each is a whole number within a ceiling that keeps a
// typo from switching a limit off in effect, or null for the platform
// default (the APP_MAX_* variables of the config).

export const LIMIT_MAXIMA = {
  maxConnections: 1_000_000,
  maxMessagesPerSecond: 1_000_000,
  connectionMessagesPerSecond: 100_000,
  maxCrossReferencesPerSecond: 1_000_000,
  maxNamesPerMessage: 100_000,
  maxSubscriptionsPerConnection: 1_000_000,
  maxListensPerConnection: 10_000,
  maxProvidesPerConnection: 10_000,
  maxPendingRpcsPerConnection: 100_000,
} as const;

export type LimitName = keyof typeof LIMIT_MAXIMA;

export const LIMIT_NAMES = Object.keys(LIMIT_MAXIMA) as LimitName[];

const DESCRIPTIONS: Record<LimitName, string> = {
  maxConnections: 'Connections open at once across all realtime nodes.',
  maxMessagesPerSecond: "Messages per second from all the app's clients together.",
  connectionMessagesPerSecond: 'Messages per second from one connection.',
  maxCrossReferencesPerSecond: 'Records the permission rules may load per second.',
  maxNamesPerMessage:
    'Names one bulk message (SUBSCRIBE, PROVIDE, NOTIFY...) may carry; a longer one is refused whole.',
  maxSubscriptionsPerConnection:
    'Subscriptions one connection may hold per topic (events, records, presence).',
  maxListensPerConnection: 'Listen patterns one connection may hold per topic (events, records).',
  maxProvidesPerConnection: 'RPC names one connection may provide.',
  maxPendingRpcsPerConnection: 'RPCs one connection may have waiting for their answer.',
};

const own = (name: LimitName) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: LIMIT_MAXIMA[name] }), Type.Null()], {
    description: `${DESCRIPTIONS[name]} 1 to ${LIMIT_MAXIMA[name]}, or null for the platform default.`,
  });

const effective = (name: LimitName) =>
  Type.Integer({ description: `${DESCRIPTIONS[name]} What realtime nodes enforce.` });

const mapLimits = <T extends TSchema>(of: (name: LimitName) => T) =>
  Object.fromEntries(LIMIT_NAMES.map((name) => [name, of(name)])) as Record<LimitName, T>;

const platformDefault = (name: LimitName) =>
  Type.Integer({
    description: `${DESCRIPTIONS[name]} The platform default, for an app that sets none.`,
  });

const maximum = (name: LimitName) =>
  Type.Integer({ description: `The highest value an app may set for ${name}.` });

export const LimitsView = Type.Object({
  ...mapLimits(own),
  effective: Type.Object(mapLimits(effective)),
  // The dashboard's limits page shows each default beside the app's own
  // value (which hides it in "effective"), and checks the ceilings as typed.
  defaults: Type.Object(mapLimits(platformDefault)),
  maxima: Type.Object(mapLimits(maximum)),
  updatedAt: Type.Union([Type.String(), Type.Null()], {
    description: 'When the app last changed its limits; null if it never did.',
  }),
});

export const LimitsBody = Type.Object(
  mapLimits((name) => Type.Optional(own(name))),
  { additionalProperties: false },
);

/**
 * Checks the limits of a body as sent. The schema validator coerces types
 * (0 and false would become null, "100" and true numbers), which must not
 * turn a typo into a different limit; this runs first and refuses them.
 */
export function limitProblems(body: unknown): { path: string; message: string }[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const problems: { path: string; message: string }[] = [];
  for (const name of LIMIT_NAMES) {
    if (!Object.hasOwn(body, name)) continue;
    const value = (body as Record<string, unknown>)[name];
    if (value === null) continue;
    const max = LIMIT_MAXIMA[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      problems.push({
        path: `/${name}`,
        message: `${name} must be a whole number from 1 to ${max}, or null for the platform default.`,
      });
    }
  }
  return problems;
}
