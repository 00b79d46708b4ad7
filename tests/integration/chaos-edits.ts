import { addLineItem, type Order } from "../../src/docs/index.js";

/** A small seeded generator (tests print the seed so that a failure can be replayed). */
export function prng(s: number): () => number {
  let state = s >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * Edits orders at random until stopped: each step picks one, and one step in seven or so makes a
 * submission request (`request`), the others add a line item. Steps are 5 to 25 ms apart.
 */
export function editAtRandom<R extends { order: { change(fn: (o: Order) => void): void } }>(
  random: () => number,
  reps: readonly R[],
  request: (r: R) => void,
): { stop(): Promise<{ edits: number; requests: number }> } {
  let edits = 0;
  let requests = 0;
  let editing = true;
  const loop = (async () => {
    while (editing) {
      const r = reps[Math.floor(random() * reps.length)] as R;
      if (random() < 0.15) {
        request(r);
        requests++;
      } else {
        r.order.change((o) => {
          addLineItem(o, {
            productCode: `P-${edits}`,
            quantity: 1 + Math.floor(random() * 5),
            unitPrice: 100 + Math.floor(random() * 10_000),
          });
        });
      }
      edits++;
      await new Promise((res) => setTimeout(res, 5 + random() * 20));
    }
  })();
  return {
    async stop() {
      editing = false;
      await loop;
      return { edits, requests };
    },
  };
}
