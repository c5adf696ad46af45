import { check } from '@hubstream/valve';
import { useEffect, useId, useMemo, useState } from 'react';
import { ApiError, api, type Version, type VersionSummary } from '../api.ts';
import {
  Button,
  CodeBlock,
  ConfirmDialog,
  Empty,
  ErrorMessage,
  formatDate,
  Loading,
  Notice,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import { ValveEditor } from '../components/valve-editor.tsx';
import { diffLines } from '../lib/diff.ts';
import { useAppPermissions } from '../orgs.tsx';
import { Simulator } from './simulator.tsx';

export const STARTER_RULES = `# Valve permissions: every section needs a "*" pattern.
record:
  "*":
    create: "user.isAuthenticated"
    read: true
    write: "user.isAuthenticated"
    delete: false
    listen: false
    notify: false
event:
  "*":
    publish: "user.isAuthenticated"
    subscribe: true
    listen: false
rpc:
  "*":
    provide: false
    request: "user.isAuthenticated"
presence:
  "*":
    allow: true
`;

export function PermissionsTab({ appId, onSaved }: { appId: string; onSaved(): void }) {
  const versions = useAsync(
    () =>
      api<{ versions: VersionSummary[] }>('GET', `/apps/${appId}/permissions/versions`).then(
        (r) => r.versions,
      ),
    [appId],
  );
  const active = useAsync(
    () =>
      api<Version>('GET', `/apps/${appId}/permissions`).catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }),
    [appId],
  );
  const [text, setText] = useState<string | null>(null);
  const may = useAppPermissions(appId);
  const canWrite = may.can('rules:write');
  const readOnlyId = useId();
  const { busy: saving, error: saveError, run: runSave } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const labelId = useId();
  const errorsId = useId();
  const activeData = active.status === 'ok' ? active.data : undefined;
  useEffect(() => {
    if (activeData !== undefined && text === null) setText(activeData?.valve ?? STARTER_RULES);
  }, [activeData, text]);
  const report = useMemo(() => (text === null ? null : check(text)), [text]);

  if (active.status === 'loading' || text === null || !may.known)
    return active.status === 'error' ? (
      <ErrorMessage error={active.error} onRetry={active.reload} />
    ) : (
      <Loading label="Loading permissions…" />
    );

  const save = async () => {
    setSaved(null);
    await runSave(async () => {
      const { version } = await api<{ version: number }>('PUT', `/apps/${appId}/permissions`, {
        valve: text,
      });
      setSaved(`Saved as version ${version}; it is active now.`);
      versions.reload();
      active.reload();
      onSaved();
    });
  };
  const dirty = activeData ? activeData.valve !== text : true;

  return (
    <div className="stack">
      <div className="card">
        <h2 id={labelId}>Rules (Valve)</h2>
        <p className="hint">
          {activeData
            ? `Version ${activeData.version} is active.`
            : 'No permissions yet: every action is denied until you save some. Here is a start.'}{' '}
          Errors are underlined as you type.
        </p>
        {canWrite ? null : (
          <p className="alert alert-info" id={readOnlyId}>
            Read-only: {may.explain('rules:write')} You can still try the rules in the simulator
            below.
          </p>
        )}
        <ValveEditor
          key={canWrite ? 'editable' : 'read-only'}
          value={text}
          onChange={setText}
          labelId={labelId}
          describedBy={canWrite ? errorsId : `${readOnlyId} ${errorsId}`}
          readOnly={!canWrite}
        />
        <div id={errorsId} aria-live="polite">
          {report && !report.ok ? (
            <ul className="problems" aria-label="Problems in the rules">
              {report.errors.map((e) => (
                <li key={`${e.line}:${e.column}:${e.code}:${e.message}`}>
                  <span className="pos">
                    Line {e.line}, column {e.column}
                  </span>{' '}
                  {e.message} <code className="small">{e.code}</code>
                </li>
              ))}
            </ul>
          ) : (
            <p className="ok-line">
              No problems: {report?.stats.patterns} patterns, {report?.stats.rules} rules.
            </p>
          )}
        </div>
        <ErrorMessage error={saveError} />
        {saved ? <Notice>{saved}</Notice> : null}
        <div className="actions">
          <Button
            variant="primary"
            busy={saving}
            disabled={!canWrite || !report?.ok || !dirty}
            aria-describedby={canWrite ? undefined : readOnlyId}
            onClick={save}
          >
            Save and activate
          </Button>
          {activeData && dirty ? (
            <Button onClick={() => setText(activeData.valve)}>Discard changes</Button>
          ) : null}
        </div>
      </div>
      <Simulator rules={text} />
      <Versions
        appId={appId}
        canWrite={canWrite}
        why={may.explain('rules:write')}
        versions={versions.status === 'ok' ? versions.data : null}
        loading={versions.status === 'loading'}
        error={versions.status === 'error' ? versions.error : null}
        onRetry={versions.reload}
        onRolledBack={(valve) => {
          setText(valve);
          versions.reload();
          active.reload();
          onSaved();
        }}
      />
    </div>
  );
}

function Versions({
  appId,
  canWrite,
  why,
  versions,
  loading,
  error,
  onRetry,
  onRolledBack,
}: {
  appId: string;
  canWrite: boolean;
  why: string;
  versions: VersionSummary[] | null;
  loading: boolean;
  error: unknown;
  onRetry(): void;
  onRolledBack(valve: string): void;
}) {
  const [compare, setCompare] = useState<{ from: number; to: number } | null>(null);
  const [rollback, setRollback] = useState<number | null>(null);
  const { busy, error: rollbackError, run, setError: setRollbackError } = useAction();
  const doRollback = async () => {
    if (rollback === null) return;
    await run(async () => {
      await api('POST', `/apps/${appId}/permissions/versions/${rollback}/activate`);
      const version = await api<Version>('GET', `/apps/${appId}/permissions/versions/${rollback}`);
      setRollback(null);
      onRolledBack(version.valve);
    });
  };
  return (
    <div className="card">
      <h2>Versions</h2>
      {loading ? <Loading label="Loading versions…" /> : null}
      <ErrorMessage error={error} {...(error ? { onRetry } : {})} />
      {versions && versions.length === 0 ? (
        <Empty title="No versions yet">
          <p>Every save is kept as a version you can compare and roll back to.</p>
        </Empty>
      ) : null}
      {versions && versions.length > 0 ? (
        <div className="table-wrap">
          <table className="reflow">
            <caption className="visually-hidden">Permission versions</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">By</th>
                <th scope="col">From</th>
                <th scope="col">Saved</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v, index) => {
                const previous = versions[index + 1];
                return (
                  <tr key={v.version}>
                    <td data-label="Version">
                      v{v.version} {v.active ? <span className="badge">active</span> : null}
                    </td>
                    <td data-label="By" className="break">
                      {v.author}
                    </td>
                    <td data-label="From">{v.template ? `${v.template} template` : 'edited'}</td>
                    <td data-label="Saved">{formatDate(v.createdAt)}</td>
                    <td className="actions">
                      {previous ? (
                        <Button
                          aria-label={`Diff with v${previous.version}: compare version ${v.version} with version ${previous.version}`}
                          onClick={() => setCompare({ from: previous.version, to: v.version })}
                        >
                          Diff with v{previous.version}
                        </Button>
                      ) : null}
                      {v.active ? null : (
                        <Button
                          aria-label={`Roll back to version ${v.version}`}
                          disabled={!canWrite}
                          title={canWrite ? undefined : why}
                          onClick={() => {
                            setRollbackError(null);
                            setRollback(v.version);
                          }}
                        >
                          Roll back
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {compare ? <VersionDiff appId={appId} {...compare} onClose={() => setCompare(null)} /> : null}
      <ConfirmDialog
        open={rollback !== null}
        title={`Roll back to version ${rollback ?? ''}?`}
        confirmLabel="Roll back"
        busy={busy}
        error={rollbackError}
        onConfirm={doRollback}
        onCancel={() => setRollback(null)}
      >
        <p>Version {rollback} becomes the active rules at once, on every connection.</p>
      </ConfirmDialog>
    </div>
  );
}

function VersionDiff({
  appId,
  from,
  to,
  onClose,
}: {
  appId: string;
  from: number;
  to: number;
  onClose(): void;
}) {
  const texts = useAsync(
    () =>
      Promise.all(
        [from, to].map((v) =>
          api<Version>('GET', `/apps/${appId}/permissions/versions/${v}`).then((r) => r.valve),
        ),
      ),
    [appId, from, to],
  );
  return (
    <section className="diff" aria-label={`Changes from version ${from} to version ${to}`}>
      <div className="toolbar">
        <h3>
          v{from} → v{to}
        </h3>
        <Button onClick={onClose}>Close diff</Button>
      </div>
      {texts.status === 'loading' ? <Loading /> : null}
      {texts.status === 'error' ? (
        <ErrorMessage error={texts.error} onRetry={texts.reload} />
      ) : null}
      {texts.status === 'ok' ? (
        <CodeBlock className="diff-body">
          {diffLines(texts.data[0] ?? '', texts.data[1] ?? '').map((line, i) => (
            <span
              // biome-ignore lint/suspicious/noArrayIndexKey: lines have no identity of their own
              key={i}
              className={`diff-${line.kind}`}
            >
              <span className="visually-hidden">
                {line.kind === 'added' ? 'added: ' : line.kind === 'removed' ? 'removed: ' : ''}
              </span>
              <span aria-hidden="true">
                {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
              </span>
              {line.text}
              {'\n'}
            </span>
          ))}
        </CodeBlock>
      ) : null}
    </section>
  );
}
