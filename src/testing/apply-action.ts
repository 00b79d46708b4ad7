import {
  addLineItem,
  moveLineItem,
  removeLineItem,
  sortedLineItems,
  updateLineItem,
} from "../docs/line-items.js";
import { setHeader, setNotes } from "../docs/quote.js";
import type { CommercialDocument } from "../docs/types.js";
import type { DocumentAction } from "./arbitraries.js";

/**
 * Applies a generated action through the library's mutations, inside a change callback.
 * Actions that pick a line do nothing on a document without lines.
 */
export function applyDocumentAction(
  doc: CommercialDocument,
  action: DocumentAction,
  now = 1_700_000_000_000,
): void {
  const lines = sortedLineItems(doc);
  const picked = (pick: number) => lines[pick % Math.max(1, lines.length)];
  switch (action.type) {
    case "addLine":
      addLineItem(doc, action.line, { index: action.index, now });
      return;
    case "updateLine": {
      const line = picked(action.pick);
      if (line) updateLineItem(doc, line.id, action.patch, { now });
      return;
    }
    case "removeLine": {
      const line = picked(action.pick);
      if (line) removeLineItem(doc, line.id, { now });
      return;
    }
    case "moveLine": {
      const line = picked(action.pick);
      if (line) moveLineItem(doc, line.id, action.to, { now });
      return;
    }
    case "setHeader":
      setHeader(doc, action.patch, { now });
      return;
    case "setNotes":
      setNotes(doc, action.text, { now });
      return;
  }
}
