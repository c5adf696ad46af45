import type { AuditEvent } from '../api.ts';

// The audit log's actions by name, as the Audit page shows and filters them.

export const AUDIT_ACTIONS: readonly (readonly [string, readonly (readonly [string, string])[]])[] =
  [
    [
      'App',
      [
        ['app', 'Any app change'],
        ['app.created', 'App created'],
        ['app.renamed', 'App renamed'],
      ],
    ],
    [
      'Permissions',
      [
        ['permissions', 'Any permissions change'],
        ['permissions.published', 'Rules saved'],
        ['permissions.activated', 'Rules version activated'],
      ],
    ],
    [
      'Users',
      [
        ['user', 'Any user change'],
        ['user.created', 'User added'],
        ['user.updated', 'User changed'],
        ['user.deleted', 'User deleted'],
      ],
    ],
    [
      'Records',
      [
        ['record', 'Any record change'],
        ['record.created', 'Record created'],
        ['record.updated', 'Record edited'],
        ['record.deleted', 'Record deleted'],
      ],
    ],
    [
      'API keys',
      [
        ['key', 'Any API key change'],
        ['key.created', 'API key created'],
        ['key.revoked', 'API key revoked'],
      ],
    ],
    [
      'Settings',
      [
        ['auth.updated', 'Auth settings changed'],
        ['limits.updated', 'Limits changed'],
      ],
    ],
  ];

const LABELS = new Map(
  AUDIT_ACTIONS.flatMap(([, actions]) => actions).filter(([value]) => value.includes('.')),
);

/** "limits.updated" -> "Limits changed"; an action this dashboard does not know keeps its name. */
export const actionLabel = (action: string) => LABELS.get(action) ?? action;

const MAX_DETAILS = 240;

/** The event's target and details in one line of text, at most MAX_DETAILS characters. */
export function auditDetails(event: Pick<AuditEvent, 'action' | 'target' | 'details'>): string {
  const { details } = event;
  let text: string;
  const changes = details.changes;
  const fields = details.fields;
  if (typeof changes === 'object' && changes !== null && !Array.isArray(changes)) {
    text = Object.entries(changes)
      .map(([name, value]) => `${name} → ${value === null ? 'default' : JSON.stringify(value)}`)
      .join(', ');
  } else if (Array.isArray(fields)) {
    text = `changed ${fields.join(', ')}`;
  } else if (typeof details.from === 'string' && typeof details.to === 'string') {
    text = `“${details.from}” → “${details.to}”`;
  } else {
    const rest = Object.keys(details).length > 0 ? JSON.stringify(details) : '';
    text = [event.target ? `target ${event.target}` : '', rest].filter(Boolean).join(' ');
  }
  return text.length > MAX_DETAILS ? `${text.slice(0, MAX_DETAILS - 1)}…` : text;
}

/** The query string of GET /apps/:id/audit; times typed in local time are sent as ISO 8601. */
export function auditQuery(options: {
  actor: string;
  action: string;
  since: string;
  until: string;
  before: string | null;
  limit: number;
}): string {
  const params = new URLSearchParams({ limit: String(options.limit) });
  if (options.before) params.set('before', options.before);
  if (options.actor) params.set('actor', options.actor);
  if (options.action) params.set('action', options.action);
  if (options.since) params.set('since', new Date(options.since).toISOString());
  if (options.until) params.set('until', new Date(options.until).toISOString());
  return params.toString();
}
