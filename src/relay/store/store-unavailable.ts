/**
 * Connection-level failures: the store could not be reached, refused more work for now, or
 * dropped the connection. None of them says anything about the data being written.
 */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  // SQLite: another connection holds the write lock past the busy timeout.
  "SQLITE_BUSY",
]);

/**
 * SQLSTATE classes and codes that mean "not now" rather than "not this": connection exceptions
 * (08), insufficient resources (53), operator intervention such as a restart (57P), and a
 * serialization failure or deadlock (40001, 40P01), which a retry resolves.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P)|^40001$|^40P01$/;

/** What `pg` throws when its pool hands out no connection in time, or a connection dies. */
const UNAVAILABLE_MESSAGES = [
  "timeout exceeded when trying to connect",
  "Connection terminated",
  "Client has encountered a connection error",
  "Cannot use a pool after calling end",
];

/**
 * True when `err` says the store is unavailable or overloaded (a pool that had no connection
 * within its timeout, a refused or dropped connection, a server restart) rather than that the
 * write itself was wrong. A failure of this kind is the node's, not a document's: the save is
 * retried with the next one, and the node's health check decides whether to stop accepting.
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))
    )
      return true;
    if (UNAVAILABLE_MESSAGES.some((m) => e instanceof Error && e.message.includes(m))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
