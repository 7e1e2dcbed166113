/**
 * What `replay --print` and `replay --until N` show: the schedule as one line per decision
 * (read off the run's trace events: the decision marks and the calls), and the state of a
 * paused run — each actor's pending call and the frames it holds, the shared words, the PTE
 * and frame of every page the calls named so far, and the checker's verdict there.
 */
import { frameLockCount, frameOwner, frameState, isRamFrame } from '../../shared/frames.js';
import { FrameState } from '../../shared/layout.js';
import { readPte, SYSTEM_VM } from '../../shared/page_table.js';
import { ptePresent, pteFrame } from '../../shared/pte.js';
import { type TraceEvent, traceValue } from '../../shared/trace.js';
import { printable } from '../../shared/scenario/load.js';
import type { ControlledView } from '../controlled/controlled.js';

const hex = (n: number): string => `${n.toString(16).toUpperCase()}h`;

/** A call as the DDK writes it: `_XchgFreePhysReg(C0003h, 0, 0)`. */
export function callText(service: string, args: readonly unknown[]): string {
  const shown = args.map((a) => {
    const v = traceValue(a);
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  });
  return printable(`${service}(${shown.join(', ')})`);
}

function resultText(args: Record<string, unknown> | undefined): string {
  const result = args?.['result'];
  const text =
    result === undefined
      ? ''
      : ` = ${typeof result === 'object' ? JSON.stringify(result) : result}`;
  const refused = args?.['refused'];
  return printable(refused === undefined ? text : `${text}  refused: ${String(refused)}`);
}

/**
 * The schedule of a traced run, a line per decision: step, actor, the call it made with its
 * arguments, the result and the reason of a refusal; `*` marks a preemption.
 */
export function scheduleLines(events: readonly TraceEvent[], names: readonly string[]): string[] {
  const lines: string[] = [];
  const width = Math.max(...names.map((n) => n.length), 5);
  let open: { tid: number; head: string; calls: string[] } | undefined;
  const close = (): void => {
    if (open === undefined) return;
    const call = open.calls.length === 0 ? '(finishes its step)' : open.calls.join('; ');
    lines.push(`${open.head}${call}`);
    open = undefined;
  };
  for (const e of events) {
    const decision = /^(preemption: )?step (\d+)$/.exec(e.name);
    if (e.ph === 'i' && decision !== null) {
      close();
      const mark = decision[1] === undefined ? ' ' : '*';
      const who = (names[e.tid - 1] ?? `actor ${e.tid - 1}`).padEnd(width);
      open = { tid: e.tid, head: `${mark}${decision[2]!.padStart(5)}  ${who}  `, calls: [] };
    } else if (e.ph === 'X' && e.cat === 'service' && open?.tid === e.tid) {
      const args = (e.args?.['args'] ?? []) as unknown[];
      const shown = args.map((a) => (typeof a === 'object' ? JSON.stringify(a) : String(a)));
      open.calls.push(printable(`${e.name}(${shown.join(', ')})`) + resultText(e.args));
    } else if (e.ph === 'i' && e.tid > 0 && e.name.startsWith('violation: ') && open) {
      open.calls.push(printable(`!! ${e.name}`));
    }
  }
  close();
  return lines;
}

function frameText(view: ControlledView, frame: number): string {
  const l = view.kernel.layout;
  if (!isRamFrame(l, frame)) return `frame ${hex(frame)}`;
  const state = Object.entries(FrameState).find(([, v]) => v === frameState(l, frame))?.[0];
  const locks = frameLockCount(l, frame);
  const locked = locks > 0 ? `, locked ${locks}` : '';
  return `frame ${hex(frame)} ${(state ?? '?').toLowerCase()}${locked}`;
}

/** The state of a paused run, as lines. */
export function stateLines(view: ControlledView): string[] {
  const l = view.kernel.layout;
  const lines = [`state before step ${view.step}:`, '  actors:'];
  for (const a of view.actors) {
    const pending =
      a.pending === undefined ? 'between steps' : callText(a.pending.service, a.pending.args);
    const held: string[] = [];
    for (let f = 0; f < l.options.ramPages; f++) {
      if (frameState(l, f) === FrameState.HELD && frameOwner(l, f) === a.ctx.actor)
        held.push(hex(f));
    }
    const holds =
      held.length === 0
        ? ''
        : `; holds frames ${held.join(', ')} (taken out with _XchgFreePhysReg)`;
    const state = a.done ? 'done' : `next: ${pending}`;
    lines.push(`    ${printable(a.name)} (${a.index}): ${state}${holds}`);
  }
  const words = [...l.scenarioWords].flatMap((w, i) => (w === 0 ? [] : [`[${i}] ${hex(w >>> 0)}`]));
  lines.push(`  shared words: ${words.length === 0 ? 'all 0' : words.join('  ')}`);
  lines.push(`  pages named so far: ${view.touched.length === 0 ? 'none' : ''}`);
  for (const page of view.touched.slice(0, 64)) {
    const pte = readPte(l, SYSTEM_VM, page);
    const where = ptePresent(pte) ? frameText(view, pteFrame(pte)) : 'not present';
    lines.push(
      `    ${hex(page)}: PTE ${(pte >>> 0).toString(16).padStart(8, '0').toUpperCase()}h, ${where}`,
    );
  }
  const found = view.kernel.check({});
  lines.push(`  checker: ${found.length === 0 ? 'clean' : `${found.length} violation(s)`}`);
  for (const v of found.slice(0, 10)) lines.push(printable(`    [${v.kind}] ${v.message}`));
  return lines;
}
