import * as A from "@automerge/automerge";
import type { DocHandle } from "@automerge/automerge-repo/slim";
import type { DocId } from "../docs/ids.js";
import { own } from "../docs/own.js";
import type { CommercialDocument } from "../docs/types.js";
import type { AccessPolicy } from "../policy/access.js";
import type { Principal } from "../policy/principal.js";
import { validateWrite } from "../policy/write-validation.js";
import type { ClientGate } from "./client-gate.js";
import { WriteRefusedError } from "./errors.js";

/** A document opened through the client: read it, watch it, change it (validated). */
export interface OmsDocumentHandle<T> {
  readonly id: DocId;
  readonly url: string;
  /** The document now. */
  doc(): T;
  /**
   * Calls `listener` with the document after every change, local or remote. While subscribed,
   * the document follows other devices' changes live (a document only read, never subscribed
   * to, costs no message when the device already holds what the relay has; its remote changes
   * arrive with the next sync run).
   */
  subscribe(listener: (doc: T) => void): () => void;
  /**
   * Changes the document through the library's mutations. The change is checked first, exactly as
   * the relay will check it, and throws (writing nothing) if it would be refused: a
   * `ValidationError` for bad input, a `WriteRefusedError` for a write the policy refuses, a
   * `FeatureDisabledError` for a price change while the staleness gate disables it. The function
   * must do nothing but write the document (a refused change is undone in the document only).
   */
  change<R>(fn: (doc: T) => R): R;
}

export interface HandleContext {
  principal: () => Principal;
  policy: AccessPolicy;
  gate: ClientGate;
  /** Called after every change made through the handle: the client stores it at once. */
  changed(handle: DocHandle<unknown>): void;
  /** A listener subscribed: the document follows the relay live until the returned call. */
  watched?(handle: DocHandle<unknown>): () => void;
}

function pricesChanged(before: CommercialDocument, after: CommercialDocument): boolean {
  for (const [id, line] of Object.entries(after.lineItems ?? {})) {
    const was = own(before.lineItems ?? {}, id);
    if (!was || was.unitPrice !== line.unitPrice || was.discountBp !== line.discountBp) return true;
  }
  return false;
}

export function wrapHandle<T>(handle: DocHandle<T>, ctx: HandleContext): OmsDocumentHandle<T> {
  return {
    id: handle.documentId as unknown as DocId,
    url: handle.url,
    doc: () => handle.doc(),
    subscribe(listener) {
      const onChange = () => listener(handle.doc());
      handle.on("change", onChange);
      const unwatch = ctx.watched?.(handle as DocHandle<unknown>);
      return () => {
        handle.off("change", onChange);
        unwatch?.();
      };
    },
    change<R>(fn: (doc: T) => R): R {
      const before = handle.doc();
      // The change is made once, on the document itself, then checked; a change refused by the
      // check is undone by going back to a fork at the heads before it. Making it on a copy first
      // cost a fork of the whole document (its history included) on every keystroke; a refusal,
      // which the check exists to make rare, is where that cost belongs. `fn` throwing is undone
      // by Automerge itself.
      let result: R | undefined;
      const after = A.change(before, (d) => {
        result = fn(d as T);
      });
      if (after === before) return result as R;
      try {
        const kind = (before as { kind?: string }).kind;
        if (
          (kind === "quote" || kind === "order") &&
          pricesChanged(
            before as unknown as CommercialDocument,
            after as unknown as CommercialDocument,
          )
        ) {
          ctx.gate.assertEnabled("changePrices");
        }
        const decision = validateWrite({
          principal: ctx.principal(),
          before,
          after,
          policy: ctx.policy,
        });
        if (!decision.ok) throw new WriteRefusedError(decision.reasons);
      } catch (refused) {
        // Nothing else ran since the change (all of this is synchronous): no sync message or save
        // saw it. `before` is now a view at its heads; its fork is the document without it.
        const restored = A.clone(before, { actor: A.getActorId(before) });
        handle.update(() => restored);
        throw refused;
      }
      // `doc` is `before`: nothing can change it between; should it ever differ, the change is
      // applied to it.
      handle.update((doc) =>
        doc === before
          ? after
          : (A.applyChanges(doc, A.getChanges(before, after))[0] as typeof doc),
      );
      ctx.changed(handle as DocHandle<unknown>);
      return result as R;
    },
  };
}
