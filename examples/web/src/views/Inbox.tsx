import type { DocId } from "oms-sync";
import { useInbox } from "oms-sync/react";
import { dateTime } from "../format.js";
import { useAction } from "../notice.js";
import { ErrorNote } from "./common.js";

/** Where an inbox message leads. */
export function hrefOf(ref: { kind: string; id: DocId } | null): string {
  if (!ref) return "";
  return ref.kind === "assistance" ? "#/assistance" : `#/${ref.kind}/${ref.id}`;
}

/** Messages from the relay (order numbers, refusals, reassignments); opening one marks it read. */
export function Inbox() {
  const { messages, loading, error, markRead } = useInbox();
  const act = useAction();
  const open = (id: string, to: string) =>
    act(async () => {
      await markRead(id);
      if (to) location.hash = to;
    });
  return (
    <div className="card">
      <h2>Inbox</h2>
      {error && <ErrorNote error={error} />}
      <table className="list inbox" data-testid="inbox">
        <tbody>
          {!loading && messages.length === 0 && (
            <tr>
              <td className="muted">No messages.</td>
            </tr>
          )}
          {messages.map((m) => (
            <tr
              key={m.id}
              className={m.read ? "read" : "unread"}
              data-testid={`message-${m.id}`}
              tabIndex={0}
              onClick={() => open(m.id, hrefOf(m.ref))}
              onKeyDown={(e) => e.key === "Enter" && open(m.id, hrefOf(m.ref))}
            >
              <td className="dot">{m.read ? "" : "●"}</td>
              <td data-label="Subject">
                <strong>{m.subject}</strong>
                <div className="muted">{m.body}</div>
              </td>
              <td className="muted" data-label="Received">
                {dateTime(m.at)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
