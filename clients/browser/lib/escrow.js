// The escrow flow of contracts/escrow through the CLI: deploy, a deal with value from dev
// account 0 (buyer) to dev account 1 (seller), the seller marks it delivered, the buyer
// confirms. Returns the receipts and addresses the tests check the pages against.

import { join } from 'node:path';
import { REPO } from './node.js';

/** The escrow contract's wasm (built by any `cargo test`/`cargo build -p chainvm-tests`). */
export const ESCROW_WASM = join(REPO, 'contracts/target/chainvm/escrow.wasm');

/** Runs the whole deal on `node`; `{escrow, buyer, seller, amount, deploy, create, deliver, confirm}`. */
export async function escrowFlow(node, { amount = '5000' } = {}) {
  const accounts = await node.cli('accounts');
  const buyer = accounts[0].address;
  const seller = accounts[1].address;
  const deploy = await node.cli('deploy', ESCROW_WASM, '--alias', 'escrow');
  const args = JSON.stringify({ seller, arbiter: null, deadline_blocks: 100 });
  const create = await node.cli('call', 'escrow', 'create', args, '--value', amount, '--from', '0');
  const deliver = await node.cli('call', 'escrow', 'mark_delivered', '[0]', '--from', '1');
  const confirm = await node.cli('call', 'escrow', 'confirm', '[0]', '--from', '0');
  for (const [name, r] of Object.entries({ deploy, create, deliver, confirm })) {
    if (r.status !== 'success') throw new Error(`escrow ${name} failed: ${JSON.stringify(r)}`);
  }
  return { escrow: deploy.contract_address, buyer, seller, amount, deploy, create, deliver, confirm };
}
