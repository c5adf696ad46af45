import { useId } from 'react';
import { selectOrganisation, useOrganisations } from '../orgs.tsx';
import { Link, useLocation } from '../router.tsx';

// The sidebar's organisation switcher and its Team link: the apps listed,
// the Apps page and the Team page are those of the organisation chosen here.

export function OrgSwitcher() {
  const { organisations, current } = useOrganisations();
  const { path } = useLocation();
  const id = useId();
  if (organisations.length === 0) return null;
  return (
    <div className="org-switcher">
      <label htmlFor={id}>Organisation</label>
      <select
        id={id}
        value={current?.id ?? ''}
        onChange={(event) => selectOrganisation(event.target.value)}
      >
        {organisations.map((o) => (
          <option key={o.id} value={o.id}>
            {o.personal ? `${o.name} (yours)` : o.name} · {o.role}
          </option>
        ))}
      </select>
      <Link
        to="/team"
        className="org-team-link"
        aria-current={path === '/team' ? 'page' : undefined}
      >
        Team
      </Link>
    </div>
  );
}
