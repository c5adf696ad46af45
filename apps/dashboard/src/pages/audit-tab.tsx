import { type FormEvent, useId, useState } from 'react';
import { type AuditPage, api } from '../api.ts';
import {
  Button,
  Empty,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  useAsync,
} from '../components/ui.tsx';
import { AUDIT_ACTIONS, actionLabel, auditDetails, auditQuery } from '../lib/audit.ts';

// Who changed what on the app (GET /apps/:id/audit), newest first, filtered
// by actor, action and time on the server, a page at a time.

const PAGE_SIZE = 25;

type Filters = { actor: string; action: string; since: string; until: string };
const NO_FILTERS: Filters = { actor: '', action: '', since: '', until: '' };

export function AuditTab({ appId }: { appId: string }) {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [problem, setProblem] = useState<string | null>(null);
  // The cursors of the pages before this one: "Newer" goes back one.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useAsync(
    () =>
      api<AuditPage>(
        'GET',
        `/apps/${appId}/audit?${auditQuery({ ...filters, before: cursor, limit: PAGE_SIZE })}`,
      ),
    [appId, filters, cursor],
  );
  const actionId = useId();

  const apply = (event: FormEvent) => {
    event.preventDefault();
    if (draft.since && draft.until && draft.since >= draft.until) {
      setProblem('“From” must be before “to”.');
      return;
    }
    setProblem(null);
    setFilters({ ...draft, actor: draft.actor.trim() });
    setCursors([null]);
  };
  const filtered = Object.values(filters).some(Boolean);

  return (
    <div className="stack">
      <form className="card filters" onSubmit={apply} noValidate aria-label="Filter the audit log">
        <div className="filter-fields">
          <Field
            label="Actor"
            value={draft.actor}
            maxLength={320}
            hint="An email or API key prefix, or part of it."
            onChange={(e) => setDraft({ ...draft, actor: e.target.value })}
          />
          <div className="field">
            <label htmlFor={actionId}>Action</label>
            <select
              id={actionId}
              value={draft.action}
              onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            >
              <option value="">Every action</option>
              {AUDIT_ACTIONS.map(([group, actions]) => (
                <optgroup key={group} label={group}>
                  {actions.map(([value, label]) => (
                    <option key={value} value={value}>
                      {label}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          </div>
          <Field
            label="From"
            type="datetime-local"
            value={draft.since}
            onChange={(e) => setDraft({ ...draft, since: e.target.value })}
            error={problem ?? undefined}
          />
          <Field
            label="To"
            type="datetime-local"
            value={draft.until}
            onChange={(e) => setDraft({ ...draft, until: e.target.value })}
          />
        </div>
        <div className="actions">
          <Button type="submit" variant="primary">
            Apply filters
          </Button>
          {filtered ? (
            <Button
              onClick={() => {
                setDraft(NO_FILTERS);
                setFilters(NO_FILTERS);
                setCursors([null]);
                setProblem(null);
              }}
            >
              Clear filters
            </Button>
          ) : null}
        </div>
      </form>
      {page.status === 'loading' ? <Loading label="Loading the audit log…" /> : null}
      {page.status === 'error' ? <ErrorMessage error={page.error} onRetry={page.reload} /> : null}
      {page.status === 'ok' && page.data.events.length === 0 ? (
        <Empty title={filtered ? 'No events match these filters' : 'Nothing changed yet'}>
          <p>Changes to the app, its rules, auth, users, keys and limits are listed here.</p>
        </Empty>
      ) : null}
      {page.status === 'ok' && page.data.events.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="reflow">
              <caption className="visually-hidden">Audit log, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.data.events.map((event) => (
                  <tr key={event.id}>
                    <td data-label="When">
                      <time dateTime={event.createdAt}>{formatDate(event.createdAt)}</time>
                    </td>
                    <td data-label="Actor" className="break">
                      {event.actor}
                    </td>
                    <td data-label="Action">
                      {actionLabel(event.action)}{' '}
                      <code className="small muted">{event.action}</code>
                    </td>
                    <td data-label="Details" className="break">
                      {auditDetails(event) || <span className="muted">none</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of the audit log">
            <Button disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </Button>
            <span>Page {cursors.length}</span>
            <Button
              disabled={!page.data.next}
              onClick={() => page.data.next && setCursors([...cursors, page.data.next])}
            >
              Older
            </Button>
          </nav>
        </>
      ) : null}
    </div>
  );
}
