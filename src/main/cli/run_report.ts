/**
 * A scenario run's report as text: what ran, the phase timeline, calls and failure reasons
 * per service, ops/s, locks, interrupts and callbacks, and every violation with the device,
 * the page and the frame. Formatting only.
 */
import type { RunReport } from '../runtime/coordinator.js';
import { describeGraph } from '../runtime/wait_for.js';

const n = (value: number): string => Math.round(value).toLocaleString('en-US');
const hex = (value: number): string => `${value.toString(16).toUpperCase()}h`;

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
}

function services(r: RunReport): string[] {
  const rows = Object.entries(r.byService)
    .sort((a, b) => b[1] - a[1])
    .map(([service, calls]) => {
      const failed = Object.entries(r.failures)
        .filter(([key]) => key.startsWith(`${service}: `))
        .reduce((sum, [, count]) => sum + count, 0);
      return [service, n(calls), n(failed)];
    });
  return table([['service', 'calls', 'failed'], ...rows]).map((l) => `  ${l}`);
}

function failureReasons(r: RunReport): string[] {
  const rows = Object.entries(r.failures).sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return ['No service returned a failure value.'];
  return [
    'Failure values returned, by reason (outcomes the DDK allows):',
    ...rows.slice(0, 15).map(([reason, count]) => `  ${n(count).padStart(8)}  ${reason}`),
  ];
}

function locks(r: RunReport): string[] {
  const acquired = r.locks.reduce((s, l) => s + l.epoch, 0);
  const contended = r.locks.reduce((s, l) => s + l.contended, 0);
  const waitedMs = r.locks.reduce((s, l) => s + l.waitUsTotal, 0) / 1000;
  const top = r.locks.filter((l) => l.contended > 0).sort((a, b) => b.contended - a.contended);
  return [
    `Locks (${r.machine.locking}): ${n(acquired)} acquisitions, ${n(contended)} contended, ` +
      `${n(waitedMs)} ms waited`,
    ...top.slice(0, 4).map((l) => `  ${l.name}: ${n(l.contended)} contended`),
  ];
}

function violations(r: RunReport): string[] {
  const count = r.violations.length + r.actorViolations.length;
  if (count === 0) return ['Invariants: sound (every frame accounted for exactly once).'];
  const lines = [`Invariants: ${count} violation(s):`];
  for (const v of r.violations.slice(0, 20)) {
    const who = v.actorName === undefined ? '' : ` ${v.actorName}`;
    lines.push(`  [${v.kind}]${who}: ${v.message}`);
  }
  for (const v of r.actorViolations.slice(0, 20)) {
    const at = [
      v.page === undefined ? '' : ` page ${hex(v.page)}`,
      v.frame === undefined ? '' : ` frame ${hex(v.frame)}`,
    ].join('');
    lines.push(`  [data] ${v.actor}${at}: ${v.message}`);
  }
  return lines;
}

/** The injected fault, the owner-dead locks with the checker's verdict, the wait-for graph. */
function reliability(r: RunReport): string[] {
  const lines: string[] = [];
  if (r.fault !== undefined) {
    const f = r.fault;
    lines.push(
      `Injected fault: ${f.kind} at lock acquisition ${n(f.acquisitions)} of the run phase, ` +
        (f.fired ? `in ${f.actor}` : 'not reached: the run took fewer locks'),
    );
  }
  if (r.ownerDead !== undefined) {
    const o = r.ownerDead;
    for (const l of o.locks) {
      const page = l.page === undefined ? '' : ` on page ${l.page}`;
      lines.push(
        `OWNER-DEAD: ${l.lock}, held by ${l.actor} in ${l.service}${page} during ${l.phase}`,
      );
    }
    if (o.detectedMs >= 0) lines.push(`  detected ${n(o.detectedMs)} ms after the fault`);
    lines.push(
      o.consistent
        ? '  the checker: what those locks protect is consistent (no violation beyond the locks)'
        : '  the checker: the state is NOT consistent (violations below)',
    );
  }
  if (r.waitFor !== undefined && r.waitFor.nodes.some((x) => x.holds.length || x.waitsFor))
    lines.push(...describeGraph(r.waitFor));
  return lines;
}

/** The phase timeline, a few marks per line. */
function phases(r: RunReport): string[] {
  const marks = r.phases.map((p) => `${p.message} ${p.atMs} ms`);
  const lines: string[] = [];
  for (let i = 0; i < marks.length; i += 4) lines.push(`  ${marks.slice(i, i + 4).join(' · ')}`);
  return ['Phases:', ...lines];
}

export function formatRunReport(r: RunReport): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(
    `vmmsim run: ${r.scenario} (seed ${r.seed}, ${m.locking} locking, ${m.ramPages} pages)`,
  );
  lines.push(`  ${r.actors.length} actors on their own threads`);
  lines.push('');
  lines.push(...phases(r));
  if (r.droppedDevices.length > 0)
    lines.push(`Dropped (carry at init): ${r.droppedDevices.join(', ')}`);
  if (r.refusedVms.length > 0) lines.push(`VMs not created: ${r.refusedVms.join(', ')}`);
  if (r.systemExit) lines.push('Sys_VM_Init carry: Windows exited before running.');
  if (r.interrupted) {
    lines.push(
      'INTERRUPTED: the run phase was stopped early; finish, teardown and the checker ran.',
    );
  }
  lines.push('');
  const seconds = (r.runMs / 1000).toFixed(2);
  lines.push(`${n(r.calls)} service calls in ${seconds} s: ${n(r.opsPerSecond)} calls/s`);
  lines.push(...services(r), '');
  lines.push(...failureReasons(r), '');
  lines.push(...locks(r));
  lines.push(
    `Interrupts taken: ${n(r.interruptsTaken)}. Callbacks: ${n(r.callbacks.request0)} Request 0 ` +
      `and ${n(r.callbacks.request1)} Request 1 chains, ${n(r.callbacks.calls)} callback calls.`,
  );
  lines.push('');
  if (r.failure !== undefined) {
    const f = r.failure;
    lines.push(
      `RUN FAILED: ${f.actor} ${f.kind} during ${f.phase} (last service ${f.lastService})`,
    );
    lines.push(`  ${f.message}`);
    if (f.stack !== '')
      lines.push(
        ...f.stack
          .split('\n')
          .slice(0, 8)
          .map((l) => `  ${l}`),
      );
  }
  lines.push(...reliability(r));
  lines.push(...violations(r));
  return lines.join('\n');
}
