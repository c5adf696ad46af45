import { existsSync, readFileSync } from 'node:fs';
import { configSchema, loadConfig } from '@hubstream/config';
import { assertSecureListen } from '@hubstream/service';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  dockerfileStages,
  execForm,
  imageCommand,
  nodeFlags,
  STANDALONE_MALLOC_ENV,
  sourceOfImagePath,
} from './deployment-files.ts';

// There is no Docker engine where we build, so docker-compose.yml and the
// Caddyfile it mounts are kept correct by reading them: every variable the
// stack gives Hubstream must exist in the config schema and form a valid
// configuration, every command must run a built entry point, and Caddy's
// sites must reach the services on the ports they listen on.

const root = new URL('../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

type Service = {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  restart?: string;
  container_name?: string;
  stop_grace_period?: string;
};
type Compose = {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  networks?: Record<string, { ipam?: { config?: { subnet: string; ip_range?: string }[] } }>;
};

const compose = parse(read('docker-compose.yml')) as Compose;
const rootScripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
  .scripts;
/** The one-shot services: they run to completion, nothing depends on them being healthy. */
const ONE_SHOT = ['migrate'];
const hubstreamServices = Object.entries(compose.services).filter(([, s]) => s.build);
const configDefaults = configSchema.properties as Record<string, { default?: unknown }>;

const ROLES = ['control-plane', 'realtime', 'worker'] as const;
const BEHIND_CADDY = ['control-plane', 'realtime'] as const;
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
  return found;
};

/**
 * Compose's interpolation of `${VAR}`, `${VAR:-default}` and
 * `${VAR:?error}` with the given variables (unset ones are empty).
 */
function interpolate(value: string, variables: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_all, name, op, arg) => {
    const set = variables[name];
    if (set !== undefined && set !== '') return set;
    if (op === '-') return arg;
    if (op === '?') throw new Error(`${name} is required: ${arg}`);
    return '';
  });
}
/** What `docker compose up` with only POSTGRES_PASSWORD set gives a service. */
const SHELL = { POSTGRES_PASSWORD: 'a-password' };
const environmentOf = (name: string) =>
  Object.fromEntries(
    Object.entries(service(name).environment ?? {}).map(([k, v]) => [
      k,
      interpolate(String(v), SHELL),
    ]),
  );
/** A setting as a role's process sees it: its environment, else the schema default. */
const settingOf = (name: string, variable: string) =>
  environmentOf(name)[variable] || String(configDefaults[variable]?.default);
const healthcheckOf = (name: string) => [service(name).healthcheck?.test ?? []].flat().join(' ');

// A small reader for the Caddyfile: blocks of directives, comments dropped,
// `{$VAR:default}` placeholders kept as written.
type Directive = { tokens: string[]; block: Directive[] };
function parseCaddyfile(text: string): Directive[] {
  const top: Directive[] = [];
  const stack: Directive[][] = [top];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') continue;
    const current = stack.at(-1) as Directive[];
    if (line === '}') {
      stack.pop();
      if (stack.length === 0) throw new Error('Caddyfile: unbalanced }');
      continue;
    }
    const opens = line.endsWith('{') && !line.endsWith('}{');
    const tokens = (opens ? line.slice(0, -1) : line).match(/"[^"]*"|\S+/g) ?? [];
    const directive: Directive = { tokens, block: [] };
    current.push(directive);
    if (opens) stack.push(directive.block);
  }
  if (stack.length !== 1) throw new Error('Caddyfile: a block is not closed');
  return top;
}
const caddyfile = parseCaddyfile(read('infra/Caddyfile'));
/** Caddy's `{$VAR:default}` with the caddy service's environment. */
const caddyEnvironment = () => environmentOf('caddy');
const siteAddress = (written: string) =>
  written.replace(/\{\$(\w+)(?::([^}]*))?\}/g, (_all, name, fallback) => {
    return caddyEnvironment()[name] || fallback || '';
  });
const sites = caddyfile
  .filter((d) => d.tokens.length > 0 && d.block.length > 0)
  .map((d) => ({ written: d.tokens.join(' '), address: siteAddress(d.tokens.join(' ')), ...d }));
const site = (address: string) => {
  const found = sites.find((s) => s.address === address);
  if (!found) {
    throw new Error(`the Caddyfile has no site ${address} (${sites.map((s) => s.address)})`);
  }
  return found;
};
const directives = (block: Directive[], name: string) => block.filter((d) => d.tokens[0] === name);

const hostPort = (url: string) => {
  const { hostname, port, protocol } = new URL(url);
  return port === '' || (protocol === 'https:' && port === '443')
    ? hostname
    : `${hostname}:${port}`;
};

describe('docker-compose.yml', () => {
  it('has Caddy, Postgres, Redis and one service per production role, and nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['caddy', 'control-plane', 'migrate', 'postgres', 'realtime', 'redis', 'worker'].sort(),
    );
    expect(hubstreamServices.map(([name]) => name).sort()).toEqual([...ROLES, ...ONE_SHOT].sort());
  });

  it.each(ROLES)(
    '%s runs node on its built entry point (no pnpm between it and its signals)',
    (role) => {
      expect(service(role).command).toEqual([
        'node',
        ...nodeFlags(role),
        `node_modules/@hubstream/${role}/dist/main.js`,
      ]);
      expect(sourceOfImagePath(`node_modules/@hubstream/${role}/dist/main.js`)).toBe(
        `apps/${role}/src/main.ts`,
      );
    },
  );

  it('restarts every long-running service, and the one-shot migrate never', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (ONE_SHOT.includes(name)) {
        expect(s.restart, `${name} restart policy`).toBe('no');
        continue;
      }
      expect(s.restart, `${name} restart policy`).toMatch(/^(unless-stopped|always|on-failure)/);
    }
  });

  it('migrates the database (`pnpm migrate`) before the control plane starts', () => {
    expect(service('migrate').command).toEqual([
      'node',
      '--enable-source-maps',
      'node_modules/@hubstream/control-plane/dist/migrate.js',
    ]);
    expect(rootScripts.migrate).toContain(
      'node --enable-source-maps apps/control-plane/dist/migrate.js',
    );
    expect(service('migrate').depends_on?.postgres).toEqual({ condition: 'service_healthy' });
    expect(service('control-plane').depends_on?.migrate).toEqual({
      condition: 'service_completed_successfully',
    });
  });

  it('keeps Postgres, Redis (append-only) and Caddy certificates in named volumes', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const mounts = (name: string) =>
      Object.fromEntries((service(name).volumes ?? []).map((v) => v.split(':').reverse()));
    expect(mounts('postgres')['/var/lib/postgresql/data']).toBe('postgres-data');
    expect(mounts('redis')['/data']).toBe('redis-data');
    expect(mounts('caddy')['/data']).toBe('caddy-data');
    for (const volume of ['postgres-data', 'redis-data', 'caddy-data']) {
      expect(declared).toContain(volume);
    }
    const redis = service('redis').command ?? [];
    expect(redis[0]).toBe('redis-server');
    expect(redis.join(' ')).toContain('--appendonly yes');
    // BullMQ's queues must never be evicted.
    expect(redis.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('requires a Postgres password instead of shipping one', () => {
    expect(service('postgres').environment?.POSTGRES_PASSWORD).toMatch(
      /^\$\{POSTGRES_PASSWORD:\?.+\}$/,
    );
    expect(() => environmentOf('postgres')).not.toThrow();
    expect(() =>
      interpolate(String(service('postgres').environment?.POSTGRES_PASSWORD), {}),
    ).toThrow(/POSTGRES_PASSWORD is required/);
  });

  it('starts the realtime nodes and the worker after the control plane (which migrates)', () => {
    for (const role of ['realtime', 'worker']) {
      expect(service(role).depends_on?.['control-plane']).toEqual({
        condition: 'service_healthy',
      });
    }
  });

  it('has a healthcheck on every service and waits for healthy dependencies', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (!ONE_SHOT.includes(name)) expect(s.healthcheck?.test, `${name} healthcheck`).toBeTruthy();
      for (const [dependency, condition] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} depends on a defined service`).toBeTruthy();
        expect(condition.condition).toBe(
          ONE_SHOT.includes(dependency) ? 'service_completed_successfully' : 'service_healthy',
        );
      }
    }
  });

  it.each([
    ['control-plane', 'HTTP_HOST', 'HTTP_PORT'],
    ['realtime', 'REALTIME_HOST', 'REALTIME_PORT'],
    ['worker', 'WORKER_HOST', 'WORKER_PORT'],
  ])('%s listens on the network and checks /ready on its port', (role, host, port) => {
    expect(settingOf(role, host)).toBe('0.0.0.0');
    expect(healthcheckOf(role)).toContain(`127.0.0.1:${settingOf(role, port)}/ready`);
  });

  it('publishes host ports on Caddy only, so that realtime nodes can be scaled', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (name !== 'caddy') expect(s.ports, `${name} has no host port`).toBeUndefined();
      expect(s.container_name, `${name} has no fixed container name`).toBeUndefined();
    }
    expect(service('realtime').expose).toEqual([settingOf('realtime', 'REALTIME_PORT')]);
    expect(service('control-plane').expose).toEqual([settingOf('control-plane', 'HTTP_PORT')]);
  });

  it('gives every role longer than its drain (SHUTDOWN_TIMEOUT_MS) to stop', () => {
    for (const role of ROLES) {
      const grace = /^(\d+)s$/.exec(service(role).stop_grace_period ?? '10s')?.[1];
      expect(Number(grace) * 1000).toBeGreaterThan(Number(settingOf(role, 'SHUTDOWN_TIMEOUT_MS')));
    }
  });

  it.each(hubstreamServices)('%s sets only variables of the config schema', (name, s) => {
    const variables = Object.keys(s.environment ?? {});
    expect(variables.length).toBeGreaterThan(0);
    for (const variable of variables) {
      expect(Object.keys(configSchema.properties), `${variable} is in the schema`).toContain(
        variable,
      );
    }
    // With the defaults of docker-compose.yml, the values are valid too.
    expect(() => loadConfig(environmentOf(name))).not.toThrow();
  });

  it.each(hubstreamServices)('%s runs node on a file built from the workspace', (name, s) => {
    const [bin, ...args] = s.command ?? [];
    const file = args.pop();
    expect([bin, args]).toEqual(['node', nodeFlags(name)]);
    expect(sourceOfImagePath(String(file)), `${file} is built from a source file`).toBeDefined();
  });

  it('points Hubstream at the compose Postgres and Redis', () => {
    for (const [name] of hubstreamServices) {
      expect(environmentOf(name).DATABASE_URL).toBe(
        'postgresql://hubstream:a-password@postgres:5432/hubstream',
      );
      if (ONE_SHOT.includes(name)) continue;
      expect(environmentOf(name).REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
    }
  });
});

describe('Caddy in docker-compose.yml', () => {
  it('mounts infra/Caddyfile and keeps its certificates in a volume', () => {
    const caddy = service('caddy');
    expect(caddy.image).toMatch(/^caddy:2\.\d+/);
    expect(caddy.volumes).toContain('./infra/Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(existsSync(new URL('infra/Caddyfile', root))).toBe(true);
  });

  it('publishes HTTP (ACME, redirects), HTTPS and the realtime site port', () => {
    const ports = service('caddy').ports ?? [];
    expect(ports).toEqual(expect.arrayContaining(['80:80', '443:443']));
    for (const { address } of sites.filter((s) => !s.address.startsWith('http://'))) {
      const port = /:(\d+)$/.exec(address)?.[1] ?? '443';
      expect(ports, `${address} is reachable`).toContain(`${port}:${port}`);
    }
  });

  it("checks Caddy's health on the Caddyfile's internal health site", () => {
    const health = site('http://:2020');
    expect(directives(health.block, 'respond')[0]?.tokens.slice(0, 2)).toEqual([
      'respond',
      '/health',
    ]);
    expect(healthcheckOf('caddy')).toContain('http://127.0.0.1:2020/health');
    expect(service('caddy').ports?.some((p) => p.includes('2020'))).toBe(false);
  });

  it('serves the control plane at PUBLIC_HTTP_URL and proxies it to its port', () => {
    const publicUrl = settingOf('control-plane', 'PUBLIC_HTTP_URL');
    expect(publicUrl).toMatch(/^https:\/\//);
    const controlPlane = site(hostPort(publicUrl));
    const [proxy, ...more] = directives(controlPlane.block, 'reverse_proxy');
    expect(more).toEqual([]);
    expect(proxy?.tokens).toEqual([
      'reverse_proxy',
      `control-plane:${settingOf('control-plane', 'HTTP_PORT')}`,
    ]);
  });

  it('serves the realtime nodes at PUBLIC_REALTIME_URL, balanced over every replica', () => {
    const publicUrl = settingOf('realtime', 'PUBLIC_REALTIME_URL');
    expect(publicUrl).toMatch(/^wss:\/\//);
    expect(settingOf('control-plane', 'PUBLIC_REALTIME_URL')).toBe(publicUrl);
    const realtime = site(hostPort(publicUrl.replace(/^wss:/, 'https:')));
    const [proxy, ...more] = directives(realtime.block, 'reverse_proxy');
    expect(more).toEqual([]);
    // No fixed upstream: the `realtime` service's DNS name, resolved again
    // and again, yields every replica.
    expect(proxy?.tokens).toEqual(['reverse_proxy']);
    const [dynamic] = directives(proxy?.block ?? [], 'dynamic');
    expect(dynamic?.tokens).toEqual(['dynamic', 'a']);
    const option = (name: string) =>
      directives(dynamic?.block ?? [], name)[0]
        ?.tokens.slice(1)
        .join(' ');
    expect(option('name')).toBe('realtime');
    expect(option('port')).toBe(settingOf('realtime', 'REALTIME_PORT'));
    expect(option('refresh')).toMatch(/^\d+s$/);
    // A retry after a refused connection must go to another node.
    expect(directives(proxy?.block ?? [], 'lb_policy')[0]?.tokens[1]).toBe('round_robin');
    expect(directives(proxy?.block ?? [], 'lb_try_duration')[0]?.tokens[1]).toMatch(/^\d+s$/);
  });

  it('never serves /metrics publicly', () => {
    for (const s of sites.filter((s) => directives(s.block, 'reverse_proxy').length > 0)) {
      expect(
        directives(s.block, 'respond').map((d) => d.tokens.join(' ')),
        `${s.written} hides /metrics`,
      ).toContain('respond /metrics 404');
    }
  });

  it.each(BEHIND_CADDY)(
    '%s knows TLS terminates at Caddy and believes X-Forwarded-* from Caddy only',
    (role) => {
      const config = loadConfig(environmentOf(role));
      expect(config.TLS_TERMINATED_BY_PROXY).toBe(true);
      expect(config.TLS_CERT_FILE).toBeUndefined();
      expect(config.ALLOW_PLAINTEXT).toBe(false);
      const caddyAddress = service('caddy').networks?.default?.ipv4_address;
      expect(config.TRUSTED_PROXIES).toBe(caddyAddress);
      // The servers' own secure-by-default rule lets them listen there.
      const hostVariable = role === 'realtime' ? 'REALTIME_HOST' : 'HTTP_HOST';
      expect(() =>
        assertSecureListen(config, { server: role, host: config[hostVariable], hostVariable }),
      ).not.toThrow();
    },
  );

  it('gives Caddy a fixed address that Docker never hands to another container', () => {
    const caddyAddress = String(service('caddy').networks?.default?.ipv4_address);
    const [pool] = compose.networks?.default?.ipam?.config ?? [];
    const toNumber = (ip: string) =>
      ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    const inRange = (ip: string, cidr: string) => {
      const [base = '', bits = '32'] = cidr.split('/');
      const size = 2 ** (32 - Number(bits));
      return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
    };
    expect(inRange(caddyAddress, String(pool?.subnet))).toBe(true);
    expect(inRange(caddyAddress, String(pool?.ip_range))).toBe(false);
    expect(inRange(String(pool?.ip_range?.split('/')[0]), String(pool?.subnet))).toBe(true);
    for (const [name, s] of Object.entries(compose.services)) {
      if (name !== 'caddy')
        expect(s.networks, `${name} gets an address from the range`).toBeUndefined();
    }
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages();
  const stage = (name: string) => {
    const found = stages.find((s) => s.name === name);
    if (!found) throw new Error(`the Dockerfile has no ${name} stage`);
    return found;
  };
  const runs = (name: string) =>
    stage(name)
      .instructions.filter((i) => i.keyword === 'RUN')
      .map((i) => i.args);
  const packageManager = (JSON.parse(read('package.json')) as { packageManager: string })
    .packageManager;

  it('has a dependency stage, a build stage and a runtime stage, in that order', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
    expect(stage('build').from).toBe('deps');
    // The runtime starts afresh from Node: nothing of the build comes along but what is copied.
    expect(stage('runtime').from).toBe(stage('deps').from);
    expect(stage('runtime').from).toMatch(/^node:20/);
  });

  it(`pins pnpm through corepack to package.json's packageManager (${packageManager})`, () => {
    expect(packageManager).toMatch(/^pnpm@\d+\.\d+\.\d+$/);
    const deps = runs('deps').join(' && ');
    expect(deps).toContain('corepack enable');
    expect(deps).toContain('corepack install');
    // No other way in for pnpm: not npm install -g, not an unpinned version.
    expect(read('Dockerfile')).not.toMatch(/npm install -g|pnpm@\d+(?!\.)/);
  });

  it('fetches the packages from the lockfile alone, in a layer before the sources', () => {
    const copies = stage('deps').instructions.filter((i) => i.keyword === 'COPY');
    expect(copies.map((c) => c.args)).toEqual([
      'package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc .pnpmfile.cjs ./',
    ]);
    expect(runs('deps').join(' && ')).toContain('pnpm fetch');
    const build = stage('build').instructions;
    expect(build[0]).toEqual({ keyword: 'COPY', args: '. .' });
    expect(runs('build')).toContain('pnpm install --frozen-lockfile --offline');
    expect(runs('build')).toContain('pnpm build');
  });

  it('deploys the production dependencies only into the runtime stage, and no sources', () => {
    const deploy = runs('build').find((r) => r.includes(' deploy '));
    expect(deploy).toContain('--filter @hubstream/standalone');
    expect(deploy).toContain('--prod');
    expect(deploy).toMatch(/ \/deploy$/);
    const runtime = stage('runtime').instructions;
    const copies = runtime.filter((i) => i.keyword === 'COPY');
    expect(copies.map((c) => c.args)).toEqual(['--from=build /deploy /app']);
    // Nothing is installed by pnpm or npm in the runtime stage.
    expect(runs('runtime').join(' ')).not.toMatch(/pnpm|npm |corepack/);
  });

  it('runs node as PID 1 under tini, as a non-root user, with a HEALTHCHECK', () => {
    const { entrypoint, cmd, workdir } = imageCommand();
    expect(entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(runs('runtime').join(' ')).toContain('apt-get install -y --no-install-recommends tini');
    expect(cmd).toEqual(['node', ...nodeFlags('standalone'), 'dist/main.js']);
    expect(sourceOfImagePath(cmd.at(-1)!)).toBe('apps/standalone/src/main.ts');
    expect(workdir).toBe('/app');
    const user = stage('runtime').instructions.filter((i) => i.keyword === 'USER');
    expect(user.map((u) => u.args)).toEqual(['node']);
    const healthcheck = stage('runtime').instructions.find((i) => i.keyword === 'HEALTHCHECK');
    const probe = execForm(String(healthcheck?.args.split(/\s+CMD\s+/)[1]));
    expect(probe).toEqual(['node', 'dist/healthcheck.js']);
    expect(sourceOfImagePath(probe[1]!)).toBe('apps/standalone/src/healthcheck.ts');
  });

  it('listens on the container addresses and keeps its data in a directory the server may write', () => {
    const env = stage('runtime')
      .instructions.filter((i) => i.keyword === 'ENV')
      .map((i) => i.args)
      .join(' ');
    for (const host of ['HTTP_HOST', 'REALTIME_HOST', 'WORKER_HOST']) {
      expect(env).toContain(`${host}=0.0.0.0`);
    }
    expect(env).toContain('DATA_DIR=/data');
    expect(runs('runtime').join(' ')).toContain('chown node:node /data');
  });

  it("sets pnpm start's malloc variables, so its default command idles as measured", () => {
    const env = stage('runtime')
      .instructions.filter((i) => i.keyword === 'ENV')
      .flatMap((i) => i.args.split(/\s+/));
    for (const [name, value] of Object.entries(STANDALONE_MALLOC_ENV)) {
      expect(env).toContain(`${name}=${value}`);
    }
  });

  it('keeps local state, secrets and build output out of the build context', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', '**/node_modules', '**/dist', '.hubstream', '.env']) {
      expect(ignored).toContain(entry);
    }
  });
});
