#!/usr/bin/env node
/**
 * `chainvm-bindings`: writes typed TypeScript bindings for a contract, from an ABI file
 * (`--abi FILE.json`, the JSON `chainvm_getAbi` returns or `chainvm abi` prints) or from a
 * node (`--node URL --contract 0x…`). Output to `--out FILE.ts` or standard output.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { type ContractAbiJson } from "./abi.js";
import { generateBindings, type BindingsOptions } from "./bindings.js";
import { Client } from "./client.js";

const USAGE = `usage: chainvm-bindings (--abi FILE.json | --node URL --contract 0x…) [--class NAME] [--import FROM] [--out FILE.ts]

  --abi FILE.json     the contract's ABI ({contract, methods, types}, as chainvm_getAbi returns it)
  --node URL          a node's JSON-RPC URL, with --contract: fetch the ABI with chainvm_getAbi
  --contract 0x…      the contract's address
  --class NAME        the class's name (default: the contract's name + "Client")
  --import FROM       where the module imports the client from (default "@chainvm/client")
  --out FILE.ts       write there (default: standard output)`;

/** A command-line mistake: printed with the usage, exit status 2. */
class UsageError extends Error {}

function parse(argv: string[]): Record<string, string> {
  const known = new Set(["abi", "node", "contract", "class", "import", "out"]);
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-h" || a === "--help") throw new UsageError("");
    const m = /^--([a-z]+)(?:=(.*))?$/.exec(a);
    if (!m || !known.has(m[1]!)) throw new UsageError(`unknown argument \`${a}\``);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new UsageError(`\`--${m[1]}\` needs a value`);
    out[m[1]!] = value;
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const args = parse(argv);
  let abi: ContractAbiJson;
  if (args.abi !== undefined) {
    if (args.node !== undefined || args.contract !== undefined) throw new UsageError("give --abi or --node/--contract, not both");
    let text: string;
    try {
      text = readFileSync(args.abi, "utf8");
    } catch (e) {
      throw new Error(`cannot read ${args.abi}: ${(e as Error).message}`);
    }
    try {
      abi = JSON.parse(text) as ContractAbiJson;
    } catch (e) {
      throw new Error(`${args.abi} is not JSON: ${(e as Error).message}`);
    }
  } else if (args.node !== undefined && args.contract !== undefined) {
    const found = await new Client(args.node).getAbi(args.contract);
    if (!found) throw new Error(`the contract at ${args.contract} has no ABI`);
    abi = found.json;
  } else {
    throw new UsageError("give --abi FILE.json, or --node URL and --contract 0x…");
  }
  const opts: BindingsOptions = {};
  if (args.class !== undefined) opts.className = args.class;
  if (args.import !== undefined) opts.importFrom = args.import;
  const ts = generateBindings(abi, opts);
  if (args.out !== undefined) writeFileSync(args.out, ts);
  else process.stdout.write(ts);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) {
    if (e.message) process.stderr.write(`chainvm-bindings: ${e.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = e.message ? 2 : 0;
    return;
  }
  process.stderr.write(`chainvm-bindings: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
