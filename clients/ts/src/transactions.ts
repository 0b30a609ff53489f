/**
 * Transactions, byte-identical to `runtime/src/tx.rs`: the borsh encoding of `Transaction`
 * and `SignedTransaction`, the signing message (`"chainvm-tx-v1"` + the encoded unsigned
 * transaction), and the hash (keccak256 of the encoded signed transaction).
 */

import {
  BorshReader,
  BorshWriter,
  type BytesLike,
  bytesOf,
  concat,
  EncodingError,
  type IntLike,
  toHex,
  utf8Bytes,
} from "./encoding.js";
import { addressOf, keccak256, type Keypair, verify } from "./keys.js";

const SIGNING_DOMAIN = utf8Bytes("chainvm-tx-v1");

/** Move `amount` to `to`. */
export interface TransferPayload {
  kind: "Transfer";
  to: string;
  amount: IntLike;
}
/** Deploy wasm `code`, running its constructor with the encoded `args`. */
export interface DeployPayload {
  kind: "Deploy";
  code: BytesLike;
  args?: BytesLike;
}
/** Call `method` of `contract` with encoded `args`, attaching `value`. */
export interface CallPayload {
  kind: "Call";
  contract: string;
  method: string;
  args?: BytesLike;
  value?: IntLike;
}
/** Delegate `amount` to `validator`. */
export interface StakePayload {
  kind: "Stake";
  validator: string;
  amount: IntLike;
}
/** Start unbonding `amount` from `validator`. */
export interface UnstakePayload {
  kind: "Unstake";
  validator: string;
  amount: IntLike;
}
/** Double-sign evidence, given as the borsh bytes of `DoubleSign` (two signed headers). */
export interface ReportDoubleSignPayload {
  kind: "ReportDoubleSign";
  evidence: BytesLike;
}
/** Register the signer's `public_key` as a validator bonding `amount`. */
export interface RegisterValidatorPayload {
  kind: "RegisterValidator";
  public_key: BytesLike;
  commission_bps: number;
  amount: IntLike;
}
/** Double-vote evidence, given as the borsh bytes of `DoubleVote` (two signed votes). */
export interface ReportDoubleVotePayload {
  kind: "ReportDoubleVote";
  evidence: BytesLike;
}

/** What a transaction does (Rust `Payload`; the borsh tag is the position below). */
export type Payload =
  | TransferPayload
  | DeployPayload
  | CallPayload
  | StakePayload
  | UnstakePayload
  | ReportDoubleSignPayload
  | RegisterValidatorPayload
  | ReportDoubleVotePayload;

/** The payload kinds in borsh tag order. */
export const PAYLOAD_KINDS = [
  "Transfer",
  "Deploy",
  "Call",
  "Stake",
  "Unstake",
  "ReportDoubleSign",
  "RegisterValidator",
  "ReportDoubleVote",
] as const;

/** Default gas limits by payload kind (Rust `tx::default_gas`). */
export const DEFAULT_GAS = {
  TRANSFER: 1_000_000n,
  DEPLOY: 5_000_000_000n,
  CALL: 5_000_000_000n,
  STAKING: 2_000_000_000n,
} as const;

/** The gas limit a payload of this kind gets when none is named. */
export function defaultGasLimit(payload: Payload): bigint {
  switch (payload.kind) {
    case "Transfer":
      return DEFAULT_GAS.TRANSFER;
    case "Deploy":
      return DEFAULT_GAS.DEPLOY;
    case "Call":
      return DEFAULT_GAS.CALL;
    default:
      return DEFAULT_GAS.STAKING;
  }
}

/** An unsigned transaction. Integers may be given as bigint, number or decimal string. */
export interface Transaction {
  chain_id: IntLike;
  nonce: IntLike;
  gas_limit: IntLike;
  gas_price: IntLike;
  payload: Payload;
}

/** A transaction of `payload` with the default gas limit of its kind and gas price 1. */
export function newTransaction(chainId: IntLike, nonce: IntLike, payload: Payload): Transaction {
  return { chain_id: chainId, nonce, gas_limit: defaultGasLimit(payload), gas_price: 1n, payload };
}

function address(w: BorshWriter, a: string, what: string): void {
  w.fixed(bytesOf(a), 20, what);
}

function writePayload(w: BorshWriter, p: Payload): void {
  const tag = PAYLOAD_KINDS.indexOf(p.kind);
  if (tag < 0) throw new EncodingError(`unknown payload kind ${String((p as { kind: unknown }).kind)}`);
  w.u8(tag);
  switch (p.kind) {
    case "Transfer":
      address(w, p.to, "to");
      w.u256(p.amount);
      break;
    case "Deploy":
      w.bytes(bytesOf(p.code)).bytes(bytesOf(p.args ?? new Uint8Array()));
      break;
    case "Call":
      address(w, p.contract, "contract");
      w.string(p.method).bytes(bytesOf(p.args ?? new Uint8Array())).u256(p.value ?? 0n);
      break;
    case "Stake":
    case "Unstake":
      address(w, p.validator, "validator");
      w.u256(p.amount);
      break;
    case "ReportDoubleSign":
    case "ReportDoubleVote":
      // The evidence is a struct: its borsh bytes follow the tag as they are.
      w.raw(bytesOf(p.evidence));
      break;
    case "RegisterValidator":
      w.fixed(bytesOf(p.public_key), 32, "public_key").u32(p.commission_bps).u256(p.amount);
      break;
  }
}

/** The borsh encoding of an unsigned transaction. */
export function encodeTransaction(tx: Transaction): Uint8Array {
  const w = new BorshWriter().u64(tx.chain_id).u64(tx.nonce).u64(tx.gas_limit).u256(tx.gas_price);
  writePayload(w, tx.payload);
  return w.finish();
}

/** The bytes the sender signs: the domain tag, then the encoded transaction. */
export function signingMessage(tx: Transaction): Uint8Array {
  return concat(SIGNING_DOMAIN, encodeTransaction(tx));
}

/** A transaction with its sender's public key and signature, encoded and hashed. */
export interface SignedTransaction {
  body: Transaction;
  public_key: Uint8Array;
  signature: Uint8Array;
  /** The canonical encoding (what `chainvm_sendRawTransaction` takes, as hex). */
  encoded: Uint8Array;
  /** keccak256 of `encoded`, 0x hex: the transaction hash. */
  hash: string;
  /** The sender's address. */
  sender: string;
}

/** Signs `tx` with `key`. */
export function signTransaction(tx: Transaction, key: Keypair): SignedTransaction {
  const signature = key.sign(signingMessage(tx));
  return withSignature(tx, key.publicKey, signature);
}

/** A signed transaction from its parts (a signature made elsewhere, a wallet's say). */
export function withSignature(tx: Transaction, publicKey: Uint8Array, signature: Uint8Array): SignedTransaction {
  if (publicKey.length !== 32 || signature.length !== 64) {
    throw new EncodingError("a public key is 32 bytes and a signature 64");
  }
  const encoded = concat(encodeTransaction(tx), publicKey, signature);
  return {
    body: tx,
    public_key: publicKey,
    signature,
    encoded,
    hash: toHex(keccak256(encoded)),
    sender: addressOf(publicKey),
  };
}

/** Whether the signature of a signed transaction is its public key's (strict). */
export function verifySignature(tx: SignedTransaction): boolean {
  return verify(tx.public_key, signingMessage(tx.body), tx.signature);
}

/** Reads evidence by its layout (block.rs `DoubleSign`: two signed headers of 236 bytes;
 * finality.rs `DoubleVote`: two signed votes), keeping its bytes as they are. */
function readEvidence(r: BorshReader, kind: "ReportDoubleSign" | "ReportDoubleVote"): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    if (kind === "ReportDoubleSign") {
      // parent_hash, height, timestamp, state_root, txs_root, receipts_root, gas_used,
      // proposer; signature.
      parts.push(r.take(32 + 8 + 8 + 32 + 32 + 32 + 8 + 20 + 64));
    } else {
      // kind, height, round, Option<block hash>, validator, signature.
      parts.push(r.take(1 + 8 + 4));
      const tag = r.take(1);
      if (tag[0]! > 1) throw new EncodingError(`invalid option tag ${tag[0]}`);
      parts.push(tag, r.take((tag[0] === 1 ? 32 : 0) + 20 + 64));
    }
  }
  return concat(...parts);
}

/** Decodes a signed transaction (strict: trailing bytes are an error). Integers come back
 * as bigints, bytes as 0x hex. */
export function decodeSignedTransaction(bytes: BytesLike): SignedTransaction {
  const r = new BorshReader(bytesOf(bytes));
  const chain_id = r.u64();
  const nonce = r.u64();
  const gas_limit = r.u64();
  const gas_price = r.u256();
  const tag = r.u8();
  const kind = PAYLOAD_KINDS[tag];
  const addr = () => toHex(r.take(20));
  let payload: Payload;
  switch (kind) {
    case "Transfer":
      payload = { kind, to: addr(), amount: r.u256() };
      break;
    case "Deploy":
      payload = { kind, code: toHex(r.bytes()), args: toHex(r.bytes()) };
      break;
    case "Call":
      payload = { kind, contract: addr(), method: r.string(), args: toHex(r.bytes()), value: r.u256() };
      break;
    case "Stake":
    case "Unstake":
      payload = { kind, validator: addr(), amount: r.u256() };
      break;
    case "ReportDoubleSign":
    case "ReportDoubleVote":
      payload = { kind, evidence: toHex(readEvidence(r, kind)) };
      break;
    case "RegisterValidator":
      payload = { kind, public_key: toHex(r.take(32)), commission_bps: r.u32(), amount: r.u256() };
      break;
    default:
      throw new EncodingError(`invalid payload tag ${tag}`);
  }
  const publicKey = Uint8Array.from(r.take(32));
  const signature = Uint8Array.from(r.take(64));
  r.end();
  const body: Transaction = { chain_id, nonce, gas_limit, gas_price, payload };
  const signed = withSignature(body, publicKey, signature);
  return signed;
}
