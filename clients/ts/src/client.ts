/**
 * The high-level client: a node URL and a signer; transactions signed, sent and waited
 * for; contract calls and views with JSON arguments encoded through the contract's ABI
 * (fetched from the node with `chainvm_getAbi`), results, typed errors and events decoded;
 * balances, blocks, proofs and subscriptions.
 */

import { ContractAbi, type ContractAbiJson, type Json } from "./abi.js";
import { type BytesLike, bytesOf, fromHex, type IntLike, toBigInt, toHex } from "./encoding.js";
import { ContractError, ExecutionError, NonceError, OutOfGasError, TimeoutError, TransactionRejectedError } from "./errors.js";
import type { Keypair } from "./keys.js";
import { decodeReceipt, type ExecError, type Receipt } from "./receipts.js";
import { RpcClient, RpcError, type Subscription, type WebSocketFactory } from "./rpc.js";
import { defaultGasLimit, type Payload, type SignedTransaction, signTransaction } from "./transactions.js";

/** Options of a [`Client`]. */
export interface ClientOptions {
  /** The key transactions are signed with unless one is given per call. */
  signer?: Keypair;
  /** A WebSocket implementation when there is no global one. */
  webSocket?: WebSocketFactory;
  /** How long to wait for a receipt (ms; default 30 s). */
  receiptTimeoutMs?: number;
  /** How often to poll for a receipt (ms; default 100). */
  pollMs?: number;
}

/** Per-transaction options. */
export interface TxOptions {
  signer?: Keypair;
  nonce?: IntLike;
  gasLimit?: IntLike;
  gasPrice?: IntLike;
}

/** An event, decoded with its contract's ABI where there is one (`name`/`data` null
 * otherwise; `raw` is the data's hex). */
export interface DecodedEvent {
  contract: string;
  topic: string;
  name: string | null;
  data: Json;
  raw: string;
  reverted: boolean;
  block?: number;
  tx_hash?: string;
}

/** What a successful call gave: the receipt, the decoded return value (typed `T` by
 * generated bindings) and events. */
export interface CallResult<T = Json> {
  hash: string;
  receipt: Receipt;
  value: T;
  events: DecodedEvent[];
}

/** A block as `chainvm_getBlockByNumber` answers it (transactions with their raw bytes). */
export interface Block {
  height: number;
  hash: string;
  parent_hash: string;
  timestamp: number;
  state_root: string;
  gas_used: number;
  proposer: string;
  transactions: { hash: string; tx_raw: string; receipt_raw: string }[];
  [k: string]: unknown;
}

/** A block as subscriptions push it. */
export interface BlockNotification {
  height: number;
  hash: string;
  timestamp: number;
  state_root: string;
  gas_used: number;
  transactions: { hash: string; status: string; gas_used: number }[];
  events: { contract: string; topic: string; data: string; reverted: boolean; block: number; tx_hash: string }[];
}

/** A state proof (`chainvm_getProof`). */
export interface Proof {
  value: string | null;
  proof: string;
  state_root: string;
}

/** A contract bound to its ABI: `methods.NAME(args, opts)` sends a call (a transaction),
 * `views.NAME(args, opts)` runs a read-only view. */
export interface ContractHandle {
  address: string;
  abi: ContractAbi;
  methods: Record<string, (args?: unknown, opts?: TxOptions & { value?: IntLike }) => Promise<CallResult>>;
  views: Record<string, (args?: unknown, opts?: { caller?: string; gas?: IntLike }) => Promise<Json>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A chainvm node and (optionally) a signer. */
export class Client {
  /** The JSON-RPC connection. */
  readonly rpc: RpcClient;
  /** The default signer. */
  signer: Keypair | undefined;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private chain: bigint | undefined;
  private readonly abis = new Map<string, ContractAbi | null>();

  constructor(url: string, options: ClientOptions = {}) {
    this.rpc = new RpcClient(url, options.webSocket ? { webSocket: options.webSocket } : {});
    this.signer = options.signer;
    this.timeoutMs = options.receiptTimeoutMs ?? 30_000;
    this.pollMs = options.pollMs ?? 100;
  }

  /** The chain id (asked once). */
  async chainId(): Promise<bigint> {
    this.chain ??= BigInt(await this.rpc.call<number>("chainvm_chainId"));
    return this.chain;
  }

  /** The latest height. */
  async blockNumber(): Promise<number> {
    return this.rpc.call<number>("chainvm_blockNumber");
  }

  /** An account's balance. */
  async getBalance(address: string): Promise<bigint> {
    return BigInt(await this.rpc.call<string>("chainvm_getBalance", { address }));
  }

  /** An account's next nonce. */
  async getNonce(address: string): Promise<bigint> {
    return BigInt(await this.rpc.call<number>("chainvm_getNonce", { address }));
  }

  /** A block by height (`"latest"` by default); null if there is none. */
  async getBlock(height: number | "latest" = "latest"): Promise<Block | null> {
    return this.rpc.call<Block | null>("chainvm_getBlockByNumber", { height });
  }

  /** A state proof of `key` (raw state key bytes), at `height` or the latest. */
  async getProof(key: BytesLike, height?: number): Promise<Proof> {
    return this.rpc.call<Proof>("chainvm_getProof", { key: toHex(bytesOf(key)), height: height ?? null });
  }

  /** A contract's ABI (cached); null when its code embeds none. */
  async getAbi(contract: string): Promise<ContractAbi | null> {
    const key = contract.toLowerCase();
    if (!this.abis.has(key)) {
      const json = await this.rpc.call<ContractAbiJson | null>("chainvm_getAbi", { contract });
      this.abis.set(key, json ? new ContractAbi(json) : null);
    }
    return this.abis.get(key) ?? null;
  }

  private async requireAbi(contract: string): Promise<ContractAbi> {
    const abi = await this.getAbi(contract);
    if (!abi) throw new RpcError(-32001, `the contract at ${contract} has no ABI`, undefined, "chainvm_getAbi");
    return abi;
  }

  /** A receipt by transaction hash (decoded from its borsh bytes; the error message from
   * the node's JSON); null if not included (yet). */
  async getReceipt(hash: string): Promise<(Receipt & { block: number; index: number; from: string }) | null> {
    const r = await this.rpc.call<{
      block: number;
      index: number;
      from: string;
      receipt: { error: { message?: string } | null };
      receipt_raw: string;
    } | null>("chainvm_getReceipt", { hash });
    if (!r) return null;
    const receipt = decodeReceipt(r.receipt_raw);
    const message = r.receipt?.error?.message;
    if (receipt.error && message !== undefined) receipt.error.message = message;
    return { ...receipt, block: r.block, index: r.index, from: r.from };
  }

  /** Polls for a receipt until it arrives or the timeout passes. */
  async waitForReceipt(hash: string, timeoutMs = this.timeoutMs): Promise<Receipt> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.getReceipt(hash);
      if (r) return r;
      if (Date.now() > deadline) throw new TimeoutError(`no receipt for ${hash} within ${timeoutMs} ms`);
      await sleep(this.pollMs);
    }
  }

  /** Signs `payload` (next nonce, default gas of its kind, gas price 1 unless given). */
  async sign(payload: Payload, opts: TxOptions = {}): Promise<SignedTransaction> {
    const signer = opts.signer ?? this.signer;
    if (!signer) throw new Error("no signer: pass {signer} to the Client or the call");
    const nonce = opts.nonce ?? (await this.getNonce(signer.address));
    return signTransaction(
      {
        chain_id: await this.chainId(),
        nonce,
        gas_limit: opts.gasLimit ?? defaultGasLimit(payload),
        gas_price: opts.gasPrice ?? 1n,
        payload,
      },
      signer,
    );
  }

  /** Sends a signed transaction; its hash. Refusals are [`TransactionRejectedError`]s
   * ([`NonceError`] for nonces). */
  async sendRaw(tx: SignedTransaction): Promise<string> {
    try {
      const r = await this.rpc.call<{ hash: string }>("chainvm_sendRawTransaction", { tx: toHex(tx.encoded) });
      return r.hash;
    } catch (e) {
      if (e instanceof RpcError && e.code === -32000) {
        const reason = e.message.replace(/^chainvm_sendRawTransaction: /, "").replace(/ \(-32000\)$/, "");
        if (/\bnonce\b/.test(reason)) throw new NonceError(reason, tx.hash);
        throw new TransactionRejectedError(reason, tx.hash);
      }
      throw e;
    }
  }

  /** Signs, sends and waits for the receipt (whatever its status). */
  async sendTransaction(payload: Payload, opts: TxOptions = {}): Promise<{ hash: string; receipt: Receipt }> {
    const tx = await this.sign(payload, opts);
    const hash = await this.sendRaw(tx);
    return { hash, receipt: await this.waitForReceipt(hash) };
  }

  /** Moves `amount` to `to`; throws an [`ExecutionError`] if it failed. */
  async transfer(to: string, amount: IntLike, opts: TxOptions = {}): Promise<Receipt> {
    const { receipt } = await this.sendTransaction({ kind: "Transfer", to, amount: toBigInt(amount) }, opts);
    if (receipt.error) throw new ExecutionError(receipt.error, receipt);
    return receipt;
  }

  /** Deploys wasm `code`; `args` are the constructor's encoded bytes, or JSON encoded with
   * `abi` (the contract's ABI JSON, which the node does not know before the deploy). */
  async deploy(
    code: BytesLike,
    opts: TxOptions & { args?: Uint8Array | unknown; abi?: ContractAbiJson | ContractAbi } = {},
  ): Promise<{ address: string; hash: string; receipt: Receipt }> {
    let args: Uint8Array = new Uint8Array();
    if (opts.args instanceof Uint8Array) args = opts.args;
    else if (opts.args !== undefined) {
      if (!opts.abi) throw new Error("JSON constructor arguments need the contract's {abi}");
      const abi = opts.abi instanceof ContractAbi ? opts.abi : new ContractAbi(opts.abi);
      args = abi.encodeArgs("init", opts.args);
    }
    const { hash, receipt } = await this.sendTransaction({ kind: "Deploy", code: bytesOf(code), args }, opts);
    if (receipt.error || !receipt.contract_address) {
      throw this.failure(receipt.error ?? { code: "invalid_code", detail: null }, receipt, null, null);
    }
    return { address: receipt.contract_address, hash, receipt };
  }

  /** The error of a failed receipt or view, typed. */
  private failure(error: ExecError, receipt: Receipt | null, abi: ContractAbi | null, method: string | null): Error {
    if (error.code === "out_of_gas") return new OutOfGasError(error, receipt);
    if (error.code === "contract_panic") {
      let value: Json = null;
      if (abi && method && receipt) {
        try {
          value = abi.decodeError(method, receipt.return_data);
        } catch {
          value = null;
        }
      }
      return new ContractError(error, receipt, value, method);
    }
    return new ExecutionError(error, receipt);
  }

  /** Decodes raw events with their contracts' ABIs. */
  async decodeEvents(
    events: { contract: string; topic: string; data: string; reverted: boolean; block?: number; tx_hash?: string }[],
  ): Promise<DecodedEvent[]> {
    const out: DecodedEvent[] = [];
    for (const e of events) {
      let decoded: { name: string; data: Json } | null = null;
      try {
        decoded = (await this.getAbi(e.contract))?.decodeEvent(e.topic, e.data) ?? null;
      } catch {
        decoded = null;
      }
      const d: DecodedEvent = {
        contract: e.contract,
        topic: e.topic,
        name: decoded?.name ?? null,
        data: decoded?.data ?? null,
        raw: e.data,
        reverted: e.reverted,
      };
      if (e.block !== undefined) d.block = e.block;
      if (e.tx_hash !== undefined) d.tx_hash = e.tx_hash;
      out.push(d);
    }
    return out;
  }

  /** Calls `method` of `contract` with JSON `args` (encoded through its ABI), attaching
   * `value`; the decoded return value and events, or a typed error: [`ContractError`]
   * (with the decoded typed error), [`OutOfGasError`], [`ExecutionError`]. */
  async call(
    contract: string,
    method: string,
    args?: unknown,
    opts: TxOptions & { value?: IntLike } = {},
  ): Promise<CallResult> {
    const abi = await this.requireAbi(contract);
    const encoded = abi.encodeArgs(method, args);
    const payload: Payload = { kind: "Call", contract, method, args: encoded, value: toBigInt(opts.value ?? 0n) };
    const { hash, receipt } = await this.sendTransaction(payload, opts);
    if (receipt.error) throw this.failure(receipt.error, receipt, abi, method);
    return { hash, receipt, value: abi.decodeReturn(method, receipt.return_data), events: await this.decodeEvents(receipt.events) };
  }

  /** Runs the read-only `method` of `contract` with JSON `args`; its decoded value, or a
   * typed error as for [`Client.call`] (a view's typed error value is the node's
   * `error_value` where the node decodes it, else null). */
  async view(contract: string, method: string, args?: unknown, opts: { caller?: string; gas?: IntLike } = {}): Promise<Json> {
    const abi = await this.requireAbi(contract);
    const r = await this.rpc.call<{ return: string | null; error: ExecError | null; error_value?: Json }>("chainvm_view", {
      contract,
      method,
      args: toHex(abi.encodeArgs(method, args)),
      caller: opts.caller ?? null,
      gas: opts.gas === undefined ? null : Number(toBigInt(opts.gas)),
    });
    if (r.error) {
      const err = this.failure(r.error, null, abi, method);
      if (err instanceof ContractError && r.error_value !== undefined && r.error_value !== null) {
        throw new ContractError(r.error, null, r.error_value, method);
      }
      throw err;
    }
    return abi.decodeReturn(method, fromHex(r.return ?? "0x"));
  }

  /** Calls `onBlock` with every new block (from height `from` on, if given). */
  async subscribeBlocks(onBlock: (b: BlockNotification) => void, opts: { from?: number } = {}): Promise<Subscription> {
    return this.rpc.subscribe(["blocks", opts.from === undefined ? {} : { from: opts.from }], (b) =>
      onBlock(b as BlockNotification),
    );
  }

  /** Calls `onEvent` with every new event (filtered by contract and topic; from height
   * `from` on, if given), decoded with its contract's ABI; in order. */
  async subscribeEvents(
    filter: { contract?: string; topic?: string; from?: number },
    onEvent: (e: DecodedEvent) => void,
  ): Promise<Subscription> {
    let chain = Promise.resolve();
    const opts: Record<string, unknown> = {};
    if (filter.contract !== undefined) opts.contract = filter.contract;
    if (filter.topic !== undefined) opts.topic = filter.topic;
    if (filter.from !== undefined) opts.from = filter.from;
    return this.rpc.subscribe(["events", opts], (e) => {
      chain = chain.then(async () => {
        const [d] = await this.decodeEvents([e as DecodedEvent & { data: string }]);
        if (d) onEvent(d);
      });
    });
  }

  /** The contract at `address` bound to its ABI (fetched from the node): one function per
   * call method under `methods` and per view under `views`. */
  async contract(address: string): Promise<ContractHandle> {
    const abi = await this.requireAbi(address);
    const methods: ContractHandle["methods"] = {};
    const views: ContractHandle["views"] = {};
    for (const m of abi.methods) {
      if (m.kind === "call") methods[m.name] = (args, opts) => this.call(address, m.name, args, opts);
      if (m.kind === "view") views[m.name] = (args, opts) => this.view(address, m.name, args, opts);
    }
    return { address, abi, methods, views };
  }
}
