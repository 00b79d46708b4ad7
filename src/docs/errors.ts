/**
 * The one error family of oms-sync. Callers branch on `code`; the message says what happened
 * and what to do about it.
 */
export type OmsErrorCode =
  | "INVALID_INPUT"
  | "INVALID_DOCUMENT"
  | "CURRENCY_MISMATCH"
  | "AMOUNT_OVERFLOW"
  | "NOT_FOUND"
  | "FORBIDDEN"
  | "WRITE_REFUSED"
  | "FEATURE_DISABLED"
  | "STALE"
  | "AUTH_REQUIRED"
  | "AUTH_EXPIRED"
  | "USER_REVOKED"
  | "CONFLICT"
  | "OFFLINE"
  | "RATE_LIMITED"
  | "INTERNAL";

/** Base class of every error that oms-sync throws on purpose. */
export class OmsError extends Error {
  readonly code: OmsErrorCode;
  override readonly cause?: unknown;

  constructor(code: OmsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = "OmsError";
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** One problem found in a document or an input, with where it is. */
export interface Violation {
  /** Path from the document root, e.g. `["lineItems", "k3f…", "quantity"]`. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A document (or a mutation's input) does not match its schema. */
export class ValidationError extends OmsError {
  readonly violations: readonly Violation[];

  constructor(code: "INVALID_INPUT" | "INVALID_DOCUMENT", violations: readonly Violation[]) {
    const first = violations[0];
    const where = first && first.path.length > 0 ? `${first.path.join(".")}: ` : "";
    const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
    super(code, `${where}${first?.message ?? "invalid"}${more}`);
    this.name = "ValidationError";
    this.violations = violations;
  }
}

/** Throws an `INVALID_INPUT` ValidationError for one field. */
export function invalidInput(path: string, message: string): never {
  throw new ValidationError("INVALID_INPUT", [{ path: path.split("."), message }]);
}
