import { readFileSync } from 'node:fs';
import { configSchema } from '@hubstream/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// There is no Docker engine where we build, so docker-compose.yml is kept
// correct by reading it: every variable it gives Hubstream must exist in the
// config schema, and every command it runs must be a workspace script.

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
  restart?: string;
  container_name?: string;
};

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const rootScripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
  .scripts;
const hubstreamServices = Object.entries(compose.services).filter(([, s]) => s.build);
const configDefaults = configSchema.properties as Record<string, { default?: unknown }>;

const ROLES = ['control-plane', 'realtime', 'worker'] as const;
const service = (name: string): Service => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no ${name} service`);
  return found;
};
/** The port a role listens on: its variable in the service, else the schema default. */
const portOf = (name: string, variable: string) =>
  service(name).environment?.[variable] ?? String(configDefaults[variable]?.default);
const healthcheckOf = (name: string) => [service(name).healthcheck?.test ?? []].flat().join(' ');

describe('docker-compose.yml', () => {
  it('has postgres, redis and one service per production role, and nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['control-plane', 'postgres', 'realtime', 'redis', 'worker'].sort(),
    );
    expect(hubstreamServices.map(([name]) => name).sort()).toEqual([...ROLES].sort());
  });

  it.each(ROLES)('%s runs its own root script', (role) => {
    expect(service(role).command).toEqual(['pnpm', `start:${role}`]);
  });

  it('restarts every service and keeps Redis durable', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.restart, `${name} restart policy`).toMatch(/^(unless-stopped|always|on-failure)/);
    }
    expect(service('redis').command).toEqual(['redis-server', '--appendonly', 'yes']);
  });

  it('starts the realtime nodes and the worker after the control plane (which migrates)', () => {
    for (const role of ['realtime', 'worker']) {
      expect(service(role).depends_on?.['control-plane']).toEqual({
        condition: 'service_healthy',
      });
    }
  });

  it('publishes the control plane on its port', () => {
    const port = portOf('control-plane', 'HTTP_PORT');
    expect(service('control-plane').environment?.HTTP_HOST).toBe('0.0.0.0');
    expect(service('control-plane').ports).toContain(`${port}:${port}`);
    expect(healthcheckOf('control-plane')).toContain(`127.0.0.1:${port}/ready`);
  });

  it('publishes realtime nodes on a range of host ports so that the service can be scaled', () => {
    const port = portOf('realtime', 'REALTIME_PORT');
    const realtime = service('realtime');
    expect(realtime.environment?.REALTIME_HOST).toBe('0.0.0.0');
    expect(realtime.container_name).toBeUndefined();
    const [mapping] = realtime.ports ?? [];
    const [, from, to, target] = /^(\d+)-(\d+):(\d+)$/.exec(mapping ?? '') ?? [];
    expect(target).toBe(port);
    expect(Number(to) - Number(from)).toBeGreaterThan(0);
    expect(healthcheckOf('realtime')).toContain(`127.0.0.1:${port}/ready`);
  });

  it("checks the worker's health server on its port", () => {
    const port = portOf('worker', 'WORKER_PORT');
    expect(healthcheckOf('worker')).toContain(`127.0.0.1:${port}/ready`);
  });

  it.each(hubstreamServices)('%s sets only variables of the config schema', (_name, service) => {
    const variables = Object.keys(service.environment ?? {});
    expect(variables.length).toBeGreaterThan(0);
    for (const variable of variables) {
      expect(Object.keys(configSchema.properties), `${variable} is in the schema`).toContain(
        variable,
      );
    }
  });

  it.each(hubstreamServices)('%s runs a script of the workspace', (_name, service) => {
    const [bin, script, ...rest] = service.command ?? [];
    expect(bin).toBe('pnpm');
    expect(rest).toEqual([]);
    expect(Object.keys(rootScripts)).toContain(script);
  });

  it('has a healthcheck on every service and waits for healthy dependencies', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test, `${name} healthcheck`).toBeTruthy();
      for (const [dependency, condition] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} depends on a defined service`).toBeTruthy();
        expect(condition.condition).toBe('service_healthy');
      }
    }
  });

  it('points Hubstream at the compose Postgres and Redis', () => {
    for (const [, service] of hubstreamServices) {
      expect(service.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
      expect(service.environment?.REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('runs a workspace script by default', () => {
    const cmd = /^CMD \[(.*)\]$/m.exec(dockerfile)?.[1];
    const [bin, script] = JSON.parse(`[${cmd}]`) as string[];
    expect(bin).toBe('pnpm');
    expect(Object.keys(rootScripts)).toContain(script);
  });

  it('installs from the lockfile and does not run as root', () => {
    expect(dockerfile).toContain('pnpm install --frozen-lockfile');
    expect(dockerfile).toMatch(/^USER node$/m);
  });
});
