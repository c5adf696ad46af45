import type { LimitName } from '../api.ts';

// What each of an app's limits is called on the Limits page, and how a
// typed value is checked before it is sent.

export type LimitField = {
  name: LimitName;
  label: string;
  description: string;
  /** Whether the limit is for the whole app or for each connection. */
  group: 'app' | 'connection';
};

export const LIMIT_FIELDS: readonly LimitField[] = [
  {
    name: 'maxConnections',
    label: 'Connections',
    description: 'Connections open at once across all realtime nodes.',
    group: 'app',
  },
  {
    name: 'maxMessagesPerSecond',
    label: 'Messages per second',
    description: "Messages per second from all the app's clients together.",
    group: 'app',
  },
  {
    name: 'maxCrossReferencesPerSecond',
    label: 'Cross references per second',
    description: 'Records the permission rules may load per second.',
    group: 'app',
  },
  {
    name: 'maxNamesPerMessage',
    label: 'Names per message',
    description: 'Names one bulk message (subscribe, provide, notify) may carry.',
    group: 'app',
  },
  {
    name: 'connectionMessagesPerSecond',
    label: 'Messages per second per connection',
    description: 'Messages per second from one connection.',
    group: 'connection',
  },
  {
    name: 'maxSubscriptionsPerConnection',
    label: 'Subscriptions per connection',
    description: 'Subscriptions one connection may hold per topic.',
    group: 'connection',
  },
  {
    name: 'maxListensPerConnection',
    label: 'Listens per connection',
    description: 'Listen patterns one connection may hold per topic.',
    group: 'connection',
  },
  {
    name: 'maxProvidesPerConnection',
    label: 'Provided RPCs per connection',
    description: 'RPC names one connection may provide.',
    group: 'connection',
  },
  {
    name: 'maxPendingRpcsPerConnection',
    label: 'Pending RPCs per connection',
    description: 'RPCs one connection may have waiting for their answer.',
    group: 'connection',
  },
];

/** Why a typed limit cannot be saved, or null: empty (the default) or a whole number 1..max. */
export function limitInputProblem(raw: string, max: number): string | null {
  const text = raw.trim().replace(/[_,\s]/g, '');
  if (text === '') return null;
  if (!/^\d+$/.test(text))
    return `Enter a whole number from 1 to ${max.toLocaleString('en')}, or leave it empty for the default.`;
  const value = Number(text);
  if (value < 1 || value > max)
    return `Enter a whole number from 1 to ${max.toLocaleString('en')}, or leave it empty for the default.`;
  return null;
}

/** The number a valid input stands for (null: the platform default). */
export const limitValue = (raw: string): number | null => {
  const text = raw.trim().replace(/[_,\s]/g, '');
  return text === '' ? null : Number(text);
};
