import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// A plain-text summary of a V8 .cpuprofile: where the samples fell, by
// function (self time) and by source file, with Hubstream's own files and
// the libraries around them told apart.
//
//   tsx bench/realtime/profile.ts FILE.cpuprofile [--top=20]

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
};
type CpuProfile = { nodes: ProfileNode[]; samples: number[] };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function where(url: string): string {
  if (!url) return '';
  let path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(ROOT)) path = path.slice(ROOT.length);
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `${name} (${rest.slice(rest[0]?.startsWith('@') ? 2 : 1).join('/')})`;
  }
  return path;
}

export type ProfileSummary = {
  total: number;
  functions: { name: string; share: number }[];
  files: { file: string; share: number }[];
};

export async function summarizeProfile(path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const hits = new Map<number, number>();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, count] of hits) {
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') continue;
    total += count;
    const file = where(frame.url);
    const name = `${frame.functionName || '(anonymous)'}${file ? `  ${file}:${frame.lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + count);
    const group = file.replace(/ \(.*\)$/, '') || frame.functionName;
    files.set(group, (files.get(group) ?? 0) + count);
  }
  const ranked = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    total,
    functions: ranked(functions).map(([name, count]) => ({ name, share: count / total })),
    files: ranked(files).map(([file, count]) => ({ file, share: count / total })),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
  return [
    `    busy samples: ${summary.total}; self time by function:`,
    ...summary.functions.map((f) => `      ${pct(f.share)}  ${f.name}`),
    '    self time by file or package:',
    ...summary.files.map((f) => `      ${pct(f.share)}  ${f.file}`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: tsx bench/realtime/profile.ts FILE.cpuprofile [--top=N]\n');
    process.exit(2);
  }
  const topArg = process.argv.find((a) => a.startsWith('--top='));
  const summary = await summarizeProfile(file, topArg ? Number(topArg.slice(6)) : 20);
  process.stdout.write(`${formatSummary(summary)}\n`);
}
