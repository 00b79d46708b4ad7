import { useMemo, useSyncExternalStore } from "react";
import type { MessageId, OmsClient, QuarantineEntry } from "../client/index.js";
import { followedList } from "./followed-list.js";
import { useStores } from "./provider.js";
import type { InboxItem, InboxView, QuarantineView } from "./types.js";

/** A list of the client read once and followed, shared by every component of that client. */
function useFollowed<T>(
  key: string,
  source: (client: OmsClient) => {
    what: string;
    read: () => Promise<T[]>;
    follow: (listener: (items: T[]) => void) => (() => void) | Promise<() => void>;
  },
) {
  const stores = useStores();
  const store = stores.lazy(key, () => {
    const { what, read, follow } = source(stores.client);
    return followedList<T>(what, read, follow);
  });
  return {
    client: stores.client,
    state: useSyncExternalStore(store.subscribe, store.get, store.get),
  };
}

/**
 * The quarantine: documents whose local changes the relay refused (access revoked while
 * offline, a write the relay's rules forbid), kept on the device with the relay's reasons.
 * Never suspends or throws: `loading` and `error` are values. `export(id)` gives the JSON text
 * to save or send; `discard(id)` forgets an entry once it was passed on.
 *
 * @example
 * ```tsx
 * const { entries, export: exportEntry } = useQuarantine();
 * return entries.map((e) => (
 *   <p key={e.documentId}>{e.reasons[0]?.message} <button onClick={() => exportEntry(e.documentId).then(save)}>Export</button></p>
 * ));
 * ```
 */
export function useQuarantine(): QuarantineView {
  const { client, state } = useFollowed<QuarantineEntry>("quarantine", (c) => ({
    what: "the quarantine",
    read: () => c.quarantine.list(),
    follow: (listener) => c.quarantine.subscribe(listener),
  }));
  return useMemo(
    () => ({
      entries: state.items,
      loading: state.loading,
      error: state.error,
      export: (id: string) => client.quarantine.export(id),
      discard: (id: string) => client.quarantine.discard(id),
    }),
    [state, client],
  );
}

/**
 * The user's inbox (messages the relay writes: outcomes, reassignments), newest first, with
 * `read` as this user marked it on any device, and the `unread` count. Follows new messages and
 * marks. Never suspends or throws: `loading` and `error` are values.
 *
 * @example
 * ```tsx
 * const { messages, unread, markRead } = useInbox();
 * <h2>Inbox ({unread})</h2>
 * ```
 */
export function useInbox(): InboxView {
  const { client, state } = useFollowed<InboxItem>("inbox", (c) => ({
    what: "the inbox",
    read: () => c.inbox.messages(),
    follow: (listener) => c.inbox.subscribe(listener),
  }));
  return useMemo(
    () => ({
      messages: state.items,
      unread: state.items.filter((m) => !m.read).length,
      loading: state.loading,
      error: state.error,
      markRead: (id: MessageId | string) => client.inbox.markRead(id),
    }),
    [state, client],
  );
}
