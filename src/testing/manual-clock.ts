import type { Clock } from "../client/clock.js";

/** A clock that moves only when told, with timers that fire as it passes them. */
export interface ManualClock extends Clock {
  /** Moves forward by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void;
  /** Jumps to `time` (backwards too, as a user setting the device clock); due timers fire. */
  set(time: number): void;
  /** Timers waiting. */
  pending(): number;
}

export function createManualClock(start = Date.UTC(2026, 0, 1)): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const fireDue = () => {
    for (;;) {
      const due = [...timers].filter(([, t]) => t.at <= now).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) return;
      timers.delete(due[0]);
      due[1].fn();
    }
  };
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        const next = [...timers.values()]
          .filter((t) => t.at <= target)
          .sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        now = Math.max(now, next.at);
        fireDue();
      }
      now = target;
    },
    set(time) {
      now = time;
      fireDue();
    },
    pending: () => timers.size,
  };
}
