/**
 * Typed errors of the client: a rejected transaction ([`TransactionRejectedError`], with
 * [`NonceError`] for a nonce the node will not take), a failed execution
 * ([`ExecutionError`]; [`OutOfGasError`]; [`ContractError`] with the contract's decoded
 * typed error), and [`TimeoutError`]. JSON-RPC and transport errors are in `rpc.ts`.
 */

import type { Json } from "./abi.js";
import type { ExecError, Receipt } from "./receipts.js";
import { RpcError } from "./rpc.js";

/** The node refused to admit a transaction (`chainvm_sendRawTransaction` error -32000). */
export class TransactionRejectedError extends RpcError {
  override name = "TransactionRejectedError";
  constructor(
    readonly reason: string,
    readonly hash: string,
  ) {
    super(-32000, reason, undefined, "chainvm_sendRawTransaction");
  }
}

/** The transaction's nonce was already used, or is ahead of what the node will queue. */
export class NonceError extends TransactionRejectedError {
  override name = "NonceError";
}

/** A transaction (or view) that ran and failed: the receipt (none for a view) and why. */
export class ExecutionError extends Error {
  override name = "ExecutionError";
  constructor(
    readonly error: ExecError,
    readonly receipt: Receipt | null,
    message?: string,
  ) {
    super(message ?? error.message ?? `execution failed: ${error.code}`);
  }
  /** The failure kind (`out_of_gas`, `contract_panic`, …). */
  get code(): string {
    return this.error.code;
  }
}

/** It ran out of gas. */
export class OutOfGasError extends ExecutionError {
  override name = "OutOfGasError";
}

/** The contract failed: it returned a typed error (`value`, decoded with its ABI, e.g.
 * `"NotSeller"` or `{"TooLow": {"need": 3}}`) or panicked (`value` null). */
export class ContractError extends ExecutionError {
  override name = "ContractError";
  constructor(
    error: ExecError,
    receipt: Receipt | null,
    readonly value: Json,
    readonly method: string | null,
  ) {
    super(
      error,
      receipt,
      value === null
        ? (error.message ?? `contract failed: ${error.code}`)
        : `${method ?? "contract"} failed with ${JSON.stringify(value)}`,
    );
  }
  /** The typed error's variant name (`"NotSeller"`), if it is an enum value. */
  get variant(): string | null {
    if (typeof this.value === "string") return this.value;
    if (this.value && typeof this.value === "object" && !Array.isArray(this.value)) {
      return Object.keys(this.value)[0] ?? null;
    }
    return null;
  }
}

/** A receipt did not arrive in time. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}
