import type { RoleTable } from '../orgs.tsx';

/** The server's role table (GET /v1/roles), as it decides. */
export function RoleTableView({ table }: { table: RoleTable | null }) {
  if (!table) return null;
  return (
    <section className="card" aria-labelledby="role-table-title">
      <h2 id="role-table-title">What each role may do</h2>
      {/* Wider than a phone: the box scrolls, so the keyboard must reach it. */}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling box must be reachable by keyboard */}
      <div className="table-wrap" tabIndex={0}>
        <table className="role-table">
          <caption className="visually-hidden">Roles and what they may do</caption>
          <thead>
            <tr>
              <th scope="col">Action</th>
              {table.roles.map((role) => (
                <th scope="col" key={role}>
                  {role}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.actions.map((row) => (
              <tr key={row.action}>
                <th scope="row">{row.label}</th>
                {table.roles.map((role) => (
                  <td key={role} className={row.allowed[role] ? 'yes' : 'no'}>
                    <span aria-hidden="true">{row.allowed[role] ? '✓' : '—'}</span>
                    <span className="visually-hidden">
                      {row.allowed[role] ? 'allowed' : 'not allowed'}
                    </span>
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
