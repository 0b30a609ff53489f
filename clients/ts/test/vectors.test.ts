// Every vector the Rust test `tests/tests/ts_vectors.rs` wrote is checked here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  AbiError,
  addressOf,
  ContractAbi,
  contractAddress,
  decodeReceipt,
  decodeSignedTransaction,
  defaultGasLimit,
  encodeTransaction,
  fromHex,
  keccak256,
  Keypair,
  DEV_SEED,
  type Payload,
  signingMessage,
  signTransaction,
  toHex,
  type Transaction,
  verifySignature,
} from "../src/index.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const V: Any = JSON.parse(readFileSync(new URL("../../test/vectors.json", import.meta.url), "utf8"));

test("the vector file is the format these tests read", () => {
  assert.equal(V.format, "chainvm-ts-vectors/1");
});

test("keys: derived dev accounts, keys from secrets, keccak, contract addresses", () => {
  assert.equal(V.keys.dev_seed, DEV_SEED);
  assert.ok(V.keys.derived.length >= 10);
  for (const k of V.keys.derived) {
    const key = Keypair.derive(k.phrase, k.index);
    assert.equal(toHex(key.secret), k.secret);
    assert.equal(toHex(key.publicKey), k.public);
    assert.equal(key.address, k.address);
    assert.equal(addressOf(k.public), k.address);
    if (k.phrase === DEV_SEED) assert.equal(Keypair.dev(k.index).address, k.address);
  }
  for (const k of V.keys.from_secret) {
    const key = Keypair.fromSecret(k.secret);
    assert.equal(toHex(key.publicKey), k.public);
    assert.equal(key.address, k.address);
  }
  for (const c of V.keys.keccak) assert.equal(toHex(keccak256(fromHex(c.input))), c.hash);
  for (const c of V.keys.contract_addresses) assert.equal(contractAddress(c.deployer, c.nonce), c.address);
});

test("transactions: every payload kind encodes, signs and hashes like Rust", () => {
  const kinds = new Set<string>();
  for (const v of V.transactions) {
    const tx: Transaction = v.tx;
    const payload = tx.payload as Payload;
    kinds.add(payload.kind);
    assert.equal(defaultGasLimit(payload).toString(), v.default_gas_limit, v.name);
    assert.equal(toHex(encodeTransaction(tx)), v.unsigned, v.name);
    assert.equal(toHex(signingMessage(tx)), v.signing_message, v.name);
    const key = Keypair.derive(v.key.phrase, v.key.index);
    const signed = signTransaction(tx, key);
    assert.equal(toHex(signed.public_key), v.public_key, v.name);
    assert.equal(toHex(signed.signature), v.signature, v.name);
    assert.equal(toHex(signed.encoded), v.signed, v.name);
    assert.equal(signed.hash, v.hash, v.name);
    assert.equal(signed.sender, v.sender, v.name);
    assert.ok(verifySignature(signed), v.name);
    // Decoding gives the same transaction back (strictly).
    const back = decodeSignedTransaction(v.signed);
    assert.equal(back.hash, v.hash, v.name);
    assert.equal(toHex(encodeTransaction(back.body)), v.unsigned, v.name);
    assert.throws(() => decodeSignedTransaction(v.signed + "00"));
    // Any change to the body breaks the signature.
    const tampered = { ...signed, body: { ...tx, nonce: BigInt(tx.nonce) ^ 1n } };
    assert.equal(verifySignature(tampered), false, v.name);
  }
  assert.deepEqual(
    [...kinds].sort(),
    ["Call", "Deploy", "RegisterValidator", "ReportDoubleSign", "ReportDoubleVote", "Stake", "Transfer", "Unstake"],
  );
});

test("abi: every value vector encodes to the Rust bytes and decodes back", () => {
  const abi = new ContractAbi(V.abi.synthetic.abi);
  const types = new Set<string>();
  for (const v of V.abi.synthetic.values) {
    types.add(v.type);
    const label = `${v.type} ${JSON.stringify(v.json)}`;
    assert.equal(toHex(abi.encodeValue(v.type, v.json)), v.borsh, label);
    assert.deepEqual(abi.decodeValue(v.type, v.borsh), v.js, label);
    // And through the method whose one argument has that type.
    const i = V.abi.synthetic.values.indexOf(v);
    assert.equal(toHex(abi.encodeArgs(`v${i}`, [v.json])), v.borsh, label);
    assert.equal(toHex(abi.encodeArgs(`v${i}`, { v: v.json })), v.borsh, label);
    assert.deepEqual(abi.decodeReturn(`v${i}`, v.borsh), v.js, label);
    // The decoded form encodes to the same bytes (it is canonical).
    assert.equal(toHex(abi.encodeValue(v.type, v.js)), v.borsh, label);
  }
  for (const t of ["bool", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32", "i64", "i128", "String", "Address"]) {
    assert.ok(types.has(t), `no vector for ${t}`);
  }
});

test("abi: bigints and bytes are accepted where integers and byte strings go", () => {
  const abi = new ContractAbi(V.abi.synthetic.abi);
  assert.equal(toHex(abi.encodeValue("u128", 5n)), toHex(abi.encodeValue("u128", "5")));
  assert.equal(toHex(abi.encodeValue("Vec<u8>", Uint8Array.of(1, 255))), "0x0200000001ff");
  assert.throws(() => abi.encodeValue("u64", 2 ** 60), AbiError);
});

test("abi: every value Rust refuses is refused", () => {
  const abi = new ContractAbi(V.abi.synthetic.abi);
  for (const v of V.abi.synthetic.invalid) {
    assert.throws(() => abi.encodeValue(v.type, v.json), AbiError, `${v.type} ${JSON.stringify(v.json)} (${v.error})`);
  }
});

test("abi: method arguments, returns, typed errors and events", () => {
  const abi = new ContractAbi(V.abi.synthetic.abi);
  for (const c of V.abi.synthetic.calls.args) {
    const label = `${c.method} ${JSON.stringify(c.args)}`;
    if (c.error) assert.throws(() => abi.encodeArgs(c.method, c.args), AbiError, label);
    else assert.equal(toHex(abi.encodeArgs(c.method, c.args)), c.borsh, label);
  }
  for (const e of V.abi.synthetic.calls.errors) assert.deepEqual(abi.decodeError(e.method, e.borsh), e.decoded);
  assert.equal(abi.decodeError("multi", "0x"), null);
  for (const e of V.abi.synthetic.calls.events) {
    const d = abi.decodeEvent(e.topic, e.data);
    if (e.name === null) assert.equal(d, null);
    else assert.deepEqual(d, { name: e.name, data: e.decoded });
  }
});

test("abi: the sample contracts' arguments, returns, errors and events", () => {
  for (const [name, c] of Object.entries<Any>(V.abi.contracts)) {
    const abi = new ContractAbi(c.abi);
    for (const a of c.args) assert.equal(toHex(abi.encodeArgs(a.method, a.args)), a.borsh, `${name}.${a.method}`);
    for (const r of c.returns) assert.deepEqual(abi.decodeReturn(r.method, r.borsh), r.decoded, `${name}.${r.method}`);
    for (const e of c.errors) assert.deepEqual(abi.decodeError(e.method, e.borsh), e.decoded, `${name}.${e.method}`);
    for (const e of c.events) assert.deepEqual(abi.decodeEvent(e.topic, e.data), { name: e.name, data: e.decoded });
  }
});

test("abi: malformed data does not decode", () => {
  const abi = new ContractAbi(V.abi.synthetic.abi);
  assert.throws(() => abi.decodeValue("u64", "0x0100"), AbiError);
  assert.throws(() => abi.decodeValue("bool", "0x02"), AbiError);
  assert.throws(() => abi.decodeValue("u8", "0x0102"), AbiError);
  assert.throws(() => abi.decodeValue("Vec<u64>", "0xffffffff"), AbiError);
  assert.throws(() => abi.decodeValue("String", "0x01000000ff"), AbiError);
  assert.throws(() => abi.decodeValue("Color", "0x07"), AbiError);
});

test("receipts: borsh decodes to what the node's JSON says", () => {
  const text = (a: number[]) => new TextDecoder().decode(Uint8Array.from(a));
  for (const v of V.receipts) {
    const r = decodeReceipt(v.borsh);
    const j = v.json;
    assert.equal(r.tx_hash, j.tx_hash, v.name);
    assert.equal(r.status, j.status, v.name);
    assert.equal(r.gas_used, j.gas_used, v.name);
    assert.deepEqual(r.gas, j.gas, v.name);
    assert.equal(r.return_data, toHex(Uint8Array.from(j.return_data)), v.name);
    assert.deepEqual(
      r.events,
      j.events.map((e: Any) => ({
        contract: e.contract,
        topic: text(e.topic),
        topic_hex: toHex(Uint8Array.from(e.topic)),
        data: toHex(Uint8Array.from(e.data)),
        reverted: e.reverted,
      })),
      v.name,
    );
    assert.equal(r.contract_address, j.contract_address, v.name);
    if (j.error === null) assert.equal(r.error, null, v.name);
    else assert.deepEqual(r.error, { code: j.error.code, detail: j.error.detail }, v.name);
    assert.throws(() => decodeReceipt(v.borsh + "00"));
  }
});
