import { useId, useState } from 'react';
import { api } from '../api.ts';
import { OrgSwitcher } from '../components/org-switcher.tsx';
import {
  Button,
  ConfirmDialog,
  ErrorMessage,
  formatDate,
  Loading,
  Notice,
  PageTitle,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import {
  type Organisation,
  permissionsOf,
  type Role,
  type RoleTable,
  refreshOrganisations,
  selectOrganisation,
  useOrganisations,
} from '../orgs.tsx';
import { useSession } from '../session.tsx';
import { RoleTableView } from './role-table.tsx';
import { CreateOrganisation, GRANTABLE, InviteForm } from './team-forms.tsx';
import './team.css';

// The Team page (issue 18 item 5): the members of the organisation chosen
// in the sidebar, their roles, invitations, and what each role may do.
// Buttons the caller's role may not use are disabled and say why.

export type Member = { accountId: string; email: string; role: Role; joinedAt: string };
export type Invitation = {
  id: string;
  email: string;
  role: Role;
  invitedBy: string | null;
  createdAt: string;
  expiresAt: string;
};

export function TeamPage() {
  const orgs = useOrganisations();
  if (orgs.status === 'error') {
    return (
      <main className="page">
        <PageTitle>Team</PageTitle>
        <ErrorMessage error={orgs.error} onRetry={() => void refreshOrganisations()} />
      </main>
    );
  }
  if (!orgs.current) return <Loading label="Loading your organisations…" />;
  return <Team key={orgs.current.id} organisation={orgs.current} table={orgs.table} />;
}

function Team({ organisation, table }: { organisation: Organisation; table: RoleTable | null }) {
  const session = useSession();
  const me = session.status === 'in' ? session.account : null;
  const may = permissionsOf(table, organisation.role, `"${organisation.name}"`);
  const manage = may.can('members:manage');
  const manageWhy = may.explain('members:manage');
  const explainId = useId();
  const base = `/orgs/${organisation.id}`;
  const members = useAsync(
    () => api<{ members: Member[] }>('GET', `${base}/members`).then((r) => r.members),
    [base],
  );
  const invitations = useAsync(
    () =>
      api<{ invitations: Invitation[] }>('GET', `${base}/invitations`).then((r) => r.invitations),
    [base],
  );
  const [notice, setNotice] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<
    | { kind: 'remove'; member: Member }
    | { kind: 'transfer'; member: Member }
    | { kind: 'leave' }
    | null
  >(null);
  const dialog = useAction();
  const rowAction = useAction();

  const changeRole = (member: Member, role: Role) =>
    rowAction.run(async () => {
      setNotice(null);
      await api('PATCH', `${base}/members/${member.accountId}`, { role });
      setNotice(`${member.email} is now ${role === 'admin' ? 'an admin' : `a ${role}`}.`);
      members.reload();
    });

  const confirmed = () =>
    dialog.run(async () => {
      if (!confirm) return;
      if (confirm.kind === 'remove') {
        await api('DELETE', `${base}/members/${confirm.member.accountId}`);
        setNotice(`${confirm.member.email} was removed from ${organisation.name}.`);
        members.reload();
      } else if (confirm.kind === 'transfer') {
        await api('POST', `${base}/transfer`, { accountId: confirm.member.accountId });
        setNotice(`${confirm.member.email} owns ${organisation.name} now; you are an admin.`);
        members.reload();
        await refreshOrganisations();
      } else {
        await api('POST', `${base}/leave`);
        await refreshOrganisations();
        const own = await api<{ organisations: Organisation[] }>('GET', '/orgs');
        const next = own.organisations.find((o) => o.personal) ?? own.organisations[0];
        if (next) selectOrganisation(next.id);
      }
      setConfirm(null);
    });

  return (
    <main className="page team-page">
      <PageTitle>Team</PageTitle>
      <div className="org-switcher-inline">
        <OrgSwitcher />
      </div>
      <p className="hint">
        Organisation <strong>{organisation.name}</strong>
        {organisation.personal ? ' (your own)' : ''}. You are{' '}
        <span className="badge">{organisation.role}</span>. Switch organisations with the
        Organisation menu.
      </p>
      {manage ? null : (
        <p className="alert alert-info" id={explainId}>
          {manageWhy} Buttons for it are disabled.
        </p>
      )}
      {notice ? <Notice>{notice}</Notice> : null}
      <ErrorMessage error={rowAction.error} />

      <section className="card" aria-labelledby={`${explainId}-members`}>
        <h2 id={`${explainId}-members`}>Members</h2>
        {members.status === 'loading' ? <Loading label="Loading members…" /> : null}
        {members.status === 'error' ? (
          <ErrorMessage error={members.error} onRetry={members.reload} />
        ) : null}
        {members.status === 'ok' ? (
          <div className="table-wrap">
            <table className="reflow">
              <caption className="visually-hidden">Members of {organisation.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {members.data.map((member) => {
                  const isMe = member.accountId === me?.id;
                  const isOwner = member.role === 'owner';
                  return (
                    <tr key={member.accountId}>
                      <td data-label="Email" className="break">
                        {member.email} {isMe ? <span className="badge">you</span> : null}
                      </td>
                      <td data-label="Role">
                        {isOwner || !manage ? (
                          <span>{member.role}</span>
                        ) : (
                          <select
                            aria-label={`Role of ${member.email}`}
                            value={member.role}
                            disabled={rowAction.busy}
                            onChange={(e) => void changeRole(member, e.target.value as Role)}
                          >
                            {GRANTABLE.map((role) => (
                              <option key={role} value={role}>
                                {role}
                              </option>
                            ))}
                          </select>
                        )}
                      </td>
                      <td data-label="Joined">{formatDate(member.joinedAt)}</td>
                      <td className="actions">
                        {isMe && !isOwner ? (
                          <Button onClick={() => setConfirm({ kind: 'leave' })}>Leave</Button>
                        ) : null}
                        {!isMe && !isOwner ? (
                          <Button
                            variant="danger"
                            aria-label={`Remove ${member.email}`}
                            disabled={!manage}
                            aria-describedby={manage ? undefined : explainId}
                            onClick={() => setConfirm({ kind: 'remove', member })}
                          >
                            Remove
                          </Button>
                        ) : null}
                        {!isMe && organisation.role === 'owner' ? (
                          <Button
                            aria-label={`Make owner: ${member.email}`}
                            onClick={() => setConfirm({ kind: 'transfer', member })}
                          >
                            Make owner
                          </Button>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
        {organisation.role === 'owner' ? (
          <p className="hint">
            You own this organisation. To leave it, make another member the owner first.
          </p>
        ) : null}
      </section>

      <InviteForm
        base={base}
        disabled={!manage}
        describedBy={manage ? undefined : explainId}
        onInvited={(email) => {
          setNotice(`We have mailed an invitation to ${email}.`);
          invitations.reload();
        }}
      />

      <section className="card" aria-labelledby={`${explainId}-pending`}>
        <h2 id={`${explainId}-pending`}>Pending invitations</h2>
        {invitations.status === 'loading' ? <Loading label="Loading invitations…" /> : null}
        {invitations.status === 'error' ? (
          <ErrorMessage error={invitations.error} onRetry={invitations.reload} />
        ) : null}
        {invitations.status === 'ok' && invitations.data.length === 0 ? (
          <p className="hint">No invitations are waiting.</p>
        ) : null}
        {invitations.status === 'ok' && invitations.data.length > 0 ? (
          <div className="table-wrap">
            <table className="reflow">
              <caption className="visually-hidden">Pending invitations</caption>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Invited by</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {invitations.data.map((invitation) => (
                  <tr key={invitation.id}>
                    <td data-label="Email" className="break">
                      {invitation.email}
                    </td>
                    <td data-label="Role">{invitation.role}</td>
                    <td data-label="Invited by" className="break">
                      {invitation.invitedBy ?? '—'}
                    </td>
                    <td data-label="Expires">{formatDate(invitation.expiresAt)}</td>
                    <td className="actions">
                      <Button
                        aria-label={`Withdraw the invitation of ${invitation.email}`}
                        disabled={!manage || rowAction.busy}
                        aria-describedby={manage ? undefined : explainId}
                        onClick={() =>
                          void rowAction.run(async () => {
                            await api('DELETE', `${base}/invitations/${invitation.id}`);
                            setNotice(`The invitation of ${invitation.email} was withdrawn.`);
                            invitations.reload();
                          })
                        }
                      >
                        Withdraw
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>

      <CreateOrganisation />
      <RoleTableView table={table} />

      <ConfirmDialog
        open={confirm !== null}
        title={
          confirm?.kind === 'remove'
            ? `Remove ${confirm.member.email}?`
            : confirm?.kind === 'transfer'
              ? `Make ${confirm.member.email} the owner?`
              : `Leave ${organisation.name}?`
        }
        confirmLabel={
          confirm?.kind === 'remove'
            ? 'Remove the member'
            : confirm?.kind === 'transfer'
              ? 'Transfer ownership'
              : 'Leave the organisation'
        }
        busy={dialog.busy}
        error={dialog.error}
        onConfirm={() => void confirmed()}
        onCancel={() => setConfirm(null)}
      >
        <p>
          {confirm?.kind === 'remove'
            ? `They lose access to every app of ${organisation.name} at once.`
            : confirm?.kind === 'transfer'
              ? `They become the owner of ${organisation.name}, and you become an admin. Only they can give it back.`
              : `You lose access to every app of ${organisation.name}. You can join again only with a new invitation.`}
        </p>
      </ConfirmDialog>
    </main>
  );
}
