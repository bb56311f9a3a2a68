import { writeFileSync } from 'node:fs';
import { fmt, options } from './common';

// One row's figures in one run. The ratio is computed per run (service against the ceiling measured
// in that same run), then the table shows the median of the runs and their spread (min-max).
export interface Measure {
  row: string;
  service: number;
  ceiling?: number;
  ceilingName?: string;
  ratio?: number;
  // 'percent' (default): service / ceiling as a percentage; 'times': as a multiple (for latencies).
  ratioStyle?: 'percent' | 'times';
  digits?: number;
  target: string;
  // Whether the target is met, judged on the medians; absent for rows that only inform.
  met?: (m: { service: number; ceiling: number; ratio: number }) => boolean;
  note?: string;
}

interface Sample {
  service: number;
  ceiling: number;
  ratio: number;
}

const rows = new Map<string, { last: Measure; samples: Sample[] }>();
const raw: Record<string, unknown[]> = {};

export function record(m: Measure): void {
  const ceiling = m.ceiling ?? NaN;
  const ratio = m.ratio ?? (m.ceiling !== undefined ? m.service / ceiling : NaN);
  const entry = rows.get(m.row) ?? { last: m, samples: [] };
  entry.last = m;
  entry.samples.push({ service: m.service, ceiling, ratio });
  rows.set(m.row, entry);
}

// Everything a bench measured in one run, kept whole for --json.
export function keep(bench: string, run: unknown): void {
  (raw[bench] ??= []).push(run);
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function spread(xs: number[], show: (n: number) => string): string {
  const s = xs.filter((x) => Number.isFinite(x));
  if (s.length < 2) return '';
  return ` (${show(Math.min(...s))}-${show(Math.max(...s))})`;
}

interface Line {
  bench: string;
  service: string;
  ceiling: string;
  ratio: string;
  target: string;
  met: string;
  note: string;
}

function lines(): Line[] {
  return [...rows.values()].map(({ last, samples }) => {
    const d = last.digits ?? 1;
    const num = (n: number) => fmt(n, d);
    const ratioText = (n: number) => (last.ratioStyle === 'times' ? `${fmt(n, 2)}x` : `${fmt(n * 100, 0)}%`);
    const med = { service: median(samples.map((s) => s.service)), ceiling: median(samples.map((s) => s.ceiling)), ratio: median(samples.map((s) => s.ratio)) };
    const hasCeiling = Number.isFinite(med.ceiling);
    return {
      bench: last.row,
      service:
        num(med.service) +
        spread(
          samples.map((s) => s.service),
          num,
        ),
      ceiling: hasCeiling
        ? `${num(med.ceiling)}${spread(
            samples.map((s) => s.ceiling),
            num,
          )}${last.ceilingName ? ` ${last.ceilingName}` : ''}`
        : '',
      ratio: Number.isFinite(med.ratio)
        ? ratioText(med.ratio) +
          spread(
            samples.map((s) => s.ratio),
            ratioText,
          )
        : '',
      target: last.target,
      met: last.met ? (last.met(med) ? 'yes' : 'NO') : '-',
      note: (samples.length > 1 ? `${samples.length} runs; ` : '') + (last.note ?? ''),
    };
  });
}

export function printTable(header: string, print: (line: string) => void = console.log): void {
  print(`\n${header}\n`);
  const head: Line = { bench: 'bench', service: 'service', ceiling: 'ceiling (same run)', ratio: 'ratio', target: 'target', met: 'met', note: 'note' };
  const all = [head, ...lines()];
  const cols: (keyof Line)[] = ['bench', 'service', 'ceiling', 'ratio', 'target', 'met'];
  const w = (k: keyof Line) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Line) => '| ' + cols.map((c) => r[c].padEnd(w(c))).join(' | ') + ` | ${r.note}`;
  print(line(head));
  print('|' + cols.map((c) => '-'.repeat(w(c) + 2)).join('|') + '|------');
  for (const r of all.slice(1)) print(line(r));
  print('\nservice, ceiling and ratio: the median of the runs, (min-max) across them; the ratio is computed per run.');
}

export function writeJson(meta: Record<string, unknown>): void {
  if (!options.jsonOut) return;
  const table = [...rows.values()].map(({ last, samples }) => ({ row: last.row, target: last.target, ceilingName: last.ceilingName, runs: samples }));
  writeFileSync(options.jsonOut, JSON.stringify({ ...meta, table, results: raw }, null, 2) + '\n');
  console.log(`\nwrote ${options.jsonOut}`);
}
