import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../api.ts';
import { Button, CodeBlock, ErrorMessage, Field, TextArea, useAction } from '../components/ui.tsx';
import {
  type ConsoleItem,
  describeRule,
  formatTime,
  MAX_EVENTS,
  MAX_PROBLEMS,
  parseData,
  prepend,
  STREAM_ITEM_TYPES,
  type Subscription,
  streamUrl,
} from '../lib/console.ts';
import './console.css';

// The live console (issue 18 item 3): watch an app's events by name or
// pattern, publish one, make an RPC, see who is online and the connections
// on each node, and a feed of what the app's rules denied and of failed
// logins. The feed is one Server-Sent Events stream from the control plane
// (GET /v1/apps/:id/console/stream); changing the subscriptions opens a new
// one. Every list here is bounded; the server bounds the rate.

type EventItem = Extract<ConsoleItem, { type: 'event' }>;
type Problem = Extract<ConsoleItem, { type: 'denied' | 'auth' | 'dropped' }> & { key: number };
type Nodes = Extract<ConsoleItem, { type: 'nodes' }>;
type Status = 'connecting' | 'live' | 'reconnecting';

let nextKey = 0;

export function ConsoleTab({ appId }: { appId: string }) {
  const [subscriptions, setSubscriptions] = useState<Subscription[]>([
    { kind: 'pattern', value: '.*' },
  ]);
  const [status, setStatus] = useState<Status>('connecting');
  const [events, setEvents] = useState<(EventItem & { key: number })[]>([]);
  const [droppedEvents, setDroppedEvents] = useState(0);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [nodes, setNodes] = useState<Nodes | null>(null);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const held = useRef<(EventItem & { key: number })[]>([]);
  const [heldCount, setHeldCount] = useState(0);

  useEffect(() => {
    const source = new EventSource(streamUrl(appId, subscriptions));
    setStatus('connecting');
    source.addEventListener('ready', () => setStatus('live'));
    source.onerror = () => setStatus('reconnecting');
    const onItem = (message: MessageEvent<string>) => {
      const item = JSON.parse(message.data) as ConsoleItem;
      switch (item.type) {
        case 'event': {
          const keyed = { ...item, key: nextKey++ };
          if (pausedRef.current) {
            held.current = prepend(held.current, [keyed], MAX_EVENTS);
            setHeldCount(held.current.length);
          } else setEvents((list) => prepend(list, [keyed], MAX_EVENTS));
          return;
        }
        case 'dropped':
          if (item.what === 'events') setDroppedEvents((n) => n + item.count);
          setProblems((list) => prepend(list, [{ ...item, key: nextKey++ }], MAX_PROBLEMS));
          return;
        case 'denied':
        case 'auth':
          setProblems((list) => prepend(list, [{ ...item, key: nextKey++ }], MAX_PROBLEMS));
          return;
        case 'nodes':
          setNodes(item);
          return;
        case 'presence':
          setNodes((current) => {
            if (!current) return current;
            const online = new Set(current.online);
            if (item.online) online.add(item.user);
            else online.delete(item.user);
            return { ...current, online: [...online].sort() };
          });
          return;
      }
    };
    for (const type of STREAM_ITEM_TYPES) source.addEventListener(type, onItem);
    return () => source.close();
  }, [appId, subscriptions]);

  const togglePause = () => {
    const next = !paused;
    pausedRef.current = next;
    setPaused(next);
    if (!next) {
      const waiting = held.current;
      held.current = [];
      setHeldCount(0);
      setEvents((list) => [...waiting, ...list].slice(0, MAX_EVENTS));
    }
  };

  return (
    <div className="stack console">
      <p className="hint">
        Live traffic of this app on every realtime node. Publishing and RPCs act as user{' '}
        <code>hubstream:dashboard</code>, so the app's rules must allow that user.{' '}
        <span role="status" className={`console-status console-${status}`}>
          {status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
      </p>
      <div className="console-grid">
        <section aria-labelledby="console-events" className="card console-events">
          <h3 id="console-events">Events</h3>
          <Subscriptions value={subscriptions} onChange={setSubscriptions} />
          <div className="inline-form">
            <Button onClick={togglePause} aria-pressed={paused}>
              {paused ? `Resume${heldCount ? ` (${heldCount} new)` : ''}` : 'Pause'}
            </Button>
            <Button
              onClick={() => {
                setEvents([]);
                setDroppedEvents(0);
                held.current = [];
                setHeldCount(0);
              }}
            >
              Clear
            </Button>
            {droppedEvents > 0 ? (
              <span className="hint">{droppedEvents} more dropped (too many per second)</span>
            ) : null}
          </div>
          <EventList events={events} />
        </section>
        <section aria-labelledby="console-send" className="card">
          <h3 id="console-send">Publish an event</h3>
          <SendForm appId={appId} kind="event" />
          <h3>Make an RPC</h3>
          <SendForm appId={appId} kind="rpc" />
        </section>
        <section aria-labelledby="console-presence" className="card">
          <h3 id="console-presence">Online and connections</h3>
          <Presence nodes={nodes} />
        </section>
        <section aria-labelledby="console-problems" className="card console-problems">
          <h3 id="console-problems">Denials and failed logins</h3>
          <div className="inline-form">
            <Button onClick={() => setProblems([])}>Clear</Button>
          </div>
          <Problems problems={problems} />
        </section>
      </div>
    </div>
  );
}

function Subscriptions({
  value,
  onChange,
}: {
  value: Subscription[];
  onChange(next: Subscription[]): void;
}) {
  const [draft, setDraft] = useState('');
  const [kind, setKind] = useState<Subscription['kind']>('name');
  const add = (event: FormEvent) => {
    event.preventDefault();
    const text = draft.trim();
    if (!text || value.some((s) => s.kind === kind && s.value === text)) return;
    onChange([...value, { kind, value: text }]);
    setDraft('');
  };
  return (
    <div className="stack">
      <form className="inline-form" onSubmit={add} aria-label="Watch events">
        <Field
          label="Event name or pattern"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder={kind === 'name' ? 'chat/messages' : '^chat/'}
          maxLength={1024}
        />
        <div className="field">
          <label htmlFor="console-kind">Match</label>
          <select
            id="console-kind"
            value={kind}
            onChange={(e) => setKind(e.target.value as Subscription['kind'])}
          >
            <option value="name">Exact name</option>
            <option value="pattern">Pattern (regex)</option>
          </select>
        </div>
        <Button type="submit">Watch</Button>
      </form>
      {value.length === 0 ? (
        <p className="hint">Watching nothing: add a name or a pattern.</p>
      ) : (
        <ul className="chips" aria-label="Watching">
          {value.map((s) => (
            <li key={`${s.kind}:${s.value}`} className="chip">
              <span>
                {s.kind === 'pattern' ? 'pattern ' : ''}
                <code>{s.value}</code>
              </span>
              <button
                type="button"
                className="chip-remove"
                aria-label={`Stop watching ${s.value}`}
                onClick={() => onChange(value.filter((other) => other !== s))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function EventList({ events }: { events: (EventItem & { key: number })[] }) {
  if (events.length === 0) return <p className="hint">No events yet.</p>;
  return (
    <ol className="console-feed" aria-label="Events received" data-testid="console-events">
      {events.map((event) => (
        <li key={event.key} className="console-entry">
          <div className="console-meta">
            <time>{formatTime(event.at)}</time> <strong>{event.name}</strong>
            <span className="hint">
              {event.user ? ` by ${event.user}` : ''} on node {event.node}
            </span>
          </div>
          {event.data !== undefined ? (
            <CodeBlock className="console-data">
              {event.data}
              {event.truncated ? ' … (cut)' : ''}
            </CodeBlock>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

function SendForm({ appId, kind }: { appId: string; kind: 'event' | 'rpc' }) {
  const [name, setName] = useState('');
  const [data, setData] = useState('');
  const [answer, setAnswer] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  const action = useAction();
  const parsed = parseData(data);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!parsed.ok || !name.trim()) return;
    setAnswer(null);
    setSent(null);
    const body = parsed.data === undefined ? { name } : { name, data: parsed.data };
    return action.run(async () => {
      if (kind === 'event') {
        await api('POST', `/apps/${appId}/console/events`, body);
        setSent(`Published ${name}.`);
        return;
      }
      const reply = await api<{
        ok: boolean;
        data?: unknown;
        errorEvent?: string;
        message?: string;
      }>('POST', `/apps/${appId}/console/rpc`, body);
      setAnswer(
        reply.ok
          ? JSON.stringify(reply.data ?? null, null, 2)
          : `${reply.errorEvent}: ${reply.message ?? ''}`,
      );
    });
  };
  const label = kind === 'event' ? 'event' : 'RPC';
  return (
    <form className="stack" onSubmit={submit} aria-label={kind === 'event' ? 'Publish' : 'RPC'}>
      <Field
        label={`${kind === 'event' ? 'Event' : 'RPC'} name`}
        value={name}
        required
        maxLength={1024}
        onChange={(e) => setName(e.target.value)}
      />
      <TextArea
        label="Data (JSON, optional)"
        rows={3}
        value={data}
        onChange={(e) => setData(e.target.value)}
        error={parsed.ok ? undefined : parsed.message}
      />
      <div className="inline-form">
        <Button type="submit" variant="primary" busy={action.busy} disabled={!parsed.ok}>
          {kind === 'event' ? 'Publish' : 'Make RPC'}
        </Button>
      </div>
      {action.error ? <ErrorMessage error={action.error} /> : null}
      {sent ? (
        <p role="status" className="hint">
          {sent}
        </p>
      ) : null}
      {answer !== null ? (
        <div role="status">
          <p className="hint">The {label}'s answer:</p>
          <CodeBlock data-testid="rpc-answer">{answer}</CodeBlock>
        </div>
      ) : null}
    </form>
  );
}

function Presence({ nodes }: { nodes: Nodes | null }) {
  if (!nodes) return <p className="hint">Waiting for the realtime nodes…</p>;
  const total = nodes.nodes.reduce((sum, n) => sum + n.connections, 0);
  return (
    <div className="stack">
      <p>
        <strong data-testid="online-count">{nodes.online.length}</strong>{' '}
        {nodes.online.length === 1 ? 'user' : 'users'} online, {total}{' '}
        {total === 1 ? 'connection' : 'connections'}
      </p>
      {nodes.online.length > 0 ? (
        <ul className="chips" aria-label="Users online" data-testid="online-users">
          {nodes.online.map((user) => (
            <li key={user} className="chip">
              {user}
            </li>
          ))}
        </ul>
      ) : null}
      {nodes.onlineTruncated ? <p className="hint">Only the first users are listed.</p> : null}
      <div className="table-wrap">
        <table className="reflow">
          <caption className="visually-hidden">Connections per node</caption>
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Connections</th>
              <th scope="col">Users</th>
            </tr>
          </thead>
          <tbody>
            {nodes.nodes.map((n) => (
              <tr key={n.node}>
                <td data-label="Node">
                  <code>{n.node}</code>
                </td>
                <td data-label="Connections">{n.connections}</td>
                <td data-label="Users">{n.users}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function Problems({ problems }: { problems: Problem[] }) {
  if (problems.length === 0) return <p className="hint">Nothing denied, no failed logins.</p>;
  return (
    <ol
      className="console-feed"
      aria-label="Denials and failed logins"
      data-testid="console-problems"
    >
      {problems.map((p) => (
        <li key={p.key} className={`console-entry console-${p.type}`}>
          {p.type === 'dropped' ? (
            <em>
              {p.count} more {p.what === 'events' ? 'events' : 'denials and failed logins'} dropped
              (too many per second)
            </em>
          ) : p.type === 'denied' ? (
            <>
              <div className="console-meta">
                <time>{formatTime(p.at)}</time>{' '}
                <strong>{p.verdict === 'denied' ? 'Denied' : 'Rule error'}</strong> {p.topic}{' '}
                {p.action} <code>{p.name ?? ''}</code>
                <span className="hint">
                  {' '}
                  by {p.user ?? 'unknown user'} on node {p.node}
                </span>
              </div>
              <div className="hint">Rule: {describeRule(p.rule)}</div>
            </>
          ) : (
            <div className="console-meta">
              <time>{formatTime(p.at)}</time> <strong>Login failed</strong> ({p.reason})
              <span className="hint">
                {p.address ? ` from ${p.address}` : ''} on node {p.node}
              </span>
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}
