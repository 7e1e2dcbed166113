// The buffer handshakes of protocol.ts, one side against the other on a bare Layout: what the
// writer's function leaves is what the reader's function takes, and every word HANDSHAKES
// names is a word of layout.ts. The futex wake of Request 1 crosses real threads in
// test/runtime/callbacks.test.ts; here the wait's bound is what is checked.
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/index.js';
import { actorLoad } from '../../src/shared/actor_record.js';
import { AC, H, Layout } from '../../src/shared/layout.js';
import {
  armFaultCountdown,
  faultAgeMs,
  faultFiredAt,
  freeListNotices,
  HANDSHAKES,
  mailSent,
  markFaultFired,
  noteFreeListGrew,
  postMail,
  pressureRequests,
  pressureServed,
  pressureWanted,
  raiseIrq,
  refireFault,
  setStop,
  stopRequested,
  takeIrq,
  takeTicket,
  TERMINATE_ME,
} from '../../src/shared/protocol.js';

const bare = (): Layout => Layout.create({ ...presets.testMin });

describe('protocol.ts: the handshakes on buffer words', () => {
  it('names only words layout.ts declares, each handshake with a writer, a reader and a wake', () => {
    const records: Record<string, object> = { H, AC };
    for (const [name, h] of Object.entries(HANDSHAKES)) {
      expect(h.writer.length * h.reader.length * h.wake.length, name).toBeGreaterThan(0);
      for (const word of h.words) {
        const [record, field] = word.split('.') as [string, string];
        expect(records[record], word).toHaveProperty(field);
      }
    }
    expect(TERMINATE_ME).toBe('vmmsim-fault-terminate');
  });

  it('stop, mail and tickets: what one side writes the other reads', () => {
    const l = bare();
    expect(stopRequested(l)).toBe(false);
    setStop(l, true);
    expect(stopRequested(l)).toBe(true);
    setStop(l, false);
    expect(stopRequested(l)).toBe(false);
    postMail(l, 3);
    postMail(l, 3);
    expect([mailSent(l, 3), mailSent(l, 2)]).toEqual([2, 0]);
    expect([takeTicket(l), takeTicket(l)]).toEqual([0, 1]);
  });

  it('interrupts: each one raised is taken once, per device', () => {
    const l = bare();
    raiseIrq(l, 1);
    raiseIrq(l, 1);
    expect(takeIrq(l, 2)).toBe(false);
    expect([takeIrq(l, 1), takeIrq(l, 1), takeIrq(l, 1)]).toEqual([true, true, false]);
  });

  it('Request 0 notices count up; a served Request 1 bumps the sequence the waiter sleeps on', () => {
    const l = bare();
    const before = freeListNotices(l);
    noteFreeListGrew(l);
    expect(freeListNotices(l)).toBe(before + 1);
    expect(pressureRequests(l)).toBe(0);
    expect(pressureWanted(l, 4)).toBe(0);
    pressureServed(l, 4);
    expect(actorLoad(l, 4, AC.pressureSeq)).toBe(1);
  });

  it('fault words: a fired fault is stamped now, a re-fired one is taken back and re-armed', () => {
    const l = bare();
    expect(faultFiredAt(l, 2)).toBe(-1);
    armFaultCountdown(l, 7);
    expect(l.header[H.faultCountdown]).toBe(7);
    markFaultFired(l, 2);
    expect(faultAgeMs(faultFiredAt(l, 2))).toBeLessThan(60_000);
    refireFault(l, 2);
    expect(faultFiredAt(l, 2)).toBe(-1);
    expect(l.header[H.faultCountdown]).toBe(1);
  });
});
