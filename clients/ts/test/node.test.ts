// Against a real node: `chainvm node` (target/debug/chainvm, built with `cargo build -p
// chainvm`) on a temporary home and a free port; escrow and voting deployed through the
// client; a full deal and a full vote; receipts, decoded events, typed errors, a bad nonce
// and subscriptions.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  BorshReader,
  Client,
  ContractError,
  Keypair,
  NonceError,
  OutOfGasError,
  RpcError,
  fromHex,
  type BlockNotification,
  type DecodedEvent,
} from "../src/index.js";
import { startNode, type TestNode, wasm } from "./harness.js";

let node: TestNode | undefined;
let url: string;

before(async () => {
  node = await startNode();
  url = node.url;
});

after(async () => {
  await node?.stop();
});

const buyer = Keypair.dev(0);
const seller = Keypair.dev(1);
const voter = Keypair.dev(2);

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("escrow: deploy, a full deal with events and balances, typed errors, out of gas, bad nonce, subscriptions", async () => {
  const client = new Client(url, { signer: buyer });
  assert.equal(await client.chainId(), 1337n);

  const blocks: BlockNotification[] = [];
  const blockSub = await client.subscribeBlocks((b) => blocks.push(b));

  const deployed = await client.deploy(wasm("escrow"));
  assert.equal(deployed.receipt.status, "success");
  assert.match(deployed.address, /^0x[0-9a-f]{40}$/);
  const escrow = await client.contract(deployed.address);
  assert.equal(escrow.abi.name, "Escrow");
  assert.deepEqual(Object.keys(escrow.methods).sort(), ["confirm", "create", "dispute", "mark_delivered", "refund", "resolve"]);
  assert.deepEqual(Object.keys(escrow.views).sort(), ["deal_count", "get_deal"]);

  const events: DecodedEvent[] = [];
  const eventSub = await client.subscribeEvents({ contract: deployed.address }, (e) => events.push(e));

  const sellerBefore = await client.getBalance(seller.address);
  const buyerBefore = await client.getBalance(buyer.address);
  const created = await escrow.methods.create!({ seller: seller.address, arbiter: null, deadline_blocks: 100 }, { value: 1000n });
  assert.equal(created.receipt.status, "success");
  assert.equal(created.value, 0);
  assert.equal(created.events.length, 1);
  const dc = created.events[0]!;
  assert.equal(dc.name, "DealCreated");
  assert.equal(dc.contract, deployed.address);
  assert.deepEqual(dc.data, {
    id: 0,
    buyer: buyer.address,
    seller: seller.address,
    amount: "1000",
    deadline: (dc.data as { deadline: number }).deadline,
  });
  assert.equal(await client.getBalance(deployed.address), 1000n);
  assert.equal(await client.getBalance(buyer.address), buyerBefore - 1000n - BigInt(created.receipt.gas_used));
  assert.equal(await escrow.views.deal_count!(), 1);
  const deal = (await escrow.views.get_deal!({ id: 0 })) as Record<string, unknown>;
  assert.equal(deal.state, "Funded");
  assert.equal(deal.amount, "1000");
  assert.equal(await escrow.views.get_deal!({ id: 9 }), null);

  // The buyer may not mark it delivered: the contract's typed error, decoded.
  await assert.rejects(escrow.methods.mark_delivered!({ id: 0 }), (e: unknown) => {
    assert.ok(e instanceof ContractError, String(e));
    assert.equal(e.value, "NotSeller");
    assert.equal(e.variant, "NotSeller");
    assert.equal(e.code, "contract_panic");
    assert.equal(e.receipt?.status, "failed");
    return true;
  });

  const delivered = await escrow.methods.mark_delivered!({ id: 0 }, { signer: seller });
  assert.deepEqual(delivered.events.map((e) => [e.name, e.data]), [["Delivered", { id: 0 }]]);
  const confirmed = await escrow.methods.confirm!({ id: 0 });
  assert.deepEqual(confirmed.events.map((e) => e.name), ["Released"]);
  assert.deepEqual(confirmed.events[0]!.data, { id: 0, to: seller.address, amount: "1000" });
  assert.equal(((await escrow.views.get_deal!({ id: 0 })) as { state: string }).state, "Released");
  assert.equal(await client.getBalance(deployed.address), 0n);
  assert.equal(await client.getBalance(seller.address), sellerBefore + 1000n - BigInt(delivered.receipt.gas_used));

  // Confirming again: WrongState.
  await assert.rejects(escrow.methods.confirm!({ id: 0 }), (e: unknown) => e instanceof ContractError && e.value === "WrongState");
  // A deal without value: NoFunds.
  await assert.rejects(
    client.call(deployed.address, "create", { seller: seller.address, deadline_blocks: 1 }),
    (e: unknown) => e instanceof ContractError && e.variant === "NoFunds",
  );

  // Out of gas: a limit that covers admission but not the call.
  await assert.rejects(
    escrow.methods.create!({ seller: seller.address, deadline_blocks: 5 }, { value: 1n, gasLimit: 400_000n }),
    (e: unknown) => {
      assert.ok(e instanceof OutOfGasError, String(e));
      assert.equal(e.receipt?.gas_used, 400_000);
      return true;
    },
  );

  // A nonce already used: refused at admission.
  await assert.rejects(client.transfer(seller.address, 1n, { nonce: 0n }), (e: unknown) => {
    assert.ok(e instanceof NonceError, String(e));
    assert.match(e.reason, /nonce 0 already used/);
    return true;
  });
  // Bad arguments never reach the node.
  await assert.rejects(escrow.methods.create!({ seller: "0x12", deadline_blocks: 1 }), /seller/);

  // The subscriptions saw the blocks and the events.
  const last = await client.blockNumber();
  await until(() => blocks.some((b) => b.height === last), "the last block over the subscription");
  const heights = blocks.map((b) => b.height);
  assert.deepEqual(heights, [...heights].sort((a, b) => a - b));
  assert.ok(blocks.some((b) => b.transactions.some((t) => t.hash === created.hash)));
  await until(() => events.length >= 3, "three escrow events");
  assert.deepEqual(events.slice(0, 3).map((e) => e.name), ["DealCreated", "Delivered", "Released"]);
  assert.equal(events[0]!.tx_hash, created.hash);
  await blockSub.unsubscribe();
  await eventSub.unsubscribe();

  // Blocks and proofs.
  const block = await client.getBlock((await client.getReceipt(created.hash))!.block);
  assert.ok(block?.transactions.some((t) => t.hash === created.hash));
  const proof = await client.getProof(Uint8Array.from([0x01, ...fromHex(seller.address)]));
  assert.equal(proof.state_root, (await client.getBlock())!.state_root);
  const account = new BorshReader(fromHex(proof.value!));
  assert.equal(account.u64(), 1n);
  assert.equal(account.u256(), await client.getBalance(seller.address));

  // RPC errors are typed.
  await assert.rejects(client.rpc.call("chainvm_nope"), (e: unknown) => e instanceof RpcError && e.code === -32601);
  await assert.rejects(client.getAbi(voter.address), (e: unknown) => e instanceof RpcError && e.code === -32001);
});

test("voting: deploy, a proposal, two votes, a typed error, finalize", async () => {
  const client = new Client(url, { signer: voter });
  const { address } = await client.deploy(wasm("voting"));
  const voting = await client.contract(address);
  const h = await client.blockNumber();
  const created = await voting.methods.create_proposal!({
    title: "Lunch",
    options: ["pizza", "sushi", "salad"],
    start: h + 1,
    end: h + 6,
    voters: null,
  });
  assert.equal(created.value, 0);
  assert.equal(created.events[0]!.name, "ProposalCreated");
  assert.deepEqual(created.events[0]!.data, { id: 0, creator: voter.address, start: h + 1, end: h + 6 });

  const v1 = await voting.methods.vote!({ id: 0, option: 1 });
  assert.deepEqual(v1.events[0]!.data, { id: 0, voter: voter.address, option: 1 });
  await voting.methods.vote!({ id: 0, option: 1 }, { signer: buyer });
  await assert.rejects(voting.methods.vote!({ id: 0, option: 0 }), (e: unknown) => e instanceof ContractError && e.value === "AlreadyVoted");
  // An option the proposal does not have.
  await assert.rejects(
    voting.methods.vote!({ id: 0, option: 7 }, { signer: seller }),
    (e: unknown) => e instanceof ContractError && e.value === "BadOption",
  );
  assert.deepEqual(await voting.views.tally!({ id: 0 }), [0, 2, 0]);
  assert.equal(await voting.views.vote_of!({ id: 0, voter: buyer.address }), 1);
  assert.equal(await voting.views.vote_of!({ id: 0, voter: seller.address }), null);
  // Too early: the window is still open.
  await assert.rejects(voting.methods.finalize!({ id: 0 }), (e: unknown) => e instanceof ContractError && e.value === "NotEnded");
  while ((await client.blockNumber()) < h + 6) await client.transfer(seller.address, 1n);
  const fin = await voting.methods.finalize!({ id: 0 });
  assert.equal(fin.value, 1);
  assert.deepEqual(fin.events[0]!.data, { id: 0, winner: 1, tally: [0, 2, 0] });
  const p = (await voting.views.get_proposal!({ id: 0 })) as Record<string, unknown>;
  assert.equal(p.finalized, true);
  assert.equal(p.winner, 1);
  assert.deepEqual(p.options, ["pizza", "sushi", "salad"]);
  await assert.rejects(voting.methods.finalize!({ id: 0 }), (e: unknown) => e instanceof ContractError && e.value === "AlreadyFinalized");
});
