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
};

const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service> };
const rootScripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> })
  .scripts;
const hubstreamServices = Object.entries(compose.services).filter(([, s]) => s.build);
const configDefaults = configSchema.properties as Record<string, { default?: unknown }>;

describe('docker-compose.yml', () => {
  it('has postgres, redis and at least one Hubstream service', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['postgres', 'redis']));
    expect(hubstreamServices.length).toBeGreaterThan(0);
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

  it.each(hubstreamServices)('%s publishes the ports it listens on', (_name, service) => {
    const env = service.environment ?? {};
    const httpPort = env.HTTP_PORT ?? String(configDefaults.HTTP_PORT?.default);
    const realtimePort = env.REALTIME_PORT ?? String(configDefaults.REALTIME_PORT?.default);
    expect(service.ports).toEqual(
      expect.arrayContaining([`${httpPort}:${httpPort}`, `${realtimePort}:${realtimePort}`]),
    );
    expect(env.HTTP_HOST).toBe('0.0.0.0');
    expect(env.REALTIME_HOST).toBe('0.0.0.0');
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
