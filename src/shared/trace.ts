/**
 * Chrome trace event JSON (what Perfetto and chrome://tracing open): one track per device
 * and VM, a slice per service call with its arguments and result, interrupts and callbacks,
 * violations as instant events, and a counter of free pages. Collects events and turns them
 * into JSON; the command line writes that atomically (atomic_write.ts). Timestamps are
 * microseconds: wall clock on real threads, steps in controlled mode (10 µs per scheduling
 * step, so the order is what the picture shows).
 */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'i' | 'C' | 'M';
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  s?: 'g' | 't';
  cat?: string;
  args?: Record<string, unknown>;
}

const PID = 1;

/** Arguments as the trace shows them: numbers in hex where the DDK writes hex. */
export function traceValue(value: unknown): unknown {
  if (typeof value === 'number') return value > 9 ? `${value.toString(16).toUpperCase()}h` : value;
  if (value instanceof Uint32Array || value instanceof Uint8Array)
    return `${value.constructor.name}(${value.length})`;
  if (typeof value === 'function') return 'callback';
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, traceValue(v)]));
  }
  return value;
}

export class Trace {
  readonly events: TraceEvent[] = [];
  private readonly max: number;

  constructor(max = 500_000) {
    this.max = max;
  }

  /** Names track `tid` (and, once, the process): Perfetto shows these names. */
  track(tid: number, name: string): void {
    if (!this.named) {
      this.named = true;
      const process = { name: 'process_name', ph: 'M' as const, ts: 0, pid: PID, tid: 0 };
      this.events.push({ ...process, args: { name: 'vmmsim' } });
      this.events.push({ ...process, name: 'thread_name', args: { name: 'machine' } });
    }
    this.events.push({ name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name } });
  }

  private named = false;

  call(
    tid: number,
    service: string,
    ts: number,
    dur: number,
    args: unknown[],
    result: unknown,
    refused?: string,
  ): void {
    if (this.events.length >= this.max) return;
    const shown = { args: args.map(traceValue), result: traceValue(result) };
    this.events.push({
      name: service,
      ph: 'X',
      ts,
      dur,
      pid: PID,
      tid,
      cat: 'service',
      args: refused === undefined ? shown : { ...shown, refused },
    });
  }

  instant(
    tid: number,
    name: string,
    ts: number,
    args: Record<string, unknown> = {},
    global = false,
  ): void {
    if (this.events.length >= this.max) return;
    this.events.push({ name, ph: 'i', ts, pid: PID, tid, s: global ? 'g' : 't', args });
  }

  slice(
    tid: number,
    name: string,
    ts: number,
    dur: number,
    args: Record<string, unknown> = {},
  ): void {
    if (this.events.length >= this.max) return;
    this.events.push({ name, ph: 'X', ts, dur, pid: PID, tid, args });
  }

  counter(name: string, ts: number, value: number): void {
    if (this.events.length >= this.max) return;
    this.events.push({ name, ph: 'C', ts, pid: PID, tid: 0, args: { [name]: value } });
  }

  /** The trace as Chrome trace event JSON. */
  json(): string {
    return JSON.stringify({ traceEvents: this.events, displayTimeUnit: 'ns' });
  }
}
