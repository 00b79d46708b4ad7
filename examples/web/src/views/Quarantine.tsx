import { useQuarantine } from "oms-sync/react";
import { useState } from "react";
import { dateTime, download, plural } from "../format.js";
import { useAction } from "../notice.js";
import { ErrorNote } from "./common.js";

/** Changes the relay refused, kept on the device until exported and discarded. */
export function Quarantine() {
  const { entries, loading, error, export: exportEntry, discard } = useQuarantine();
  const act = useAction();
  const [armed, setArmed] = useState<string | null>(null);
  return (
    <div className="card">
      <h2>Refused changes</h2>
      <p className="muted">
        The relay did not accept these changes (access was lost, or a rule forbids them). They are
        kept on this device: export them and pass them on before you discard them.
      </p>
      {error && <ErrorNote error={error} />}
      <table className="list" data-testid="quarantine">
        <thead>
          <tr>
            <th>Document</th>
            <th>Why</th>
            <th className="num">Changes</th>
            <th>When</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {!loading && entries.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                Nothing refused.
              </td>
            </tr>
          )}
          {entries.map((e) => (
            <tr key={e.documentId} data-testid={`refused-${e.documentId}`}>
              <td data-label="Document">
                {e.kind ?? "document"} <code>{e.documentId}</code>
              </td>
              <td data-label="Why">
                {e.reasons.map((r) => (
                  <div key={r.message}>{r.message}</div>
                ))}
              </td>
              <td data-label="Changes" className="num">
                {plural(e.unsyncedChanges.length, "change")}
              </td>
              <td data-label="When" className="muted">
                {dateTime(e.quarantinedAt)}
              </td>
              <td className="row-actions">
                <button
                  type="button"
                  className="secondary"
                  data-action="export-refused"
                  onClick={() =>
                    act(async () =>
                      download(`refused-${e.documentId}.json`, await exportEntry(e.documentId)),
                    )
                  }
                >
                  Export
                </button>{" "}
                {/* Two steps instead of a blocking confirm(): the button asks once more. */}
                <button
                  type="button"
                  className="secondary"
                  data-action="discard-refused"
                  onClick={() =>
                    armed === e.documentId
                      ? act(() => discard(e.documentId))
                      : setArmed(e.documentId)
                  }
                >
                  {armed === e.documentId ? "Discard for good" : "Discard…"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
