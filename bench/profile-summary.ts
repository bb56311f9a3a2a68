import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// node dist/bench/profile-summary.js DIR [--per N --unit message] [--top 25]
// Sums the self time of the V8 CPU profiles (.cpuprofile) in DIR: by function, by source file and
// by package (node_modules/<name>, node: internals, our src/), as a share of the profiled time and,
// with --per N, in microseconds per unit (e.g. per acked message, per delivered file).
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const dir = args[0];
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const per = Number(opt('--per') ?? 0);
const unit = opt('--unit') ?? 'unit';
const top = Number(opt('--top') ?? 25);
if (!dir) {
  console.error('usage: profile-summary DIR [--per N --unit NAME] [--top N]');
  process.exit(2);
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
const byPackage = new Map<string, number>();
// Inclusive: the time of every sample under each of our own functions (src/), callees included.
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
let startup = 0;
const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);

function where(url: string): { file: string; pkg: string } {
  const path = url.replace(/^file:\/\//, '');
  if (!path) return { file: '(native)', pkg: '(native/V8)' };
  if (path.startsWith('node:')) return { file: path, pkg: 'node: internals' };
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 14).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return { file: `${pkg}/${rest.slice(rest[0].startsWith('@') ? 2 : 1).join('/')}`, pkg };
  }
  const dist = path.indexOf('/dist/');
  const file = dist >= 0 ? path.slice(dist + 6) : relative(process.cwd(), path);
  return { file, pkg: file.split('/').slice(0, 2).join('/') };
}

for (const name of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const p = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Profile;
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Start-up (loading modules) is not the steady state: samples under the module loader are left out.
  const loading = new Map<number, boolean>();
  const isLoading = (id: number): boolean => {
    const known = loading.get(id);
    if (known !== undefined) return known;
    const n = nodes.get(id);
    const up = parent.get(id);
    const v = !!n && (n.callFrame.url.startsWith('node:internal/modules') || (up !== undefined && isLoading(up)));
    loading.set(id, v);
    return v;
  };
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i + 1] ?? 0;
    const n = nodes.get(id);
    if (!n) return;
    if (isLoading(id)) {
      startup += us;
      return;
    }
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)' || fn === '(program)') {
      if (fn === '(idle)') idle += us;
      else total += us;
      if (fn === '(idle)') return;
    } else total += us;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = nodes.get(at)?.callFrame;
      if (!f || !f.url.includes('/dist/src/')) continue;
      const k = `${f.functionName || '(anonymous)'} ${where(f.url).file}:${f.lineNumber + 1}`;
      if (!seen.has(k)) add(inclusive, k, us);
      seen.add(k);
    }
    const w = where(n.callFrame.url);
    add(byFunction, `${fn} ${w.file}:${n.callFrame.lineNumber + 1}`, us);
    add(byFile, w.file, us);
    add(byPackage, w.pkg, us);
  });
}

function print(title: string, m: Map<string, number>): void {
  console.log(`\n${title}`);
  const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) {
    const share = ((us / total) * 100).toFixed(1).padStart(5);
    const each = per > 0 ? `${(us / per).toFixed(1).padStart(8)} us/${unit}` : '';
    console.log(`${share}%  ${each}  ${k}`);
  }
}

console.log(
  `busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, loading modules ${(startup / 1e6).toFixed(2)} s (left out)${per > 0 ? `; busy per ${unit}: ${(total / per).toFixed(1)} us over ${per}` : ''}`,
);
print('self time by package', byPackage);
print('self time by file', byFile);
print('self time by function', byFunction);
print('inclusive time of our own functions (src/)', inclusive);
