import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

// Readers for the deployment files (Dockerfile, docker-compose.yml,
// infra/k8s), shared by the tests that check them and by the process test
// that starts each role exactly as they do.

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (file: string) => readFileSync(new URL(file, new URL('../', import.meta.url)), 'utf8');

export type Instruction = { keyword: string; args: string };
export type Stage = { name: string; from: string; instructions: Instruction[] };

/** The Dockerfile's stages, each with its instructions (continuation lines joined, comments dropped). */
export function dockerfileStages(text = read('Dockerfile')): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = '', ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (keyword.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, name: match?.[2] ?? '', instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

/** The JSON (exec) form of an instruction's arguments, e.g. CMD ["node", "x.js"]. */
export function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) {
    throw new Error(`not the exec form: ${args}`);
  }
  return parsed;
}

/** The runtime (last) stage's ENTRYPOINT and CMD, in exec form. */
export function imageCommand(): { entrypoint: string[]; cmd: string[]; workdir: string } {
  const runtime = dockerfileStages().at(-1);
  if (!runtime) throw new Error('the Dockerfile has no stage');
  const last = (keyword: string) =>
    runtime.instructions.filter((i) => i.keyword === keyword).at(-1)?.args;
  return {
    entrypoint: execForm(last('ENTRYPOINT') ?? '[]'),
    cmd: execForm(last('CMD') ?? '[]'),
    workdir: last('WORKDIR') ?? '/',
  };
}

export type ComposeService = {
  build?: string | { context: string };
  command?: string[];
  restart?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
};

export function composeServices(): Record<string, ComposeService> {
  return (parse(read('docker-compose.yml')) as { services: Record<string, ComposeService> })
    .services;
}

/** The containers of every object in infra/k8s, by object name. */
export function k8sContainers(): {
  object: string;
  kind: string;
  init: boolean;
  container: { name: string; image: string; command?: string[]; args?: string[] };
}[] {
  const kustomization = parse(read('infra/k8s/kustomization.yaml')) as { resources: string[] };
  return kustomization.resources.flatMap((file) =>
    parseAllDocuments(read(`infra/k8s/${file}`)).flatMap((doc) => {
      // biome-ignore lint/suspicious/noExplicitAny: only pod templates are read
      const object = doc.toJS() as any;
      const spec = object?.spec?.template?.spec;
      if (!spec) return [];
      const entries = (list: unknown[] | undefined, init: boolean) =>
        (list ?? []).map((container) => ({
          object: object.metadata.name as string,
          kind: object.kind as string,
          init,
          container: container as { name: string; image: string; args?: string[] },
        }));
      return [...entries(spec.initContainers, true), ...entries(spec.containers, false)];
    }),
  );
}

export const ROLES = ['control-plane', 'realtime', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The workspace file a command of the image runs: the image holds the
 * standalone package deployed at its WORKDIR, each workspace package under
 * node_modules/@hubstream/<name>, with its dist/ built from src/.
 */
export function sourceOfImagePath(imagePath: string): string | undefined {
  const packaged = /^node_modules\/@hubstream\/([^/]+)\/dist\/(.+)\.js$/.exec(imagePath);
  const own = /^dist\/(.+)\.js$/.exec(imagePath);
  const [dir, file] = packaged
    ? [`apps/${packaged[1]}`, packaged[2]]
    : ['apps/standalone', own?.[1]];
  if (file === undefined) return undefined;
  const source = `${dir}/src/${file}.ts`;
  return existsSync(new URL(source, new URL('../', import.meta.url))) ? source : undefined;
}

/**
 * The node flags before a role's entry point, as every start command passes
 * them (package.json, Dockerfile, docker-compose.yml, infra/k8s). A process
 * serving realtime clients keeps V8's garbage collection on its event loop
 * (--single-threaded-gc): on a node's one core, V8's concurrent GC threads
 * took the CPU from the event loop for a fifth to a third of an attack
 * (bench:attacks), delaying every client.
 */
export function nodeFlags(role: string): string[] {
  if (role === 'standalone') return [...GC_ON_EVENT_LOOP, ...STANDALONE_MEMORY_FLAGS];
  return role === 'realtime'
    ? [...GC_ON_EVENT_LOOP, ...REALTIME_YOUNG_GENERATION]
    : ['--enable-source-maps'];
}

const GC_ON_EVENT_LOOP = ['--enable-source-maps', '--single-threaded-gc'];

/**
 * A realtime node's young generation is capped at 4 MB a semi-space (V8's
 * default grows to 16 MB). A scavenge's pause grows with what survives it,
 * and with 16 MB a client subscribing to thousands of names (kept, so they
 * survive) made scavenges of 11-14 ms: every app's clients waited that long
 * (bench:attacks huge SUBSCRIBE, cluster, 3 alternating rounds: other app's
 * p99 11.3 / 11.6 / 10.4 ms -> 6.7 / 5.7 / 4.3 ms). bench:realtime measured
 * no cost at 4 MB (fan-out 885k vs 821k delivered/s, records 43.7k vs 45.7k
 * updates/s, RPC the same); at 1 MB fan-out lost a quarter.
 */
const REALTIME_YOUNG_GENERATION = ['--max-semi-space-size=4'];

/**
 * `pnpm start`'s process (and the image's default command) keeps its idle
 * memory small (issue 17; bench:idle-rss, bench/realtime/PROFILES.md):
 * PGlite's WebAssembly stays on V8's baseline compiler (--liftoff-only:
 * TurboFan's code and compile zones for it were ~100 MB resident; PGlite's
 * query latency measured the same in bench:records), and a 1 MB semi-space
 * (V8's default young generation commits 32 MB).
 */
const STANDALONE_MEMORY_FLAGS = ['--liftoff-only', '--max-semi-space-size=1'];

/**
 * glibc malloc settings of the same process, as environment variables
 * (package.json's start scripts, the Dockerfile's ENV): two arenas instead
 * of eight per core, and a fixed mmap threshold, so that large buffers freed
 * after start-up go back to the system instead of raising the threshold and
 * staying in the heap (together ~40 MB of idle RSS).
 *
 * The threshold (2 MB) is above the largest frame a client may send
 * (MAX_MESSAGE_BYTES, 1 MB), and up to 8 MB freed at the heap's top stay
 * for the next frames: ws copies each large frame into a buffer of its own,
 * and one mapped fresh took ~2 ms of page faults per 640 KB on this VM
 * (0.05 ms from memory malloc keeps), unsliced, with every app's clients
 * waiting (bench:attacks huge SUBSCRIBE, standalone, 4 alternating rounds:
 * other app's p99 4.9 / 7.9 / 4.4 / 9.0 ms at a 128 KB threshold, 4.4 /
 * 5.2 / 6.3 / 4.9 ms at 1 MB). Idle RSS 171 -> 182 MB (bench:idle-rss,
 * median of 3).
 */
export const STANDALONE_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '2097152',
  MALLOC_TRIM_THRESHOLD_: '8388608',
};
