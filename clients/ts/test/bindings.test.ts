// Generated bindings: written for the escrow, voting and synthetic ABIs of
// test/vectors.json, type-checked by the package's tsc (strict) with a usage file that must
// pass (including every synthetic value vector in its canonical form) and one with a wrong
// argument type that must fail; then the `chainvm-bindings` CLI against a real node, and a
// full escrow deal through the generated class.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { AbiError, Client, ContractError, generateBindings, Keypair, type ContractAbiJson } from "@chainvm/client";
import { packageRoot, startNode, type TestNode, wasm } from "./harness.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const V: Any = JSON.parse(readFileSync(join(packageRoot, "test/vectors.json"), "utf8"));
const escrowAbi: ContractAbiJson = V.abi.contracts.escrow.abi;
const votingAbi: ContractAbiJson = V.abi.contracts.voting.abi;
const syntheticAbi: ContractAbiJson = V.abi.synthetic.abi;
const tsc = join(packageRoot, "node_modules/typescript/bin/tsc");
const cli = join(packageRoot, "dist/cli.js");

let dir: string;
let node: TestNode | undefined;

/** Runs a program; its exit code and output (never throws on a non-zero exit). */
function run(file: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd: dir }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "chainvm-bindings-"));
  // The temporary project imports the package by name, as a user's would.
  mkdirSync(join(dir, "node_modules/@chainvm"), { recursive: true });
  symlinkSync(packageRoot, join(dir, "node_modules/@chainvm/client"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  const compilerOptions = {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022", "DOM"],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noImplicitReturns: true,
    noPropertyAccessFromIndexSignature: true,
    verbatimModuleSyntax: true,
  };
  const project = (files: string[]) => JSON.stringify({ compilerOptions, files }, null, 2);
  writeFileSync(join(dir, "tsconfig.json"), project(["escrow.ts", "voting.ts", "synthetic.ts", "usage.ts"]));
  writeFileSync(join(dir, "tsconfig.bad.json"), project(["escrow.ts", "bad.ts"]));
});

after(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Whether `json` (an argument vector) is already in the form the decoder gives back
 * (`js`): the typed argument forms are the canonical ones; positional structs, `{Unit:
 * null}` and byte arrays as numbers the encoder takes too, but the types do not. */
function canonical(json: unknown, js: unknown): boolean {
  if (typeof js === "string" && /^0x/.test(js)) return typeof json === "string";
  if (typeof js === "string" || typeof js === "number") return typeof json === "string" || typeof json === "number";
  if (js === null || typeof js === "boolean") return json === js;
  if (Array.isArray(js)) return Array.isArray(json) && json.length === js.length && js.every((x, i) => canonical(json[i], x));
  if (typeof js === "object" && json && typeof json === "object" && !Array.isArray(json)) {
    const o = js as Record<string, unknown>;
    const j = json as Record<string, unknown>;
    return Object.keys(j).every((k) => k in o) && Object.keys(o).every((k) => (k in j ? canonical(j[k], o[k]) : o[k] === null));
  }
  return false;
}

/** The usage file that must type-check: the escrow and voting classes used as documented,
 * every synthetic value vector as an argument and as a result, and mistakes the types
 * must refuse (`@ts-expect-error`: tsc fails if one of them is accepted). */
function usage(): string {
  const vectors: string[] = [];
  let rejected = 0;
  V.abi.synthetic.values.forEach((v: Any, i: number) => {
    const m = syntheticAbi.methods[i]!;
    assert.equal(m.args[0]!.type, v.type, `synthetic method v${i} takes the vector's type`);
    const ok = canonical(v.json, v.js);
    if (!ok) rejected++;
    vectors.push(
      `  {`,
      ...(ok ? [] : [`    // @ts-expect-error: ${v.type} given as ${JSON.stringify(v.json)} (a form only the untyped encoder takes)`]),
      `    const a: In<"${m.name}"> = ${JSON.stringify(v.json)};`,
      `    const b: Out<"${m.name}"> = ${JSON.stringify(v.js)};`,
      `    all.push(a, b);`,
      `  }`,
    );
  });
  assert.ok(rejected >= 3 && rejected < 10, `some vectors are in non-canonical forms (${rejected})`);
  return `import { Client, Keypair } from "@chainvm/client";
import { EscrowClient, type Deal, type DealState, type EscrowError, type EscrowEvent } from "./escrow.js";
import { VotingClient, type Proposal } from "./voting.js";
import { SyntheticClient, type Shape, type ShapeInput } from "./synthetic.js";

export async function deal(client: Client, address: string): Promise<string> {
  const escrow = await EscrowClient.at(client, address);
  const created = await escrow.create({ seller: Keypair.dev(1).address, deadline_blocks: 100n }, { value: 1000n });
  const id: number | \`\${bigint}\` = created.value;
  let amount: string = "";
  for (const e of created.contractEvents) {
    if (e.name === "DealCreated") amount = e.data.amount;
    else if (e.name === "Released") amount = e.data.to;
  }
  const events: EscrowEvent[] = created.contractEvents;
  await escrow.mark_delivered({ id }, { signer: Keypair.dev(1) });
  const d: Deal | null = await escrow.get_deal({ id });
  const state: DealState | undefined = d?.state;
  const n: number | string = await escrow.deal_count();
  try {
    await escrow.confirm({ id: "0" });
  } catch (e) {
    if (EscrowClient.isError(e)) {
      const v: EscrowError = e.value;
      if (v === "NotBuyer") return "not the buyer";
    }
  }
  // @ts-expect-error: seller is an address (a string)
  await escrow.create({ seller: 1, deadline_blocks: 1 });
  // @ts-expect-error: deadline_blocks is required
  await escrow.create({ seller: "0x00" });
  // @ts-expect-error: confirm has no argument \`extra\`
  await escrow.confirm({ id: 0, extra: 1 });
  // @ts-expect-error: not a decimal string
  await escrow.confirm({ id: "zero" });
  // @ts-expect-error: views take no attached value
  await escrow.deal_count({ value: 1n });
  // @ts-expect-error: no such state
  const lost: DealState = "Lost";
  // @ts-expect-error: a u128 decodes to a decimal string, never a number
  const amountNumber: number | undefined = d?.amount;
  // @ts-expect-error: mark_delivered returns nothing
  const nothing: number = (await escrow.mark_delivered({ id: 0 })).value;
  return [amount, state, n, events.length, lost, amountNumber, nothing].join();
}

export async function vote(client: Client, address: string): Promise<number> {
  const voting = await VotingClient.at(client, address);
  const h = await client.blockNumber();
  const { value: id } = await voting.create_proposal({ title: "Lunch", options: ["a", "b"], start: h + 1, end: h + 5 });
  await voting.vote({ id, option: 1 });
  const tally: (number | string)[] = await voting.tally({ id });
  const p: Proposal | null = await voting.get_proposal({ id });
  const winner: number | null | undefined = p?.winner;
  // @ts-expect-error: options are strings
  await voting.create_proposal({ title: "x", options: [1], start: 0, end: 1 });
  const fin: number = (await voting.finalize({ id })).value;
  return fin + tally.length + (winner ?? 0);
}

type In<M extends keyof SyntheticClient> = SyntheticClient[M] extends (args: infer A, ...rest: infer _) => unknown
  ? NonNullable<A> extends { v?: infer T } ? T : never
  : never;
type Out<M extends keyof SyntheticClient> = SyntheticClient[M] extends (...args: infer _) => Promise<{ value: infer T }> ? T : never;

export function synthetic(): unknown[] {
  const all: unknown[] = [];
${vectors.map((l) => `  ${l}`).join("\n")}
  const s: Shape = { Line: [{ x: 0, y: 0, label: null }, { x: 1, y: 1, label: "b" }] };
  const si: ShapeInput = { Line: [{ x: 0, y: 0 }, { x: 1n, y: "1" }] };
  // @ts-expect-error: a decoded Point always has its label (null when none)
  const missing: Shape = { Line: [{ x: 0, y: 0 }, { x: 1, y: 1, label: null }] };
  // @ts-expect-error: Circle has a radius, not a size
  const wrong: ShapeInput = { Circle: { size: 1 } };
  all.push(s, si, missing, wrong);
  return all;
}
`;
}

test("bindings type-check strictly: escrow, voting and every synthetic vector; a wrong argument type fails", async () => {
  writeFileSync(join(dir, "escrow.ts"), generateBindings(escrowAbi));
  writeFileSync(join(dir, "voting.ts"), generateBindings(votingAbi));
  writeFileSync(join(dir, "synthetic.ts"), generateBindings(syntheticAbi));
  writeFileSync(join(dir, "usage.ts"), usage());
  writeFileSync(
    join(dir, "bad.ts"),
    `import type { Client } from "@chainvm/client";
import { EscrowClient } from "./escrow.js";

export async function bad(client: Client, address: string): Promise<void> {
  const escrow = await EscrowClient.at(client, address);
  await escrow.create({ seller: "0x01", deadline_blocks: true });
}
`,
  );
  const [good, bad] = await Promise.all([run(tsc, ["-p", "tsconfig.json"]), run(tsc, ["-p", "tsconfig.bad.json"])]);
  assert.equal(good.code, 0, `the generated bindings and their usage must type-check:\n${good.out}`);
  assert.notEqual(bad.code, 0, "a boolean for a u64 argument must not type-check");
  assert.match(bad.out, /bad\.ts\(6,\d+\): error TS2322: Type 'true' is not assignable to type 'IntArg'/);
  assert.equal(bad.out.match(/error TS/g)?.length, 1, bad.out);
});

test("generator: names, options, a malformed ABI", () => {
  const out = generateBindings(escrowAbi, { className: "Escrow2", importFrom: "../client.js" });
  assert.match(out, /^import \* as chainvm from "\.\.\/client\.js";$/m);
  assert.match(out, /^export class Escrow2 \{$/m);
  // Reserved words and the class's own members are renamed; the wire name is kept.
  const odd: ContractAbiJson = {
    contract: "Odd",
    methods: [
      { name: "address", kind: "view", args: [{ name: "default", type: "u8" }], returns: "Promise", error: null },
      { name: "delete", kind: "call", args: [], returns: null, error: null },
    ],
    types: { Promise: { kind: "struct", name: "Promise", fields: [{ name: "0", type: "bool" }] } },
  };
  const o = generateBindings(odd);
  assert.match(o, /^export type Promise_ = boolean;$/m);
  assert.match(o, /^ {2}address_\(args: \{ default: chainvm\.IntArg \}, opts\?: chainvm\.ViewOptions\): Promise<Promise_> \{$/m);
  assert.match(o, /viewBound<Promise_>\(this\.handle, "address", args, opts\)/);
  assert.match(o, /^ {2}delete\(opts\?: chainvm\.CallOptions\): Promise<OddCallResult<null>> \{$/m);
  assert.throws(
    () => generateBindings({ ...escrowAbi, methods: [{ name: "m", kind: "call", args: [{ name: "a", type: "Vec<" }], returns: null, error: null }] }),
    (e: unknown) => e instanceof AbiError && e.kind === "malformed",
  );
});

test("CLI and a full escrow deal through the generated class against a real node", async () => {
  node = await startNode();
  const client = new Client(node.url, { signer: Keypair.dev(0) });
  const buyer = Keypair.dev(0);
  const seller = Keypair.dev(1);

  // Usage errors and --abi.
  const usageErr = await run(cli, ["--abi"]);
  assert.equal(usageErr.code, 2);
  assert.match(usageErr.out, /`--abi` needs a value[\s\S]*usage: chainvm-bindings/);
  writeFileSync(join(dir, "escrow.abi.json"), JSON.stringify(escrowAbi));
  const fromFile = await run(cli, ["--abi", "escrow.abi.json", "--class", "EscrowFromFile"]);
  assert.equal(fromFile.code, 0, fromFile.out);
  assert.equal(fromFile.out, generateBindings(escrowAbi, { className: "EscrowFromFile" }));

  // From the node: deploy untyped, generate with --node/--contract, load the module.
  const { address } = await client.deploy(wasm("escrow"));
  const gen = await run(cli, ["--node", node.url, "--contract", address, "--out", "escrow_node.ts"]);
  assert.equal(gen.code, 0, gen.out);
  const source = readFileSync(join(dir, "escrow_node.ts"), "utf8");
  assert.match(source, /export class EscrowClient/);
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  writeFileSync(join(dir, "escrow_node.js"), js.outputText);
  const mod: Any = await import(pathToFileURL(join(dir, "escrow_node.js")).href);
  const noAbi = await run(cli, ["--node", node.url, "--contract", buyer.address]);
  assert.equal(noAbi.code, 1);
  assert.match(noAbi.out, /^chainvm-bindings: chainvm_getAbi: no contract at /);

  // Typed through the generated class (its types are the ones checked above).
  const { EscrowClient } = mod as { EscrowClient: Any };
  const escrow = await EscrowClient.at(client, address);
  assert.equal(escrow.address, address);
  const created = await escrow.create({ seller: seller.address, deadline_blocks: 100n }, { value: 1000n });
  assert.equal(created.value, 0);
  assert.equal(created.receipt.status, "success");
  assert.deepEqual(
    created.contractEvents.map((e: Any) => [e.name, e.data.amount, e.data.seller, e.contract]),
    [["DealCreated", "1000", seller.address, address]],
  );
  assert.equal(created.events.length, created.contractEvents.length);
  assert.equal(await escrow.deal_count(), 1);
  const deal = await escrow.get_deal({ id: created.value });
  assert.deepEqual(deal, { buyer: buyer.address, seller: seller.address, arbiter: null, amount: "1000", deadline: deal.deadline, state: "Funded" });
  assert.equal(typeof deal.deadline, "number");
  assert.equal(await escrow.get_deal({ id: "9" }), null);

  // The typed error: the buyer may not mark it delivered.
  await assert.rejects(escrow.mark_delivered({ id: 0 }), (e: unknown) => {
    assert.ok(EscrowClient.isError(e), String(e));
    assert.ok(e instanceof ContractError);
    assert.equal(e.value, "NotSeller");
    assert.equal(e.method, "mark_delivered");
    return true;
  });
  assert.equal(EscrowClient.isError(new Error("x")), false);

  const delivered = await escrow.mark_delivered({ id: 0 }, { signer: seller });
  assert.equal(delivered.value, null);
  assert.deepEqual(delivered.contractEvents.map((e: Any) => [e.name, e.data]), [["Delivered", { id: 0 }]]);
  const sellerBefore = await client.getBalance(seller.address);
  const confirmed = await escrow.confirm({ id: 0 });
  assert.deepEqual(confirmed.contractEvents.map((e: Any) => [e.name, e.data]), [["Released", { id: 0, to: seller.address, amount: "1000" }]]);
  assert.equal(await client.getBalance(seller.address), sellerBefore + 1000n);
  assert.equal((await escrow.get_deal({ id: 0 })).state, "Released");
  await assert.rejects(escrow.confirm({ id: 0 }), (e: unknown) => EscrowClient.isError(e) && (e as ContractError).value === "WrongState");

  // deploy() through the class; and bindings of another contract refuse to bind.
  const second = await EscrowClient.deploy(client, wasm("escrow"));
  assert.notEqual(second.address, address);
  assert.equal(await second.deal_count(), 0);
  const { address: votingAddress } = await client.deploy(wasm("voting"));
  await assert.rejects(EscrowClient.at(client, votingAddress), (e: unknown) => e instanceof AbiError && e.kind === "mismatch");
});
