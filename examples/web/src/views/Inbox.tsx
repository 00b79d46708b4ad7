import type { DocId } from "oms-sync";
import { useState } from "react";
import { dateTime } from "../format.js";
import { useClient, useLive } from "../live.js";
import { useAction } from "../notice.js";
import { ErrorCard } from "./common.js";

/** Where an inbox message leads. */
export function hrefOf(ref: { kind: string; id: DocId } | null): string {
  if (!ref) return "";
  return ref.kind === "assistance" ? "#/assistance" : `#/${ref.kind}/${ref.id}`;
}

/** Messages from the relay (order numbers, refusals, reassignments); opening one marks it read. */
export function Inbox() {
  const c = useClient();
  const act = useAction();
  const [version, setVersion] = useState(0);
  const { value: messages, error } = useLive(
    () => c.inbox.messages(),
    (again) => c.sync.subscribe(again),
    [c, version],
  );
  if (error) return <ErrorCard error={error} />;
  const open = (id: string, to: string) =>
    act(async () => {
      await c.inbox.markRead(id);
      if (to) location.hash = to;
      else setVersion((v) => v + 1);
    });
  return (
    <div className="card">
      <h2>Inbox</h2>
      <table className="list inbox" data-testid="inbox">
        <tbody>
          {messages?.length === 0 && (
            <tr>
              <td className="muted">No messages.</td>
            </tr>
          )}
          {messages?.map((m) => (
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
