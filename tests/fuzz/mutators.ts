import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";
import { SignJWT } from "jose";
import { fuzzers, type Person, tokenFor } from "./cast.js";
import {
  Connection,
  emptyRequest,
  type FuzzPeer,
  forgedEphemeralData,
  freshDocumentId,
  freshPeerId,
} from "./fuzz-peer.js";
import { bloomVariants, fakeHash, forgeChange, rawSyncMessage } from "./wire.js";
import { bump, pick, type World } from "./world.js";

/** One kind of mischief: sends one or more frames from a peer. */
export interface Mutator {
  readonly name: string;
  readonly weight: number;
  /** Runs beside the peer's loop (it opens sockets of its own and waits on them). */
  readonly side?: boolean;
  run(peer: FuzzPeer, world: World): void | Promise<void>;
}

const int = (world: World, n: number) => Math.floor(world.random() * n);

/** A document the peer holds (or, before it holds any, one it should). */
function ownDoc(peer: FuzzPeer, world: World): string {
  const held = [...peer.held.keys()];
  return held.length ? pick(world, held) : pick(world, peer.documents);
}

function anyDoc(world: World): string {
  return pick(world, [...world.owners.keys()]);
}

function syncFrame(peer: FuzzPeer, documentId: string, data: Uint8Array, type = "sync") {
  return {
    type,
    senderId: peer.conn?.joinedAs ?? "",
    targetId: peer.relay,
    documentId,
    data,
  };
}

/**
 * A real change of a held document, the material forgeries start from: half the time a new local
 * edit (it stays in the peer's copy and reaches the relay honestly at the next sync step), else
 * the last one made here. No copies: documents grow over a long run and cloning would not scale.
 */
function realChange(peer: FuzzPeer, world: World, documentId: string): Uint8Array | undefined {
  const held = peer.held.get(documentId);
  if (!held) return undefined;
  const last = A.getLastLocalChange(held.doc);
  if (last && world.random() < 0.5) return last;
  held.doc = A.change(held.doc, (d) => {
    d.notes = `fuzz ${world.frames}`;
  });
  return A.getLastLocalChange(held.doc) ?? undefined;
}

const stillHeads = (peer: FuzzPeer, documentId: string): string[] => {
  const held = peer.held.get(documentId);
  return held ? A.getHeads(held.doc) : [];
};

const forgeries: ((world: World, heads: string[]) => Parameters<typeof forgeChange>[1])[] = [
  (w) => ({ deps: [fakeHash(int(w, 2 ** 31))] }),
  () => ({ deps: [] }),
  (_w, heads) => ({ deps: [...heads, ...heads] }),
  (w) => ({ deps: Array.from({ length: 300 }, (_, i) => fakeHash(i + int(w, 1000))) }),
  (w) => ({ actor: pick(w, ["00", "ff".repeat(16), "0123456789abcdef0123456789abcdef"]) }),
  (w) => ({ actor: Buffer.from(Array.from({ length: 16 }, () => int(w, 256))).toString("hex") }),
  () => ({ seq: 0 }),
  () => ({ seq: 1 }),
  () => ({ seq: 2 ** 31 }),
  () => ({ seq: Number.MAX_SAFE_INTEGER }),
  () => ({ startOp: 0 }),
  () => ({ startOp: 1 }),
  () => ({ startOp: 2 ** 53 - 1 }),
  () => ({ time: -1 }),
  () => ({ time: 0 }),
  () => ({ time: 8.64e15 }),
  (w) => ({ message: "m".repeat(int(w, 5_000)) }),
  (w) => ({ seq: int(w, 50), startOp: int(w, 500), deps: [fakeHash(int(w, 99))] }),
];

const manyHeads = Array.from({ length: 3_000 }, (_, i) => fakeHash(i));
const manyNeeds = Array.from({ length: 1_000 }, (_, i) => fakeHash(i + 5_000));

const headsPool = (world: World, real: string[]) =>
  pick(world, [real, [], [fakeHash(int(world, 2 ** 31))], [...real, fakeHash(7)]]);

export const mutators: readonly Mutator[] = [
  {
    name: "honestEdit",
    weight: 8,
    run(peer, world) {
      peer.edit(ownDoc(peer, world), `fuzz ${peer.label} ${world.frames}`);
    },
  },
  {
    name: "honestResync",
    weight: 2,
    run(peer, world) {
      const id = ownDoc(peer, world);
      const held = peer.held.get(id);
      if (held) held.sync = A.initSyncState();
      peer.syncStep(id);
    },
  },
  {
    name: "forgedChange",
    weight: 8,
    run(peer, world) {
      const id = ownDoc(peer, world);
      const change = realChange(peer, world, id);
      if (!change) return void peer.syncStep(id);
      const heads = stillHeads(peer, id);
      let forged: Uint8Array;
      try {
        forged = forgeChange(change, pick(world, forgeries)(world, heads));
      } catch {
        bump(world, "forgeryNotEncodable");
        return;
      }
      const changes = world.random() < 0.2 ? [forged, change] : [forged];
      peer.conn?.sendMessage(
        syncFrame(
          peer,
          id,
          rawSyncMessage({ heads: headsPool(world, heads), need: [], have: [], changes }),
        ),
      );
    },
  },
  {
    name: "bloomAttack",
    weight: 4,
    run(peer, world) {
      const id = ownDoc(peer, world);
      const heads = stillHeads(peer, id);
      peer.conn?.sendMessage(
        syncFrame(
          peer,
          id,
          rawSyncMessage({
            heads: headsPool(world, heads),
            need: world.random() < 0.3 ? [fakeHash(int(world, 99))] : [],
            have: [
              { lastSync: world.random() < 0.5 ? [] : heads, bloom: pick(world, bloomVariants)() },
            ],
            changes: [],
          }),
        ),
      );
    },
  },
  {
    name: "hugeCounts",
    weight: 3,
    run(peer, world) {
      const id = ownDoc(peer, world);
      const heads = stillHeads(peer, id);
      const huge = pick(world, [2 ** 32, 2 ** 31 - 1, 2n ** 62n, 1_000_000]);
      const parts = pick(world, [
        { heads, need: [], have: [], changes: [], headsCount: huge },
        { heads, need: [], have: [], changes: [], haveCount: huge },
        { heads, need: [], have: [], changes: [], changesCount: huge },
        { heads: manyHeads, need: manyNeeds, have: [], changes: [] },
      ]);
      peer.conn?.sendMessage(syncFrame(peer, id, rawSyncMessage(parts)));
    },
  },
  {
    name: "fakeHeads",
    weight: 2,
    run(peer, world) {
      const id = ownDoc(peer, world);
      const fakes = Array.from({ length: 1 + int(world, 5) }, () => fakeHash(int(world, 2 ** 31)));
      peer.conn?.sendMessage(
        syncFrame(peer, id, rawSyncMessage({ heads: fakes, need: fakes, have: [], changes: [] })),
      );
    },
  },
  {
    name: "cborConfusion",
    weight: 4,
    run(peer, world) {
      const base: Record<string, unknown> = syncFrame(
        peer,
        ownDoc(peer, world),
        emptyRequest(),
        pick(world, ["sync", "request", "ephemeral", "doc-unavailable", "join", "leave"]),
      );
      const field = pick(world, [
        "type",
        "senderId",
        "targetId",
        "documentId",
        "data",
        "count",
        "sessionId",
        "supportedProtocolVersions",
        "peerMetadata",
      ]);
      base[field] = pick(world, [
        null,
        42,
        -1,
        1.5,
        Number.NaN,
        2n ** 64n,
        "",
        "x".repeat(300),
        [],
        [1, "a", null],
        {},
        { __proto__: { polluted: true } },
        new Uint8Array(3),
        true,
        undefined,
      ]);
      if (base.type === "ephemeral") base.sessionId ??= "s";
      const whole = pick(world, [
        () => base,
        () => [base],
        () => null,
        () => 7,
        () => "sync",
        () => new Uint8Array([1, 2, 3]),
        () =>
          new Map<unknown, unknown>([
            [1, 2],
            ["type", "sync"],
          ]),
      ])();
      try {
        peer.conn?.send(
          cbor.encode(whole),
          typeof base.documentId === "string" ? base.documentId : undefined,
        );
      } catch {
        bump(world, "cborNotEncodable");
      }
    },
  },
  {
    name: "replayOwn",
    weight: 3,
    run(peer, world) {
      const mine = world.recent.filter((r) => r.user === peer.person.user);
      if (!mine.length) return;
      const r = pick(world, mine);
      peer.conn?.send(r.bytes, r.doc);
    },
  },
  {
    name: "replayOther",
    weight: 2,
    run(peer, world) {
      const theirs = world.recent.filter((r) => r.user !== peer.person.user);
      if (!theirs.length) return;
      const r = pick(world, theirs);
      if (world.random() < 0.5) return void peer.conn?.send(r.bytes, r.doc);
      // The same frame under this socket's own peer id: only the access rules stand in the way.
      try {
        const m = cbor.decode(r.bytes) as Record<string, unknown>;
        if (typeof m === "object" && m && !Array.isArray(m)) {
          m.senderId = peer.conn?.joinedAs;
          peer.conn?.sendMessage(m);
        }
      } catch {
        peer.conn?.send(r.bytes, r.doc);
      }
    },
  },
  {
    name: "reorder",
    weight: 2,
    run(peer, world) {
      const id = ownDoc(peer, world);
      const held = peer.held.get(id);
      if (!held) return void peer.syncStep(id);
      // Real local edits, sent one change per message in the wrong order (the honest
      // conversation sends them again later).
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 3; i++) {
        held.doc = A.change(held.doc, (d) => {
          d.notes = `reordered ${i} ${world.frames}`;
        });
        const change = A.getLastLocalChange(held.doc) as Uint8Array;
        frames.push(
          rawSyncMessage({ heads: A.getHeads(held.doc), need: [], have: [], changes: [change] }),
        );
      }
      frames.reverse();
      if (world.random() < 0.5) frames.splice(1, 1); // and one never comes
      for (const data of frames) peer.conn?.sendMessage(syncFrame(peer, id, data));
    },
  },
  {
    name: "fragments",
    weight: 2,
    async run(peer, world) {
      const id = ownDoc(peer, world);
      const held = peer.held.get(id);
      const data = held ? A.generateSyncMessage(held.doc, A.initSyncState())[1] : emptyRequest();
      const bytes = cbor.encode(syncFrame(peer, id, data ?? emptyRequest()));
      const cut = world.random() < 0.4;
      peer.conn?.sendFragments(bytes, 1 + int(world, bytes.length - 1), cut, id);
      if (cut) await peer.connect();
    },
  },
  {
    name: "truncated",
    weight: 1,
    async run(peer, world) {
      const id = ownDoc(peer, world);
      const bytes = cbor.encode(syncFrame(peer, id, emptyRequest()));
      peer.conn?.send(bytes.subarray(0, 1 + int(world, bytes.length - 2)), id);
      await peer.conn?.waitFor("never", 50);
      if (!peer.conn?.open) await peer.connect();
    },
  },
  {
    name: "forgedToken",
    side: true,
    weight: 1,
    async run(peer, world) {
      const kind = pick(world, [
        "otherSecret",
        "algNone",
        "expired",
        "tampered",
        "garbage",
        "empty",
      ]);
      const token = await forgedToken(kind, peer.person, world);
      const conn = await Connection.open(
        world,
        peer.person,
        `${peer.label}/token-${kind}`,
        () => {},
        token,
        kind,
      );
      if (conn) {
        world.findings.add("forgedTokenAccepted", `a ${kind} token was accepted at upgrade`);
        conn.join(freshPeerId(peer.person.user));
        conn.sendMessage(syncFrame(peer, ownDoc(peer, world), emptyRequest(), "request"));
        await conn.waitFor("never", 100);
        conn.terminate();
      }
    },
  },
  {
    name: "takeover",
    side: true,
    weight: 2,
    async run(peer, world) {
      const others = [...world.livePeers.keys()];
      const victim = pick(world, [
        world.relayPeerId,
        world.relayPeerId,
        others.length ? pick(world, others) : world.relayPeerId,
        peer.conn?.joinedAs ?? world.relayPeerId,
      ]);
      const conn = await Connection.open(
        world,
        peer.person,
        `${peer.label}/takeover-${world.frames}`,
        () => {},
      );
      if (!conn) return;
      conn.join(victim);
      await conn.waitFor("peer", 1_000);
      for (let i = 0; i < 1 + int(world, 4); i++) {
        const id = ownDoc(peer, world);
        conn.sendMessage({
          type: "ephemeral",
          senderId: victim,
          targetId: world.relayPeerId,
          documentId: id,
          sessionId: `forged-${world.frames}-${i}`,
          count: 1 + i,
          data: forgedEphemeralData(peer.person.user, id, world.random() < 0.8),
        });
        if (world.random() < 0.3)
          conn.sendMessage(syncFrame({ ...peer, conn } as FuzzPeer, id, emptyRequest(), "request"));
      }
      await conn.waitFor("never", 50 + int(world, 300));
      conn.terminate();
    },
  },
  {
    name: "badJoin",
    side: true,
    weight: 1,
    async run(peer, world) {
      const versions = pick(world, [[], ["2"], undefined, ["0", "99"], [1], "1", ["1", "1"]]);
      const conn = await Connection.open(
        world,
        peer.person,
        `${peer.label}/badjoin-${world.frames}`,
        () => {},
      );
      if (!conn) return;
      const id = freshPeerId(peer.person.user);
      conn.join(id, versions);
      await conn.waitFor("peer", 300);
      conn.sendMessage({
        type: "request",
        senderId: id,
        targetId: world.relayPeerId,
        documentId: ownDoc(peer, world),
        data: emptyRequest(),
      });
      await conn.waitFor("never", 100);
      conn.terminate();
    },
  },
  {
    name: "joinAfterLeave",
    weight: 1,
    run(peer, world) {
      const conn = peer.conn;
      if (!conn?.open) return;
      const id = conn.joinedAs;
      conn.sendMessage({ type: "leave", senderId: id });
      if (world.random() < 0.5) conn.join(id);
      else conn.join(freshPeerId(peer.person.user)); // a second identity on one socket
      conn.joinedAs = id;
    },
  },
  {
    name: "ephemeral",
    weight: 3,
    run(peer, world) {
      const id = pick(world, [
        ownDoc(peer, world),
        ownDoc(peer, world),
        anyDoc(world),
        freshDocumentId(),
      ]);
      peer.conn?.sendMessage({
        type: "ephemeral",
        senderId: peer.conn?.joinedAs,
        targetId: pick(world, [
          world.relayPeerId,
          world.relayPeerId,
          pick(world, [...world.livePeers.keys(), "x"]),
        ]),
        documentId: id,
        sessionId: world.random() < 0.7 ? `fresh-${world.frames}-${Math.random()}` : "fixed",
        count: pick(world, [0, 1, -1, 2 ** 53 - 1, world.frames]),
        data: forgedEphemeralData(peer.person.user, id, world.random() < 0.5),
      });
    },
  },
  {
    name: "unknownDocument",
    weight: 2,
    run(peer, world) {
      const id = freshDocumentId();
      const kind = int(world, 3);
      if (kind === 0)
        return void peer.conn?.sendMessage(syncFrame(peer, id, emptyRequest(), "request"));
      // Someone else's document under a fresh id: a document of another owner or organization.
      const source = peer.held.get(ownDoc(peer, world));
      // The whole document as one chunk (a v2 sync message may carry one).
      const changes = source ? [A.save(source.doc)] : [];
      const heads = source ? A.getHeads(source.doc) : [fakeHash(3)];
      peer.conn?.sendMessage(
        syncFrame(
          peer,
          id,
          rawSyncMessage({ heads, need: [], have: [], changes: kind === 1 ? [] : changes }),
        ),
      );
    },
  },
  {
    name: "otherDocument",
    weight: 2,
    run(peer, world) {
      const id = anyDoc(world);
      const type = pick(world, ["request", "sync", "doc-unavailable"]);
      peer.conn?.sendMessage(syncFrame(peer, id, emptyRequest(), type));
    },
  },
  {
    name: "reconnect",
    weight: 0.5,
    async run(peer) {
      await peer.connect();
    },
  },
];

const otherSecret = new TextEncoder().encode("another-secret-another-secret-another-0123");

export async function forgedToken(kind: string, person: Person, world: World): Promise<string> {
  const claims = { org: person.org, roles: ["manager", "admin"], offline: true };
  switch (kind) {
    case "otherSecret":
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(person.user)
        .setExpirationTime("1h")
        .sign(otherSecret);
    case "algNone": {
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
      return `${enc({ alg: "none" })}.${enc({ sub: person.user, ...claims, exp: 9e9 })}.`;
    }
    case "expired":
      return tokenFor(person, -60);
    case "tampered": {
      const [h, , s] = (await tokenFor(person)).split(".");
      const victim = pick(world, fuzzers);
      const payload = Buffer.from(
        JSON.stringify({ sub: victim.user, ...claims, org: victim.org, exp: 9e9 }),
      ).toString("base64url");
      return `${h}.${payload}.${s}`;
    }
    case "garbage":
      return "eyJ.garbage.!!";
    default:
      return "";
  }
}
