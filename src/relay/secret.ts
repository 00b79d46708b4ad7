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

/** Where the relay's secret came from: given as a value, a given file, the data folder's file. */
export type SecretSource = "env" | "file" | "generated" | "data";

export interface LoadedSecret {
  secret: Uint8Array;
  source: SecretSource;
  file?: string;
}

/**
 * Finds the relay's HS256 secret: the given value, else the given file, else `<data>/relay-secret`,
 * generated there (mode 0600) on the first start. Says which in `source`. With `generate: false`
 * (minting a token for a relay that runs elsewhere) a missing secret is a NOT_FOUND error: a new
 * secret would sign tokens that relay refuses.
 */
export function loadSecret(options: {
  secret?: string | undefined;
  secretFile?: string | undefined;
  dataDir: string;
  generate?: boolean;
}): LoadedSecret {
  const encoder = new TextEncoder();
  if (options.secret)
    return { secret: checked(encoder.encode(options.secret), "the environment"), source: "env" };
  if (options.secretFile) {
    let text: string;
    try {
      text = readFileSync(options.secretFile, "utf8").trim();
    } catch (cause) {
      throw new OmsError(
        "NOT_FOUND",
        `cannot read the secret file ${options.secretFile} (${(cause as NodeJS.ErrnoException).code ?? String(cause)}); check the path given with --secret-file`,
        { cause },
      );
    }
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
  if (options.generate === false) {
    throw new OmsError(
      "NOT_FOUND",
      `no secret to sign with: OMS_RELAY_SECRET is not set, no --secret-file was given, and ${file} does not exist. A token signed with a new secret would be refused by the running relay: point at its secret with --secret-file FILE or OMS_RELAY_SECRET, or at its data folder with --data DIR`,
    );
  }
  mkdirSync(dirname(file), { recursive: true });
  const generated = randomBytes(48).toString("base64url");
  writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: "wx" });
  return { secret: encoder.encode(generated), source: "generated", file };
}

/** Where a loaded secret came from, in words for an operator. */
export function describeSecret(loaded: LoadedSecret): string {
  switch (loaded.source) {
    case "env":
      return "the OMS_RELAY_SECRET environment variable";
    case "file":
      return `the file ${loaded.file} (--secret-file)`;
    case "data":
      return `the data folder's ${loaded.file}`;
    case "generated":
      return `${loaded.file}, generated now because no secret was given`;
  }
}
