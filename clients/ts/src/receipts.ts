/**
 * Receipts decoded from their borsh bytes (`receipt_raw` of `chainvm_getReceipt`), as
 * `runtime/src/receipt.rs` and `failure.rs` encode them. Field names follow the node's JSON
 * (snake_case); bytes are 0x hex, event topics text.
 */

import { BorshReader, bytesOf, type BytesLike, EncodingError, toHex } from "./encoding.js";

/** Gas and call count of one host function. */
export interface HostCallGas {
  calls: number;
  gas: number;
}
/** Where a transaction's gas went. */
export interface GasReport {
  total: number;
  intrinsic: number;
  loading: number;
  memory: number;
  wasm: number;
  host: Record<string, HostCallGas>;
  storage_bytes_read: number;
  storage_bytes_written: number;
  code_hash: string | null;
}
/** An event as a receipt holds it. */
export interface RawEvent {
  contract: string;
  /** The topic as text (the event name for ABI events). */
  topic: string;
  /** The topic bytes, 0x hex. */
  topic_hex: string;
  data: string;
  reverted: boolean;
}
/** Failure kinds (Rust `ErrorCode`, serde names, in borsh order). */
export const ERROR_CODES = [
  "out_of_gas",
  "contract_panic",
  "trap",
  "no_such_method",
  "no_contract",
  "invalid_code",
  "insufficient_funds",
  "invalid_evidence",
  "event_bytes_exceeded",
  "no_such_validator",
  "registration_refused",
] as const;
/** A failure kind. */
export type ErrorCode = (typeof ERROR_CODES)[number];
const TRAPS = [
  "stack_overflow",
  "memory_out_of_bounds",
  "division_by_zero",
  "integer_overflow",
  "bad_conversion_to_integer",
  "bad_indirect_call",
  "bad_host_argument",
  "other",
];
const EVIDENCE = [
  "not_a_validator",
  "heights_differ",
  "proposers_differ",
  "same_header",
  "bad_signature",
  "already_slashed",
  "rounds_differ",
  "kinds_differ",
];
const REFUSALS = ["not_permitted", "already_registered", "key_mismatch", "commission_out_of_range"];

/** Why a transaction failed: the code and its typed detail in the node's serde JSON form
 * (`"out_of_gas"`, `{"panic": {"message", "location"}}`, …), and the node's rendered
 * message when the receipt came with its JSON. */
export interface ExecError {
  code: ErrorCode;
  detail: unknown;
  message?: string;
}
/** The result of one transaction. */
export interface Receipt {
  tx_hash: string;
  status: "success" | "failed";
  gas_used: number;
  gas: GasReport;
  return_data: string;
  events: RawEvent[];
  contract_address: string | null;
  error: ExecError | null;
}

function num(n: bigint): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new EncodingError(`${n} is beyond a safe integer`);
  return Number(n);
}

function pick(list: readonly string[], i: number, what: string): string {
  const v = list[i];
  if (v === undefined) throw new EncodingError(`invalid ${what} ${i}`);
  return v;
}

function detail(r: BorshReader): unknown {
  const tag = r.u8();
  const opt = <T>(f: () => T): T | null => (r.option() ? f() : null);
  switch (tag) {
    case 0:
      return "out_of_gas";
    case 1: {
      const message = r.string();
      const location = opt(() => ({ file: r.string(), line: r.u32(), column: r.u32() }));
      return { panic: { message, location } };
    }
    case 2:
      return "unreachable";
    case 3:
      return { trap: pick(TRAPS, r.u8(), "trap") };
    case 4:
      return { event_bytes_exceeded: { scope: pick(["transaction", "block"], r.u8(), "scope"), limit: num(r.u64()) } };
    case 5:
      return { no_such_method: { method: r.string() } };
    case 6:
      return "no_constructor";
    case 7:
      return { no_contract: { address: toHex(r.take(20)) } };
    case 8:
      return { contract_exists: { address: toHex(r.take(20)) } };
    case 9: {
      // The validation rule is its numeric code here (the node's JSON names it).
      const rule = Number(r.uint(16));
      const name = opt(() => r.string());
      const func = opt(() => r.u32());
      return { invalid_code: { rule, name, func, found: num(r.u64()), max: num(r.u64()) } };
    }
    case 10:
    case 11: {
      // As the node's JSON writes U256: minimal 0x hex.
      const needed = `0x${r.u256().toString(16)}`;
      const available = `0x${r.u256().toString(16)}`;
      return { [tag === 10 ? "insufficient_balance" : "insufficient_stake"]: { needed, available } };
    }
    case 12:
      return { no_such_validator: { address: toHex(r.take(20)) } };
    case 13:
      return { registration_refused: pick(REFUSALS, r.u8(), "refusal") };
    case 14:
      return { invalid_evidence: pick(EVIDENCE, r.u8(), "evidence fault") };
    case 15:
      return "stake_too_small";
    default:
      throw new EncodingError(`invalid error detail ${tag}`);
  }
}

/** Decodes a receipt's borsh bytes (strict). */
export function decodeReceipt(bytes: BytesLike): Receipt {
  const r = new BorshReader(bytesOf(bytes));
  const tx_hash = toHex(r.take(32));
  const status = pick(["success", "failed"], r.u8(), "status") as Receipt["status"];
  const gas_used = num(r.u64());
  const u = () => num(r.u64());
  const total = u(),
    intrinsic = u(),
    loading = u(),
    memory = u(),
    wasm = u();
  const host: Record<string, HostCallGas> = {};
  const hosts = r.u32();
  for (let i = 0; i < hosts; i++) {
    const name = r.string();
    host[name] = { calls: u(), gas: u() };
  }
  const gas: GasReport = {
    total,
    intrinsic,
    loading,
    memory,
    wasm,
    host,
    storage_bytes_read: u(),
    storage_bytes_written: u(),
    code_hash: r.option() ? toHex(r.take(32)) : null,
  };
  const return_data = toHex(r.bytes());
  const events: RawEvent[] = [];
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    const contract = toHex(r.take(20));
    const topicBytes = r.bytes();
    const data = toHex(r.bytes());
    events.push({
      contract,
      topic: new TextDecoder().decode(topicBytes),
      topic_hex: toHex(topicBytes),
      data,
      reverted: r.bool(),
    });
  }
  const contract_address = r.option() ? toHex(r.take(20)) : null;
  let error: ExecError | null = null;
  if (r.option()) {
    const code = pick(ERROR_CODES, r.u8(), "error code") as ErrorCode;
    error = { code, detail: detail(r) };
  }
  r.end();
  return { tx_hash, status, gas_used, gas, return_data, events, contract_address, error };
}
