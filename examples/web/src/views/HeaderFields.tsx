// Customer and project of a quote or order, written when the field is left.
import { type CommercialDocument, setHeader } from "oms-sync";
import { useId } from "react";
import { CommitInput } from "../commit-input.js";
import { useAction } from "../notice.js";

export function HeaderFields<T extends CommercialDocument>({
  doc,
  change,
  testids,
}: {
  doc: T;
  change: (fn: (d: T) => void) => void;
  testids: boolean;
}) {
  const act = useAction();
  const idPrefix = useId();
  return (
    <div className="fields">
      <span className="field">
        <label htmlFor={`${idPrefix}-customer`}>Customer</label>
        <CommitInput
          id={`${idPrefix}-customer`}
          data-header="customer"
          data-testid={testids ? "customer" : undefined}
          value={doc.customer.name}
          onCommit={(name) => act(() => change((d) => setHeader(d, { customer: { name } })))}
        />
      </span>
      <span className="field">
        <label htmlFor={`${idPrefix}-project`}>Project</label>
        <CommitInput
          id={`${idPrefix}-project`}
          data-header="projectName"
          data-testid={testids ? "project" : undefined}
          value={doc.projectName}
          onCommit={(projectName) => act(() => change((d) => setHeader(d, { projectName })))}
        />
      </span>
    </div>
  );
}
