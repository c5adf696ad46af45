import { type FormEvent, useId, useState } from 'react';
import { api } from '../api.ts';
import { Button, ErrorMessage, Field, useAction } from '../components/ui.tsx';
import {
  type Organisation,
  type Role,
  refreshOrganisations,
  selectOrganisation,
} from '../orgs.tsx';

// The Team page's two forms: inviting a member, and creating an organisation.

/** The roles an invitation or a role change may grant (ownership is transferred, not granted). */
export const GRANTABLE: Role[] = ['admin', 'developer', 'viewer'];

export function InviteForm({
  base,
  disabled,
  describedBy,
  onInvited,
}: {
  base: string;
  disabled: boolean;
  describedBy: string | undefined;
  onInvited(email: string): void;
}) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const roleId = useId();
  const { busy, error, run, setError } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) {
      setError(new Error('Enter the email address to invite, like name@example.com.'));
      return;
    }
    await run(async () => {
      await api('POST', `${base}/invitations`, { email: email.trim(), role });
      onInvited(email.trim());
      setEmail('');
    });
  };
  return (
    <form className="card" aria-label="Invite a member" onSubmit={submit} noValidate>
      <h2>Invite a member</h2>
      <div className="inline-form invite-form">
        <Field
          label="Email address"
          type="email"
          value={email}
          maxLength={254}
          disabled={disabled}
          onChange={(e) => setEmail(e.target.value)}
          placeholder="colleague@example.com"
        />
        <div className="field">
          <label htmlFor={roleId}>Role</label>
          <select
            id={roleId}
            value={role}
            disabled={disabled}
            onChange={(e) => setRole(e.target.value as Role)}
          >
            {GRANTABLE.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <Button
          type="submit"
          variant="primary"
          busy={busy}
          disabled={disabled}
          aria-describedby={describedBy}
        >
          Send invitation
        </Button>
      </div>
      <p className="hint">
        We mail a link that works for 7 days. Someone without a Hubstream account can create one
        from it.
      </p>
      <ErrorMessage error={error} />
    </form>
  );
}

export function CreateOrganisation() {
  const [name, setName] = useState('');
  const { busy, error, run, setError } = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!name.trim()) {
      setError(new Error('Give the organisation a name.'));
      return;
    }
    await run(async () => {
      const created = await api<Organisation>('POST', '/orgs', { name: name.trim() });
      await refreshOrganisations();
      selectOrganisation(created.id);
      setName('');
    });
  };
  return (
    <form className="card" aria-label="Create an organisation" onSubmit={submit} noValidate>
      <h2>New organisation</h2>
      <p className="hint">For a team: you own it, and invite the others.</p>
      <div className="inline-form">
        <Field
          label="Organisation name"
          value={name}
          maxLength={100}
          onChange={(e) => setName(e.target.value)}
          placeholder="Acme engineering"
        />
        <Button type="submit" busy={busy}>
          Create organisation
        </Button>
      </div>
      <ErrorMessage error={error} />
    </form>
  );
}
