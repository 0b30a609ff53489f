// A `chainvm node` on a temporary home and a free port, and the CLI run against it. The binary
// is the workspace's debug build (`cargo build -p chainvm`), or $CHAINVM_BIN; nothing is built
// here.

import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (this package is at clients/browser). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The chainvm binary the tests run. */
export const CHAINVM = process.env.CHAINVM_BIN || join(REPO, 'target/debug/chainvm');

/** A port nothing listens on right now (the OS picks it). */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Runs the CLI with `args`; its stdout (parsed as JSON when `--json` is among the args). With
 * `failed`, a transaction that ran and failed (the CLI exits 1 after printing its receipt)
 * resolves to that receipt instead of throwing.
 */
export function run(args, { timeout = 60_000, failed = false } = {}) {
  return new Promise((ok, fail) => {
    execFile(CHAINVM, args, { timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && failed && err.code === 1 && stdout.trim().startsWith('{')) {
        ok(JSON.parse(stdout));
        return;
      }
      if (err) {
        fail(new Error(`chainvm ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        return;
      }
      ok(args.includes('--json') ? JSON.parse(stdout) : stdout);
    });
  });
}

/** One JSON-RPC call over HTTP to `url`; the result, or throws with the node's error. */
export async function rpc(url, method, params) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const answer = await res.json();
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  return answer.result;
}

/**
 * Starts `chainvm node` (automine) on a fresh home: `{url, port, home, rpc, cli, stop}`.
 * `cli(...args)` runs a command against it with `--json`, aliases kept in its home;
 * `cliFailing(...args)` one whose transaction is expected to fail.
 */
export async function startNode() {
  try {
    await access(CHAINVM);
  } catch {
    throw new Error(`${CHAINVM} is missing: run \`cargo build -p chainvm\` at the repository root first`);
  }
  const home = await mkdtemp(join(tmpdir(), 'chainvm-browser-'));
  await run(['--home', home, 'init']);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(CHAINVM, ['--home', home, 'node', '--rpc', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((ok) => child.once('exit', ok));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`chainvm node exited (${child.exitCode}):\n${log}`);
    try {
      await rpc(url, 'chainvm_blockNumber');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`chainvm node did not answer on ${url} within 30 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    home,
    log: () => log,
    rpc: (method, params) => rpc(url, method, params),
    cli: (...args) => run(['--home', home, '--node', url, '--json', ...args]),
    /** As `cli`, for a transaction expected to fail: its receipt. */
    cliFailing: (...args) => run(['--home', home, '--node', url, '--json', ...args], { failed: true }),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}
