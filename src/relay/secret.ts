import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OmsError } from "../docs/errors.js";

/** Minimum secret length for HS256, in bytes. */
export const MIN_SECRET_BYTES = 32;

function checked(secret: Uint8Array, where: string): Uint8Array {
  if (secret.length < MIN_SECRET_BYTES) {
    throw new OmsError(
      "INVALID_INPUT",
      `the JWT secret from ${where} is ${secret.length} bytes; use at least ${MIN_SECRET_BYTES} (e.g. \`openssl rand -base64 48\`)`,
    );
  }
  return secret;
}

/**
 * Finds the relay's HS256 secret: the given value, else the given file, else `<data>/relay-secret`,
 * generated there (mode 0600) on the first start. Says which in `source`.
 */
export function loadSecret(options: {
  secret?: string | undefined;
  secretFile?: string | undefined;
  dataDir: string;
}): { secret: Uint8Array; source: "env" | "file" | "generated" | "data"; file?: string } {
  const encoder = new TextEncoder();
  if (options.secret)
    return { secret: checked(encoder.encode(options.secret), "the environment"), source: "env" };
  if (options.secretFile) {
    const text = readFileSync(options.secretFile, "utf8").trim();
    return {
      secret: checked(encoder.encode(text), options.secretFile),
      source: "file",
      file: options.secretFile,
    };
  }
  const file = join(options.dataDir, "relay-secret");
  if (existsSync(file)) {
    return {
      secret: checked(encoder.encode(readFileSync(file, "utf8").trim()), file),
      source: "data",
      file,
    };
  }
  mkdirSync(dirname(file), { recursive: true });
  const generated = randomBytes(48).toString("base64url");
  writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: "wx" });
  return { secret: encoder.encode(generated), source: "generated", file };
}
