import { useState } from "react";
import { useClient, useLive } from "../live.js";
import { useAction } from "../notice.js";
import { ErrorCard, stable } from "./common.js";

/** Help requests: written offline too; the ticket number comes with a sync. */
export function Assistance() {
  const c = useClient();
  const act = useAction();
  const [subject, setSubject] = useState("");
  const [version, setVersion] = useState(0);
  const { value, error } = useLive(
    async () => ({
      items: stable(await c.assistance.list()),
      ledger: await c.ledger.get().catch(() => undefined),
    }),
    (again) => c.sync.subscribe(again),
    [c, version],
  );
  if (error) return <ErrorCard error={error} />;
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
            setVersion((v) => v + 1);
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
      <table className="list">
        <thead>
          <tr>
            <th>Subject</th>
            <th>Ticket</th>
          </tr>
        </thead>
        <tbody>
          {value?.items.length === 0 && (
            <tr>
              <td colSpan={2} className="muted">
                No requests yet.
              </td>
            </tr>
          )}
          {value?.items.map(({ id, doc }) => (
            <tr key={id}>
              <td data-label="Subject">{doc.subject}</td>
              <td data-label="Ticket">
                {value.ledger?.assistance[id as never]?.ticketNumber ?? "waiting for sync"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
