// A real node for the tests: `chainvm node` (target/debug/chainvm, built with `cargo build
// -p chainvm`) on a temporary home and a free port, and the sample contracts' wasm.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = fileURLToPath(new URL("../../../../", import.meta.url));
/** The client package's root (clients/ts). */
export const packageRoot = join(root, "clients/ts");
const binary = join(root, "target/debug/chainvm");

/** A sample contract's wasm (`escrow`, `voting`, …). */
export function wasm(name: string): Buffer {
  const p = join(root, "contracts/target/chainvm", `${name}.wasm`);
  if (!existsSync(p)) throw new Error(`${p} is missing: build the sample contracts with \`cargo build -p chainvm-tests\``);
  return readFileSync(p);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

/** A running node: its RPC URL, and `stop()` (kills it, removes its home). */
export interface TestNode {
  url: string;
  stop(): Promise<void>;
}

/** Starts a single-validator dev node and waits until its RPC answers. */
export async function startNode(): Promise<TestNode> {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: build the node first with \`cargo build -p chainvm\` (from the repository root)`);
  }
  const home = mkdtempSync(join(tmpdir(), "chainvm-ts-"));
  execFileSync(binary, ["init", "--home", join(home, "chain")], { stdio: "pipe" });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let log = "";
  const node: ChildProcess = spawn(binary, ["node", "--home", join(home, "chain"), "--rpc", `127.0.0.1:${port}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  node.stdout?.on("data", (d) => (log += d));
  node.stderr?.on("data", (d) => (log += d));
  const stop = async () => {
    if (node.exitCode === null && node.signalCode === null) {
      const exited = new Promise((r) => node.once("exit", r));
      node.kill("SIGTERM");
      await exited;
    }
    rmSync(home, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "chainvm_blockNumber", params: null }),
      });
      if (r.ok && typeof ((await r.json()) as { result?: unknown }).result === "number") return { url, stop };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || node.exitCode !== null) {
      await stop();
      throw new Error(`the node did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
