#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { JSONWebKeySet } from "jose";
import { OmsError } from "../docs/errors.js";
import { mintToken } from "./auth.js";
import { rebuildCatalogue } from "./catalogue/rebuild.js";
import { defaultClusterConfig } from "./cluster/cluster.js";
import { defaultConfiguration } from "./config.js";
import { createRelay } from "./relay.js";
import { describeSecret, type LoadedSecret, loadSecret } from "./secret.js";
import { isPostgresUrl } from "./store/open.js";
import { redactUrl } from "./store/redact.js";

const HELP = `oms-relay: the oms-sync reference relay

Usage:
  oms-relay [serve] [options]        run the relay
  oms-relay token --sub ID --org ID --roles a,b [--offline] [--ttl 8h]
                                     print a token signed with the relay's secret (development);
                                     finds it like the relay does, and never generates one
  oms-relay catalogue rebuild [--data DIR | --database URL]
                                     derive the document catalogue again from the stored
                                     documents (after an upgrade or a restore; SQLite: relay
                                     stopped; PostgreSQL: nodes may keep running)
  oms-relay --help

Options (flag / environment variable / default):
  --port N            PORT                 ${defaultConfiguration.port} (0 picks a free port)
  --host ADDR         OMS_RELAY_HOST       ${defaultConfiguration.host}
  --data DIR          OMS_RELAY_DATA       ${defaultConfiguration.dataDir} (database and generated secret)
  --database URL      OMS_DATABASE_URL     the embedded SQLite file in DIR; or postgres://user@host:5432/db,
                                           shared by several relay nodes (docs/scale-out.md)
  --secret-file FILE  OMS_RELAY_SECRET     the HS256 secret itself in the variable, or a file
                                           holding it; with neither, DIR/relay-secret, generated
                                           on the first start
  --jwks-file FILE    OMS_RELAY_JWKS_FILE  public keys (JWK set) for RS256/ES256 tokens
  --log-level LEVEL   OMS_RELAY_LOG_LEVEL  ${defaultConfiguration.logLevel} (fatal, error, warn, info, debug, trace, silent)
  --max-payload BYTES OMS_RELAY_MAX_PAYLOAD ${defaultConfiguration.limits.maxPayloadBytes}
  --cors ORIGINS      OMS_RELAY_CORS       * (browser origins allowed to call HTTP endpoints, comma-separated)
  --node-id NAME      OMS_RELAY_NODE_ID    host-pid-random (this node's name in logs, metrics, notices)
  --bus URL           OMS_RELAY_BUS        none (nats://HOST:PORT: tells the other nodes what changed)
  --recheck-ms N      OMS_RELAY_RECHECK_MS ${defaultClusterConfig.recheckMs} (re-read loaded documents from the store;
                                           a lost bus notice costs at most this much latency)
  --processor-interval-ms N  OMS_RELAY_PROCESSOR_INTERVAL_MS  30000 (safety-net pass over
                                           undecided submissions: how soon another node takes
                                           over the work of a node that died)

Endpoints (docs/protocol.md):
  ws://HOST:PORT/?token=JWT          sync
  GET  /healthz, GET /metrics        health and Prometheus metrics (no token)
  GET  /v1/session                   the caller's session (every /v1 call: Authorization: Bearer JWT)
  GET  /v1/documents?kind=…          the catalogue: search, sort and page what the caller may read
  POST /v1/sync/digest, /v1/sync/bulk, /v1/restore/receipts
                                     what a device's sync uses
  /v1/admin/…                        reassign a document, revoke or reinstate a user (admin role)
Limits (page size, search length, request rates, …) are createRelay options: docs/operations.md.
Logs are JSON lines on stdout. SIGTERM or SIGINT stops cleanly.`;

function fail(message: string): never {
  process.stderr.write(`oms-relay: ${message}\nRun \`oms-relay --help\` for usage.\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    fail(`${name} must be a whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** Started by `npm start` in this package (not the installed `oms-relay` command). */
function runByNpmStart(): boolean {
  return process.env.npm_lifecycle_event === "start" && process.env.npm_package_name === "oms-sync";
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      port: { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      database: { type: "string" },
      "secret-file": { type: "string" },
      "jwks-file": { type: "string" },
      "log-level": { type: "string" },
      "max-payload": { type: "string" },
      cors: { type: "string" },
      "node-id": { type: "string" },
      bus: { type: "string" },
      "recheck-ms": { type: "string" },
      "processor-interval-ms": { type: "string" },
      sub: { type: "string" },
      org: { type: "string" },
      roles: { type: "string" },
      offline: { type: "boolean" },
      ttl: { type: "string" },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const env = process.env;
  const command = positionals[0] ?? "serve";
  const dataDir = resolve(values.data ?? env.OMS_RELAY_DATA ?? defaultConfiguration.dataDir);
  const secretFile = values["secret-file"];
  const secretEnv = env.OMS_RELAY_SECRET;

  if (command === "token") {
    if (!values.sub || !values.org) fail("token needs --sub and --org");
    let loaded: LoadedSecret;
    try {
      loaded = loadSecret({ secret: secretEnv, secretFile, dataDir, generate: false });
    } catch (err) {
      if (err instanceof OmsError) fail(err.message);
      throw err;
    }
    process.stderr.write(`oms-relay: signing with the secret from ${describeSecret(loaded)}\n`);
    const token = await mintToken(loaded.secret, {
      sub: values.sub,
      org: values.org,
      roles: (values.roles ?? "rep").split(",").filter(Boolean),
      offline: values.offline === true,
      ttl: values.ttl ?? "8h",
    });
    process.stdout.write(`${token}\n`);
    return;
  }
  if (command === "catalogue") {
    if (positionals[1] !== "rebuild") fail("catalogue takes one subcommand: rebuild");
    const database = values.database ?? (env.OMS_DATABASE_URL || undefined);
    if (database !== undefined && !isPostgresUrl(database))
      fail(
        "--database (OMS_DATABASE_URL) takes a PostgreSQL URL, postgres://user@host:5432/db; leave it out for the embedded SQLite file in --data",
      );
    const { rows, skipped } = await rebuildCatalogue(dataDir, database);
    process.stdout.write(
      `${JSON.stringify({ rebuilt: rows, skipped: skipped.length, skippedIds: skipped.slice(0, 20) })}\n`,
    );
    return;
  }
  if (command !== "serve") fail(`unknown command ${JSON.stringify(command)}`);

  const jwksFile = values["jwks-file"] ?? env.OMS_RELAY_JWKS_FILE;
  let jwks: JSONWebKeySet | undefined;
  if (jwksFile) {
    try {
      jwks = JSON.parse(readFileSync(jwksFile, "utf8")) as JSONWebKeySet;
    } catch (err) {
      fail(`cannot read the JWK set in ${jwksFile}: ${(err as Error).message}`);
    }
  }
  const maxPayload = integer(values["max-payload"] ?? env.OMS_RELAY_MAX_PAYLOAD, "--max-payload");
  const processorIntervalMs = integer(
    values["processor-interval-ms"] ?? env.OMS_RELAY_PROCESSOR_INTERVAL_MS,
    "--processor-interval-ms",
  );
  if (processorIntervalMs !== undefined && processorIntervalMs < 100)
    fail("--processor-interval-ms must be at least 100");
  const nodeId = values["node-id"] ?? env.OMS_RELAY_NODE_ID;
  const busUrl = values.bus ?? env.OMS_RELAY_BUS;
  if (busUrl && !/^nats:\/\/[^,\s]+(,nats:\/\/[^,\s]+)*$/.test(busUrl))
    fail(
      `--bus must be nats://HOST:PORT (several separated by commas), got ${JSON.stringify(busUrl)}`,
    );
  const recheckMs = integer(values["recheck-ms"] ?? env.OMS_RELAY_RECHECK_MS, "--recheck-ms");
  if (recheckMs !== undefined && recheckMs < 100) fail("--recheck-ms must be at least 100");
  const database = values.database ?? (env.OMS_DATABASE_URL || undefined);
  if (database !== undefined && !isPostgresUrl(database))
    fail(
      "--database (OMS_DATABASE_URL) takes a PostgreSQL URL, postgres://user@host:5432/db; leave it out for the embedded SQLite file in --data",
    );
  const relay = await createRelay({
    ...(database ? { database } : {}),
    ...(nodeId ? { nodeId } : {}),
    ...(busUrl ? { busUrl } : {}),
    ...(recheckMs !== undefined ? { cluster: { recheckMs } } : {}),
    port: integer(values.port ?? env.PORT, "--port") ?? defaultConfiguration.port,
    host: values.host ?? env.OMS_RELAY_HOST ?? defaultConfiguration.host,
    dataDir,
    ...(secretEnv ? { secret: secretEnv } : {}),
    ...(secretFile ? { secretFile } : {}),
    ...(jwks ? { jwks } : {}),
    logLevel: values["log-level"] ?? env.OMS_RELAY_LOG_LEVEL ?? defaultConfiguration.logLevel,
    limits: {
      ...(maxPayload !== undefined ? { maxPayloadBytes: maxPayload } : {}),
      ...(processorIntervalMs !== undefined ? { processorIntervalMs } : {}),
    },
    ...((values.cors ?? env.OMS_RELAY_CORS) && (values.cors ?? env.OMS_RELAY_CORS) !== "*"
      ? { allowedOrigins: (values.cors ?? env.OMS_RELAY_CORS ?? "").split(",").filter(Boolean) }
      : {}),
    // Test hook for crash tests: die at a named step of submission processing.
    ...(env.OMS_RELAY_CRASH_AT
      ? {
          faults: (point: string) => {
            if (point === env.OMS_RELAY_CRASH_AT) process.kill(process.pid, "SIGKILL");
          },
        }
      : {}),
  });
  const secretFrom = relay.generatedSecretFile
    ? `no secret was given, so one was generated into ${relay.generatedSecretFile}`
    : secretEnv
      ? "using the secret from the OMS_RELAY_SECRET environment variable"
      : secretFile
        ? `using the secret from the file ${secretFile} (--secret-file)`
        : `using the secret from the data folder's ${resolve(dataDir, "relay-secret")}`;
  // The token command must find the same secret: name it the way this relay was given it.
  const secretArgs = secretEnv
    ? ""
    : secretFile
      ? ` --secret-file ${secretFile}`
      : ` --data ${dataDir}`;
  const runner = runByNpmStart() ? "npm start -- token" : "oms-relay token";
  process.stderr.write(
    `oms-relay: ${secretFrom}\n` +
      `oms-relay: listening on ${relay.url} (HTTP ${relay.httpUrl}), data in ${database ? redactUrl(database) : dataDir}\n` +
      `oms-relay: mint a development token with\n` +
      `  ${runner}${secretArgs} --sub alice --org acme --roles rep --offline\n` +
      (secretEnv ? "  (with the same OMS_RELAY_SECRET in its environment)\n" : ""),
  );
  // A promise rejected inside a library (automerge-repo leaves some unhandled, e.g. a document a
  // peer offered and never sent) must not stop every user's sync: log it, keep serving.
  process.on("unhandledRejection", (reason) => {
    relay.log.error(
      { err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : reason },
      "unhandled rejection: logged, the relay keeps running; please report it",
    );
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    relay.log.info({ signal }, "signal received");
    relay.close().then(
      () => process.exit(0),
      (err) => {
        relay.log.error({ err }, "failed to stop cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message =
    err instanceof OmsError
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`oms-relay: ${message}\n`);
  process.exit(1);
});
