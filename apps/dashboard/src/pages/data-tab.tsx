import { type FormEvent, useEffect, useRef, useState } from 'react';
import { ApiError, api, errorMessage } from '../api.ts';
import {
  Button,
  CodeBlock,
  ConfirmDialog,
  Empty,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  Notice,
  TextArea,
  useAsync,
} from '../components/ui.tsx';
import {
  type DataRecord,
  parseRecordJson,
  type RecordPage,
  recordPath,
  recordsQuery,
} from '../lib/records.ts';
import { Link, navigate, useLocation } from '../router.tsx';

// The data browser (issue 18 item 2): an app's records by name prefix, a
// page at a time (GET /apps/:id/records, keyset paging on the server), and
// one record's JSON and version, edited with the version it was read at
// (409 names the version it has now) or deleted. An open record is read
// again every POLL_MS while the page is visible, so what clients write
// shows up; polling stops when the record is closed.

const PAGE_SIZE = 25;
/** How often an open record is read again (one request at a time). */
export const POLL_MS = 1500;

export function DataTab({ appId }: { appId: string }) {
  const { query } = useLocation();
  const name = query.get('record');
  const prefix = query.get('prefix') ?? '';
  if (name !== null) return <RecordView key={name} appId={appId} name={name} prefix={prefix} />;
  // A new prefix is a new list: its first page, the search box showing it.
  return <RecordList key={prefix} appId={appId} prefix={prefix} />;
}

const dataUrl = (appId: string, params: { record?: string; prefix?: string }) => {
  const search = new URLSearchParams();
  if (params.prefix) search.set('prefix', params.prefix);
  if (params.record !== undefined) search.set('record', params.record);
  const text = search.toString();
  return `/apps/${appId}/data${text ? `?${text}` : ''}`;
};

function RecordList({ appId, prefix }: { appId: string; prefix: string }) {
  const [draft, setDraft] = useState(prefix);
  // The `after` cursors of the pages before this one: Previous goes back one.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useAsync(
    () =>
      api<RecordPage>(
        'GET',
        `/apps/${appId}/records?${recordsQuery({ prefix, after: cursor, limit: PAGE_SIZE })}`,
      ),
    [appId, prefix, cursor],
  );

  const search = (event: FormEvent) => {
    event.preventDefault();
    navigate(dataUrl(appId, { prefix: draft }));
  };

  return (
    <div className="stack">
      <p className="hint">
        The app's records as last saved, in name order. Open one to see it live, edit or delete it:
        changes go through the realtime nodes, so subscribed clients get them at once.
      </p>
      <search>
        <form className="inline-form" onSubmit={search} aria-label="Find records">
          <Field
            label="Name starts with"
            type="search"
            value={draft}
            maxLength={1024}
            placeholder="users/"
            hint="Matched as written: case matters, and % or _ are plain characters."
            onChange={(e) => setDraft(e.target.value)}
          />
          <Button type="submit" variant="primary">
            Search
          </Button>
        </form>
      </search>
      {page.status === 'loading' ? <Loading label="Loading records…" /> : null}
      {page.status === 'error' ? <ErrorMessage error={page.error} onRetry={page.reload} /> : null}
      {page.status === 'ok' && page.data.records.length === 0 ? (
        <Empty title={prefix ? `No record name starts with “${prefix}”` : 'No records yet'}>
          {prefix ? null : (
            <p>Records appear here once a client writes one (record.set, list.setEntries).</p>
          )}
        </Empty>
      ) : null}
      {page.status === 'ok' && page.data.records.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="reflow" data-testid="records-table">
              <caption className="visually-hidden">
                Records{prefix ? ` starting with ${prefix}` : ''}, by name
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Version</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {page.data.records.map((record) => (
                  <tr key={record.name}>
                    <td data-label="Name" className="break">
                      <Link to={dataUrl(appId, { prefix, record: record.name })}>
                        {record.name}
                      </Link>
                    </td>
                    <td data-label="Kind">{record.isList ? 'List' : 'Record'}</td>
                    <td data-label="Version">{record.version}</td>
                    <td data-label="Updated">
                      <time dateTime={record.updatedAt}>{formatDate(record.updatedAt)}</time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of records">
            <Button disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous
            </Button>
            <span>Page {cursors.length}</span>
            <Button
              disabled={!page.data.next}
              onClick={() => page.data.next && setCursors([...cursors, page.data.next])}
            >
              Next
            </Button>
          </nav>
        </>
      ) : null}
    </div>
  );
}

type Shown =
  | { status: 'loading' }
  | { status: 'error'; error: unknown }
  | { status: 'missing' }
  | { status: 'ok'; record: DataRecord };

function RecordView({ appId, name, prefix }: { appId: string; name: string; prefix: string }) {
  const [shown, setShown] = useState<Shown>({ status: 'loading' });
  /** The editor's text; null while it follows the record (nothing typed). */
  const [draft, setDraft] = useState<string | null>(null);
  /** The version the edit is based on: the one shown when typing began. */
  const [base, setBase] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [conflict, setConflict] = useState<number | null | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [deleteBusy, setDeleteBusy] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const path = recordPath(appId, name);
  const back = dataUrl(appId, { prefix });

  // Reads the record now and every POLL_MS while it is open and the tab is
  // visible; one request at a time, none after the view is closed.
  const load = useRef<() => Promise<void>>(async () => {});
  useEffect(() => {
    let live = true;
    let inFlight = false;
    const read = async () => {
      if (inFlight || !live) return;
      inFlight = true;
      try {
        const record = await api<DataRecord>('GET', path);
        if (live) setShown({ status: 'ok', record });
      } catch (error) {
        if (!live) return;
        if (error instanceof ApiError && error.status === 404) setShown({ status: 'missing' });
        else setShown((now) => (now.status === 'ok' ? now : { status: 'error', error }));
      } finally {
        inFlight = false;
      }
    };
    load.current = read;
    void read();
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') void read();
    }, POLL_MS);
    return () => {
      live = false;
      window.clearInterval(timer);
    };
  }, [path]);

  const record = shown.status === 'ok' ? shown.record : null;
  const pretty = record ? JSON.stringify(record.data, null, 2) : '';
  const text = draft ?? pretty;
  const editing = draft !== null && draft !== pretty;
  const movedOn = editing && record !== null && base !== null && record.version !== base;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!record) return;
    const parsed = parseRecordJson(text);
    if (!parsed.ok) {
      setProblem(parsed.message);
      return;
    }
    setProblem(null);
    setNotice(null);
    setConflict(undefined);
    setSaving(true);
    try {
      const saved = await api<DataRecord>('PUT', path, {
        data: parsed.data,
        version: base ?? record.version,
      });
      setShown({ status: 'ok', record: saved });
      setDraft(null);
      setBase(null);
      setNotice(`Saved as version ${saved.version}.`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'VERSION_CONFLICT') {
        const current = (error.details[0] as { currentVersion?: number | null } | undefined)
          ?.currentVersion;
        setConflict(current ?? null);
        void load.current();
      } else {
        setProblem(errorMessage(error));
      }
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    if (!record) return;
    setDeleteBusy(true);
    setDeleteError(null);
    try {
      await api('DELETE', `${path}?version=${record.version}`);
      setDeleting(false);
      navigate(back);
    } catch (error) {
      setDeleteError(error);
      void load.current();
    } finally {
      setDeleteBusy(false);
    }
  };

  return (
    <div className="stack">
      <p>
        <Link to={back}>← All records{prefix ? ` starting with “${prefix}”` : ''}</Link>
      </p>
      <h3 className="record-name break" data-testid="record-name">
        {name}
      </h3>
      {shown.status === 'loading' ? <Loading label="Loading the record…" /> : null}
      {shown.status === 'error' ? (
        <ErrorMessage error={shown.error} onRetry={() => void load.current()} />
      ) : null}
      {shown.status === 'missing' ? (
        <Empty title="This record does not exist">
          <p>It may have been deleted. Clients that subscribe to it create it again.</p>
        </Empty>
      ) : null}
      {record ? (
        <>
          <p className="record-meta" aria-live="polite">
            <span data-testid="record-version">Version {record.version}</span>
            {record.isList ? <span className="badge">List</span> : null}
            <span className="muted">Updates live while this page is open.</span>
          </p>
          {record.isList ? <ListEntries appId={appId} prefix={prefix} data={record.data} /> : null}
          <div className="card">
            <h4>Stored data</h4>
            <CodeBlock className="record-json" data-testid="record-json">
              <code>{pretty}</code>
            </CodeBlock>
          </div>
          <form className="card stack" onSubmit={save} aria-label="Edit the record">
            <TextArea
              label={`Edit as JSON (based on version ${base ?? record.version})`}
              className="json-editor"
              rows={Math.min(24, Math.max(6, text.split('\n').length + 1))}
              value={text}
              error={problem ?? undefined}
              hint={
                record.isList
                  ? 'A list is an array of record names.'
                  : 'A JSON object replaces the whole record.'
              }
              onChange={(e) => {
                if (draft === null) setBase(record.version);
                setDraft(e.target.value);
                setConflict(undefined);
              }}
            />
            {movedOn ? (
              <div className="alert alert-warning" role="status">
                A client wrote version {record.version} while you were editing. Saving now will
                fail; discard your changes to see it.
              </div>
            ) : null}
            {conflict !== undefined ? (
              <div className="alert alert-error" role="alert" data-testid="record-conflict">
                {conflict === null
                  ? 'Not saved: this record was deleted since you loaded it.'
                  : `Not saved: this record changed since you loaded it. It is at version ${conflict} now; discard your changes to see it.`}
              </div>
            ) : null}
            {notice ? <Notice>{notice}</Notice> : null}
            <div className="actions">
              <Button type="submit" variant="primary" busy={saving} disabled={!editing}>
                Save
              </Button>
              <Button
                disabled={draft === null}
                onClick={() => {
                  setDraft(null);
                  setBase(null);
                  setProblem(null);
                  setConflict(undefined);
                }}
              >
                Discard changes
              </Button>
              <Button
                variant="danger"
                onClick={() => {
                  setDeleteError(null);
                  setDeleting(true);
                }}
              >
                Delete…
              </Button>
            </div>
          </form>
        </>
      ) : null}
      <ConfirmDialog
        open={deleting}
        title={`Delete ${name}?`}
        confirmLabel="Delete the record"
        busy={deleteBusy}
        error={deleteError}
        onConfirm={() => void remove()}
        onCancel={() => setDeleting(false)}
      >
        <p>
          Version {record?.version ?? '?'} and its data are removed for good; subscribed clients are
          told it was deleted.
        </p>
      </ConfirmDialog>
    </div>
  );
}

/** A list's entries: record names, each a link to that record. */
function ListEntries({ appId, prefix, data }: { appId: string; prefix: string; data: unknown }) {
  const entries = Array.isArray(data) ? data : [];
  return (
    <div className="card">
      <h4>
        List entries <span className="muted">({entries.length})</span>
      </h4>
      {entries.length === 0 ? <p className="muted">The list is empty.</p> : null}
      <ol className="list-entries" data-testid="list-entries">
        {entries.map((entry, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a list may hold a name twice; its place is its identity
          <li key={index}>
            {typeof entry === 'string' ? (
              <Link to={dataUrl(appId, { prefix, record: entry })}>{entry}</Link>
            ) : (
              <code className="small">{JSON.stringify(entry)}</code>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
