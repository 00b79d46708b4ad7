import * as v from "valibot";
import { ValidationError, type Violation } from "./errors.js";

/**
 * Checks a mutation's inputs against the same field schemas the documents use, all at once,
 * before anything is written. Throws an INVALID_INPUT ValidationError listing each problem.
 */
export function checkInputs(fields: readonly [string, v.GenericSchema, unknown][]): void {
  const violations: Violation[] = [];
  for (const [name, schema, value] of fields) {
    if (value === undefined) continue;
    const result = v.safeParse(schema, value, { abortEarly: true });
    if (!result.success) {
      for (const issue of result.issues) {
        violations.push({
          path: [name, ...(issue.path ?? []).map((p) => p.key as string | number)],
          message: issue.message,
        });
      }
    }
  }
  if (violations.length > 0) throw new ValidationError("INVALID_INPUT", violations);
}
