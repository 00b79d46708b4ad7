import * as A from "@automerge/automerge";
import type { CommercialDocument } from "../docs/types.js";
import { applyDocumentAction } from "./apply-action.js";
import type { ReplicaStep } from "./arbitraries.js";

export interface ReplicaRun<T> {
  /** Each replica's document after the schedule (before any final merge). */
  readonly replicas: A.Doc<T>[];
}

/**
 * Plays a schedule over `count` Automerge replicas forked from `initial`: each step either applies
 * an action on one replica or merges one replica's changes into another. `onState` sees every
 * state any replica passes through, so a property can check each one.
 */
export function runReplicas<T extends CommercialDocument>(
  initial: A.Doc<T>,
  count: number,
  steps: readonly ReplicaStep[],
  onState: (doc: A.Doc<T>, replica: number) => void = () => {},
): ReplicaRun<T> {
  const replicas = Array.from({ length: count }, (_, i) =>
    A.clone(initial, { actor: `${(i + 1).toString(16).padStart(2, "0")}`.repeat(16) }),
  );
  return continueReplicas(replicas, steps, onState);
}

/** Plays more steps on replicas from an earlier run (each keeps its actor). */
export function continueReplicas<T extends CommercialDocument>(
  start: readonly A.Doc<T>[],
  steps: readonly ReplicaStep[],
  onState: (doc: A.Doc<T>, replica: number) => void = () => {},
): ReplicaRun<T> {
  const replicas = [...start];
  for (const step of steps) {
    if (step.kind === "act") {
      const current = replicas[step.replica] as A.Doc<T>;
      replicas[step.replica] = A.change(current, (d) => applyDocumentAction(d as T, step.action));
      onState(replicas[step.replica] as A.Doc<T>, step.replica);
    } else if (step.from !== step.to) {
      replicas[step.to] = A.merge(
        replicas[step.to] as A.Doc<T>,
        A.clone(replicas[step.from] as A.Doc<T>),
      );
      onState(replicas[step.to] as A.Doc<T>, step.to);
    }
  }
  return { replicas };
}

/** Merges every replica into every other, each in the order given: the state after a full heal. */
export function healAll<T>(replicas: readonly A.Doc<T>[], order: readonly number[]): A.Doc<T>[] {
  return replicas.map((doc, i) => {
    let merged = A.clone(doc);
    for (const j of order) if (j !== i) merged = A.merge(merged, A.clone(replicas[j] as A.Doc<T>));
    return merged;
  });
}
