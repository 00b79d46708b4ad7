/** What a UI shows about sync: cheap to read, pushed to listeners on every change. */
export interface SyncStatus {
  /**
   * - `offline`: no connection to the relay (work goes on locally)
   * - `connecting`: checking the token and opening the connection
   * - `syncing`: connected, documents are being exchanged
   * - `complete`: every document in scope is stored by the relay at this device's heads, and this
   *   device holds the relay's heads
   * - `error`: cannot sync until something changes; see `error`
   */
  readonly state: "offline" | "connecting" | "syncing" | "complete" | "error";
  /** `revoked`: an admin revoked the user; local work is kept, nothing syncs until reinstated. */
  readonly error: {
    readonly reason: "auth" | "server" | "revoked";
    readonly message: string;
  } | null;
  /** Progress of the current (or last) sync run. */
  readonly progress: {
    readonly documentsDone: number;
    readonly documentsTotal: number;
    readonly bytesSent: number;
    readonly bytesReceived: number;
  };
  /** Relay time of the last complete sync, or null. */
  readonly lastCompleteSync: number | null;
  /** Documents in scope with changes the relay has not stored yet. */
  readonly pendingDocuments: number;
  /** Documents whose local changes the relay refused, kept in `client.quarantine`. */
  readonly quarantined: number;
}

export const initialStatus: SyncStatus = {
  state: "offline",
  error: null,
  progress: { documentsDone: 0, documentsTotal: 0, bytesSent: 0, bytesReceived: 0 },
  lastCompleteSync: null,
  pendingDocuments: 0,
  quarantined: 0,
};
