/**
 * What generated bindings (`generateBindings`, `chainvm-bindings`) build on: the TypeScript
 * types of the JSON mapping (integers by width, byte strings), typed call results with the
 * contract's own events, and the few runtime helpers a generated class delegates to. The
 * values still go through the contract's [`ContractHandle`] (one encoder, `abi.ts`).
 */

import { AbiError, type AbiMethod, type AbiTypeDef, type ContractAbiJson } from "./abi.js";
import type { CallResult, Client, ContractHandle, DecodedEvent, TxOptions } from "./client.js";
import type { IntLike } from "./encoding.js";
import { ContractError } from "./errors.js";

/** A 64-bit integer as decoded: a number when it is a safe integer, else a decimal string. */
export type Int64 = number | `${bigint}`;
/** A 128-bit integer as decoded: a decimal string. */
export type Int128 = `${bigint}`;
/** An integer argument of any width: a number, a bigint or a decimal string. */
export type IntArg = number | bigint | `${bigint}`;
/** A byte string argument (`Vec<u8>`, `[u8; N]`): `0x` hex or bytes. Decoded, it is hex. */
export type BytesArg = string | Uint8Array;
/** Options of a contract call (a transaction): signer, nonce, gas, attached value. */
export type CallOptions = TxOptions & { value?: IntLike };
/** Options of a view: who it runs as, and its gas. */
export interface ViewOptions {
  caller?: string;
  gas?: IntLike;
}
/** A contract call's result with its return value typed `T`, and `contractEvents`: the
 * events this contract emitted, typed `E` (`events` keeps every event, other contracts'
 * too). */
export interface BoundCallResult<T, E> extends CallResult<T> {
  contractEvents: E[];
}
/** A [`ContractError`] whose `value` is the contract's typed error `E`. */
export type TypedContractError<E> = ContractError & { readonly value: E };

const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** The contract at `address` bound to its ABI, after checking that every method and type
 * the bindings were generated from (`abi`) is the same in the contract's ABI: bindings of
 * another contract would otherwise encode wrong bytes without a word. */
export async function bindContract(client: Client, address: string, abi: ContractAbiJson): Promise<ContractHandle> {
  const handle = await client.contract(address);
  const actual = handle.abi.json;
  const differs = (what: string) =>
    new AbiError(
      "mismatch",
      `the contract at ${address} (${actual.contract}) does not match these bindings (generated from ${abi.contract}): ${what}`,
    );
  for (const m of abi.methods) {
    const a: AbiMethod | undefined = actual.methods.find((x) => x.name === m.name);
    if (!a) throw differs(`it has no method \`${m.name}\``);
    if (!same(a, m)) throw differs(`method \`${m.name}\` differs`);
  }
  for (const [name, def] of Object.entries(abi.types)) {
    const a: AbiTypeDef | undefined = Object.prototype.hasOwnProperty.call(actual.types, name) ? actual.types[name] : undefined;
    if (!a || !same(a, def)) throw differs(`type \`${name}\` differs`);
  }
  return handle;
}

function fn<F>(table: Record<string, F>, name: string, address: string): F {
  const f = Object.prototype.hasOwnProperty.call(table, name) ? table[name] : undefined;
  if (!f) throw new AbiError("unknown_method", `the contract at ${address} has no method \`${name}\``);
  return f;
}

/** Sends `method` through the handle; the result with `contractEvents`, the events of this
 * contract that decoded (a generated class casts them to its event union). */
export async function callBound<T, E>(
  handle: ContractHandle,
  method: string,
  args: unknown,
  opts: CallOptions | undefined,
): Promise<BoundCallResult<T, E>> {
  const r = await fn(handle.methods, method, handle.address)(args, opts);
  const own = handle.address.toLowerCase();
  const contractEvents = r.events.filter(
    (e: DecodedEvent) => e.contract.toLowerCase() === own && e.name !== null,
  ) as unknown as E[];
  return { ...(r as CallResult<T>), contractEvents };
}

/** Runs the view `method` through the handle; its value, typed `T`. */
export async function viewBound<T>(
  handle: ContractHandle,
  method: string,
  args: unknown,
  opts: ViewOptions | undefined,
): Promise<T> {
  return (await fn(handle.views, method, handle.address)(args, opts)) as T;
}

/** Whether `e` is a typed error of one of `abi`'s methods (a [`ContractError`] with a
 * decoded value from a method that declares an error type). Checks the name as well as
 * the class, so errors from a second copy of this package count too. */
export function isContractErrorOf(e: unknown, abi: ContractAbiJson): boolean {
  const named = e instanceof ContractError || (e instanceof Error && e.name === "ContractError");
  if (!named) return false;
  const c = e as ContractError;
  return c.value !== null && c.value !== undefined && abi.methods.some((m) => m.name === c.method && m.error !== null);
}
