import { useAssistance, useClient } from "oms-sync/react";
import { useState } from "react";
import { useAsync } from "../async.js";
import { useAction } from "../notice.js";
import { ErrorNote } from "./common.js";

/** Help requests: written offline too; the ticket number comes with a sync. */
export function Assistance() {
  const c = useClient();
  const act = useAction();
  const [subject, setSubject] = useState("");
  const requests = useAssistance({ sort: "created", order: "desc" });
  // Ticket numbers are the relay's, in the user's ledger.
  const ledger = useAsync(
    () => c.ledger.get(),
    [c],
    (again) => c.ledger.subscribe(again),
  );
  return (
    <div className="card">
      <h2>Assistance</h2>
      <form
        className="fields"
        onSubmit={(e) => {
          e.preventDefault();
          act(async () => {
            await c.assistance.create({ subject: subject || "Help with a project" });
            setSubject("");
          });
        }}
      >
        <input
          id="subject"
          placeholder="Subject"
          aria-label="Subject"
          data-testid="assist-subject"
          value={subject}
          onChange={(e) => setSubject(e.target.value)}
        />
        <button type="submit" data-testid="assist-create">
          Ask for help
        </button>
      </form>
      {requests.error && <ErrorNote error={requests.error} />}
      <table className="list">
        <thead>
          <tr>
            <th>Subject</th>
            <th>Ticket</th>
          </tr>
        </thead>
        <tbody>
          {!requests.loading && requests.rows.length === 0 && (
            <tr>
              <td colSpan={2} className="muted">
                No requests yet.
              </td>
            </tr>
          )}
          {requests.rows.map((row) => (
            <tr key={row.id}>
              <td data-label="Subject">{row.project}</td>
              <td data-label="Ticket">
                {ledger?.assistance[row.id as never]?.ticketNumber ?? "waiting for sync"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
