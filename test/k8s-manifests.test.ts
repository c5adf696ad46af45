import { readdirSync, readFileSync } from 'node:fs';
import { configSchema, loadConfig } from '@hubstream/config';
import { assertSecureListen } from '@hubstream/service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { composeServices, nodeFlags, sourceOfImagePath } from './deployment-files.ts';

// No cluster runs where we build, so infra/k8s is kept correct by reading
// it: every object is valid against the Kubernetes API schemas, and the
// pieces agree with each other and with the processes (ports, probes,
// commands, the drain timeout, and the variables of the config schema).

const root = new URL('../', import.meta.url);
const k8s = new URL('infra/k8s/', root);
const read = (url: URL) => readFileSync(url, 'utf8');

type Probe = { httpGet?: { path: string; port: string | number } };
type Container = {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: unknown[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
};
type PodSpec = {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
};
type Labels = Record<string, string>;
type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: each test narrows the spec of the kind it reads
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

const kustomization = parse(read(new URL('kustomization.yaml', k8s))) as {
  namespace: string;
  resources: string[];
};
const objects: (K8sObject & { file: string })[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(read(new URL(file, k8s))).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    return { ...(doc.toJS() as K8sObject), file };
  }),
);

const find = (kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`infra/k8s has no ${kind} ${name}`);
  return found;
};
const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);

const configMap = find('ConfigMap', 'hubstream-config');
const secret = find('Secret', 'hubstream-secrets');
const configData = configMap.data ?? {};
const secretData = secret.stringData ?? {};
const schemaVariables = Object.keys(configSchema.properties);
const defaults = configSchema.properties as Record<string, { default?: unknown }>;
/** A variable as the pods see it: the ConfigMap's value, else the schema default. */
const setting = (variable: string) =>
  configData[variable] || String(defaults[variable]?.default ?? '');

// Credentials, and whatever the schema adds that looks like one.
const CREDENTIALS = ['DATABASE_URL', 'REDIS_URL', 'SMTP_URL'];
const looksSecret = (variable: string) =>
  CREDENTIALS.includes(variable) || /(SECRET|PASSWORD|TOKEN|_KEY)$/.test(variable);

const ROLES = [
  { role: 'control-plane', port: 'HTTP_PORT' },
  { role: 'realtime', port: 'REALTIME_PORT' },
  { role: 'worker', port: 'WORKER_PORT' },
] as const;
const deployment = (role: string) => find('Deployment', `hubstream-${role}`);
const podSpec = (role: string) => deployment(role).spec.template.spec as PodSpec;
const container = (role: string): Container => {
  const [only, ...more] = podSpec(role).containers;
  if (!only || more.length > 0) throw new Error(`${role} must have exactly one container`);
  return only;
};
/** The number a container port reference (name or number) stands for. */
const containerPort = (c: Container, port: string | number | undefined) =>
  typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort;
const matches = (selector: Labels, labels: Labels | undefined) =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
};

describe('infra/k8s', () => {
  it('lists every manifest of the folder in kustomization.yaml, and only those', () => {
    const files = readdirSync(k8s).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.namespace).toBe('hubstream');
  });

  it.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    '%s is valid against the Kubernetes API schema',
    (_name, object) => {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `a known apiVersion and kind (${object.file})`).toBeDefined();
      const { file: _file, ...manifest } = object as K8sObject & { file?: string };
      expect(() =>
        new (Model as new (data: unknown) => { validate(): void })(manifest).validate(),
      ).not.toThrow();
    },
  );

  it('has unique names per kind', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('ConfigMap and Secret', () => {
  it('hold exactly the variables of the config schema (ENVS.md) between them', () => {
    const names = [...Object.keys(configData), ...Object.keys(secretData)];
    expect(names.sort()).toEqual([...schemaVariables].sort());
    const both = Object.keys(configData).filter((v) => v in secretData);
    expect(both, 'a variable is in one place only').toEqual([]);
  });

  it('hold exactly the variables that ENVS.md lists for the servers', () => {
    const envs = read(new URL('ENVS.md', root));
    const servers = envs.slice(envs.indexOf('## Servers'), envs.indexOf('## Tests'));
    const documented = [...servers.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    const names = [...Object.keys(configData), ...Object.keys(secretData)];
    expect(names.sort()).toEqual(documented.sort());
  });

  it('keep credentials in the Secret only', () => {
    for (const variable of schemaVariables.filter(looksSecret)) {
      expect(secretData, `${variable} in the Secret`).toHaveProperty(variable);
    }
    expect(Object.keys(secretData).filter((v) => !looksSecret(v))).toEqual([]);
    expect(secret.data, 'values as stringData, readable in review').toBeUndefined();
  });

  it('form a configuration that the config schema accepts', () => {
    const config = loadConfig({ ...configData, ...secretData });
    expect(config.TLS_TERMINATED_BY_PROXY).toBe(true);
    expect(config.TRUSTED_PROXIES).toBeTruthy();
    expect(config.PUBLIC_HTTP_URL).toMatch(/^https:\/\//);
    expect(config.PUBLIC_REALTIME_URL).toMatch(/^wss:\/\//);
    // The probes and the ingress reach the pods on their own addresses,
    // which the servers' secure-by-default rule allows behind the ingress.
    expect([config.HTTP_HOST, config.REALTIME_HOST, config.WORKER_HOST]).toEqual([
      '0.0.0.0',
      '0.0.0.0',
      '0.0.0.0',
    ]);
    for (const hostVariable of ['HTTP_HOST', 'REALTIME_HOST'] as const) {
      expect(() =>
        assertSecureListen(config, {
          server: hostVariable,
          host: config[hostVariable],
          hostVariable,
        }),
      ).not.toThrow();
    }
  });

  it('are given whole to every Hubstream container, with nothing set beside them', () => {
    for (const { role } of ROLES) {
      const c = container(role);
      expect(c.envFrom).toEqual([
        { configMapRef: { name: 'hubstream-config' } },
        { secretRef: { name: 'hubstream-secrets' } },
      ]);
      expect(c.env, `${role} sets no variable outside the ConfigMap and Secret`).toBeUndefined();
    }
  });
});

describe.each(ROLES)('the $role Deployment', ({ role, port }) => {
  it('runs node on its built entry point in the repository image, as in docker-compose.yml, as a non-root user', () => {
    const c = container(role);
    expect(c.image).toBe('hubstream');
    // args, not command: the image's entrypoint (tini) stays PID 1.
    expect(c.command).toBeUndefined();
    expect(c.args).toEqual([
      'node',
      ...nodeFlags(role),
      `node_modules/@hubstream/${role}/dist/main.js`,
    ]);
    expect(sourceOfImagePath(c.args?.at(-1) ?? '')).toBe(`apps/${role}/src/main.ts`);
    expect(c.args).toEqual(composeServices()[role]?.command);
    expect(podSpec(role).securityContext?.runAsNonRoot).toBe(true);
  });

  it(`exposes ${port} and probes /ready and /health on it`, () => {
    const c = container(role);
    const expected = Number(setting(port));
    expect(c.ports?.map((p) => p.containerPort)).toEqual([expected]);
    expect(c.readinessProbe?.httpGet?.path).toBe('/ready');
    expect(containerPort(c, c.readinessProbe?.httpGet?.port)).toBe(expected);
    expect(c.livenessProbe?.httpGet?.path).toBe('/health');
    expect(containerPort(c, c.livenessProbe?.httpGet?.port)).toBe(expected);
    if (c.startupProbe) expect(containerPort(c, c.startupProbe.httpGet?.port)).toBe(expected);
  });

  it('is scraped by Prometheus on /metrics of the same port', () => {
    const annotations = deployment(role).spec.template.metadata.annotations as Labels;
    expect(annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': setting(port),
      'prometheus.io/path': '/metrics',
    });
  });

  it('gives the process longer than its drain (preStop + SHUTDOWN_TIMEOUT_MS) to stop', () => {
    const c = container(role);
    const [bin, seconds, ...rest] = c.lifecycle?.preStop?.exec?.command ?? ['sleep', '0'];
    expect([bin, rest]).toEqual(['sleep', []]);
    const drainMs = Number(seconds) * 1000 + Number(setting('SHUTDOWN_TIMEOUT_MS'));
    const grace = podSpec(role).terminationGracePeriodSeconds ?? 30;
    expect(grace * 1000).toBeGreaterThan(drainMs);
  });

  it('selects its own pods only', () => {
    const { selector, template } = deployment(role).spec;
    expect(matches(selector.matchLabels, template.metadata.labels)).toBe(true);
    for (const { role: other } of ROLES.filter((r) => r.role !== role)) {
      expect(matches(selector.matchLabels, deployment(other).spec.template.metadata.labels)).toBe(
        false,
      );
    }
  });
});

describe('realtime nodes', () => {
  const labels = () => deployment('realtime').spec.template.metadata.labels as Labels;

  it('take clients out of the load balancer before they drain', () => {
    const c = container('realtime');
    expect(Number(c.lifecycle?.preStop?.exec?.command[1])).toBeGreaterThan(0);
    // /ready answers 503 from the drain's start: one failed probe is enough.
    const probe = c.readinessProbe as Probe & { periodSeconds?: number; failureThreshold?: number };
    expect((probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)).toBeLessThanOrEqual(5);
  });

  it('are scaled by a HorizontalPodAutoscaler, which alone sets the count', () => {
    const [hpa, ...more] = ofKind('HorizontalPodAutoscaler');
    expect(more).toEqual([]);
    expect(hpa?.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'hubstream-realtime',
    });
    expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa?.spec.maxReplicas).toBeGreaterThan(hpa?.spec.minReplicas);
    expect(deployment('realtime').spec.replicas).toBeUndefined();
    // Utilization targets need requests.
    const requests = (container('realtime') as Container & { resources?: { requests?: Labels } })
      .resources?.requests;
    expect(requests?.cpu).toBeTruthy();
  });

  it('lose at most one node at a time to voluntary disruptions', () => {
    const pdb = find('PodDisruptionBudget', 'hubstream-realtime');
    expect(matches(pdb.spec.selector.matchLabels, labels())).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);
    // Every disruption budget covers the pods of one role.
    for (const budget of ofKind('PodDisruptionBudget')) {
      const covered = ROLES.filter(({ role }) =>
        matches(budget.spec.selector.matchLabels, deployment(role).spec.template.metadata.labels),
      );
      expect(covered, budget.metadata.name).toHaveLength(1);
    }
  });
});

describe('migrations', () => {
  const migrate = [
    'node',
    '--enable-source-maps',
    'node_modules/@hubstream/control-plane/dist/migrate.js',
  ];

  it('run as a Job of their own, with the command of the compose migrate service', () => {
    const job = find('Job', 'hubstream-migrate');
    const spec = job.spec.template.spec as PodSpec & { restartPolicy?: string };
    const [c, ...more] = spec.containers;
    expect(more).toEqual([]);
    expect(c?.image).toBe('hubstream');
    expect(c?.command).toBeUndefined();
    expect(c?.args).toEqual(migrate);
    expect(c?.args).toEqual(composeServices().migrate?.command);
    expect(sourceOfImagePath(migrate[2]!)).toBe('apps/control-plane/src/migrate.ts');
    expect(c?.envFrom).toEqual(container('control-plane').envFrom);
    expect(spec.securityContext?.runAsNonRoot).toBe(true);
    expect(['OnFailure', 'Never']).toContain(spec.restartPolicy);
  });

  it('run before the control plane starts, in its init container', () => {
    const init = podSpec('control-plane').initContainers ?? [];
    expect(init.map((c) => c.args)).toEqual([migrate]);
    expect(init[0]?.envFrom).toEqual(container('control-plane').envFrom);
    // The other roles wait for the schema and never migrate.
    expect(podSpec('realtime').initContainers).toBeUndefined();
    expect(podSpec('worker').initContainers).toBeUndefined();
  });
});

describe('Services and Ingress', () => {
  const services = ofKind('Service');
  const backing = (service: K8sObject) => {
    const pods = ROLES.filter(({ role }) =>
      matches(service.spec.selector, deployment(role).spec.template.metadata.labels),
    );
    expect(pods, `${service.metadata.name} selects one role's pods`).toHaveLength(1);
    return pods[0]?.role as string;
  };

  it.each(services.map((s) => [s.metadata.name, s] as const))(
    '%s reaches its pods on their port',
    (_name, service) => {
      const role = backing(service);
      for (const port of service.spec.ports as { targetPort: string | number }[]) {
        expect(containerPort(container(role), port.targetPort)).toBeDefined();
      }
    },
  );

  it('route the public hosts to the control plane and the realtime nodes, over TLS', () => {
    const [ingress, ...more] = ofKind('Ingress');
    expect(more).toEqual([]);
    const routes = new Map<string, string>();
    for (const rule of ingress?.spec.rules ?? []) {
      const [path, ...others] = rule.http.paths;
      expect(others).toEqual([]);
      expect([path.path, path.pathType]).toEqual(['/', 'Prefix']);
      const service = find('Service', path.backend.service.name);
      const port = (service.spec.ports as { name: string; port: number }[]).find(
        (p) =>
          p.name === path.backend.service.port.name || p.port === path.backend.service.port.number,
      );
      expect(port, `${rule.host}'s backend port exists`).toBeDefined();
      routes.set(rule.host, backing(service));
    }
    const httpHost = new URL(setting('PUBLIC_HTTP_URL')).host;
    const realtimeHost = new URL(setting('PUBLIC_REALTIME_URL')).host;
    expect(Object.fromEntries(routes)).toEqual({
      [httpHost]: 'control-plane',
      [realtimeHost]: 'realtime',
    });
    const tlsHosts = ((ingress?.spec.tls ?? []) as { hosts: string[] }[]).flatMap((t) => t.hosts);
    expect(tlsHosts.sort()).toEqual([httpHost, realtimeHost].sort());
  });
});
