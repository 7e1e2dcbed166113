/**
 * The stress run's report as text: what ran, calls and failure reasons per service, ops/s,
 * lock figures, and the checker's verdict. Formatting only; no decisions.
 */
import type { StressRunReport } from '../runtime/stress_run.js';

const n = (value: number): string => Math.round(value).toLocaleString('en-US');

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
}

export function formatStressReport(r: StressRunReport): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(`vmmsim run — ${o.workers} device workers, ${o.locking} locking, seed ${o.seed}`);
  const regions = o.sharedRegion ? 'one shared free physical region' : 'one region per device';
  lines.push(`  ${regions} of ${o.regionPages} pages, ${o.ramPages} pages of RAM`);
  lines.push('');
  const seconds = (r.elapsedMs / 1000).toFixed(2);
  lines.push(`${n(r.calls)} service calls in ${seconds} s: ${n(r.opsPerSecond)} calls/s`);
  lines.push('');
  const services = Object.entries(r.byService).sort((a, b) => b[1] - a[1]);
  lines.push(
    ...table([['service', 'calls'], ...services.map(([s, c]) => [s, n(c)])]).map((l) => `  ${l}`),
  );
  const failures = Object.entries(r.failures).sort((a, b) => b[1] - a[1]);
  lines.push('');
  lines.push(
    failures.length === 0
      ? 'No DDK failures returned.'
      : 'DDK failures returned (outcomes the DDK allows, not errors):',
  );
  for (const [reason, count] of failures) lines.push(`  ${n(count).padStart(8)}  ${reason}`);
  lines.push('');
  const locks = r.locks
    .filter((l) => l.contended > 0)
    .sort((a, b) => b.contended - a.contended)
    .slice(0, 6);
  const acquired = r.locks.reduce((s, l) => s + l.acquisitions, 0);
  const contended = r.locks.reduce((s, l) => s + l.contended, 0);
  const waits = r.locks.reduce((s, l) => s + l.waits, 0);
  lines.push(
    `Locks: ${n(acquired)} acquisitions, ${n(contended)} contended, ${n(waits)} futex waits`,
  );
  for (const l of locks)
    lines.push(`  ${l.name}: ${n(l.contended)} contended, ${n(l.waitUsTotal)} µs waited`);
  lines.push('');
  lines.push(`Data checks: ${n(r.dataChecks)} pages read back and compared.`);
  for (const error of r.errors) lines.push(`ERROR ${error}`);
  if (r.violations.length === 0)
    lines.push('Invariants: sound (every frame accounted for exactly once, no violation).');
  else
    lines.push(
      `Invariants: ${r.violations.length} violation(s):`,
      ...r.violations.slice(0, 20).map((v) => `  [${v.kind}] ${v.message}`),
    );
  return lines.join('\n');
}
