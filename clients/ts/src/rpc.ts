/**
 * JSON-RPC to a chainvm node: HTTP POST for calls, WebSocket for `chainvm_subscribe`
 * (the global `WebSocket`: browsers, Deno, Bun, Node 22+, or Node 20 with
 * `--experimental-websocket`; another implementation can be passed in).
 */

/** A JSON-RPC error answer: `code` and `message` as the node sent them. */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
    readonly method?: string,
  ) {
    super(method ? `${method}: ${message} (${code})` : `${message} (${code})`);
  }
}

/** The node could not be reached, or answered something that is not JSON-RPC. */
export class TransportError extends Error {
  override name = "TransportError";
}

/** A minimal WebSocket (the WHATWG interface a global `WebSocket` has). */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(): void;
  addEventListener(type: "open" | "close" | "error", f: (e: unknown) => void): void;
  addEventListener(type: "message", f: (e: { data: unknown }) => void): void;
}
/** Makes a WebSocket for a URL. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** An active subscription: `unsubscribe()` ends it (and closes its connection). */
export interface Subscription {
  /** The node's subscription id. */
  readonly id: string;
  /** Ends the subscription. */
  unsubscribe(): Promise<void>;
}

/** A JSON-RPC connection to one node. */
export class RpcClient {
  private nextId = 1;
  /** The HTTP URL (`http://127.0.0.1:8545/`). */
  readonly url: string;
  private readonly makeSocket: WebSocketFactory | undefined;

  constructor(url: string, options: { webSocket?: WebSocketFactory } = {}) {
    this.url = url;
    const global = (globalThis as { WebSocket?: new (u: string) => WebSocketLike }).WebSocket;
    this.makeSocket = options.webSocket ?? (global ? (u: string) => new global(u) : undefined);
  }

  /** The WebSocket URL of the node (same host and port). */
  get wsUrl(): string {
    return this.url.replace(/^http/, "ws");
  }

  /** Calls `method` with `params`; the result, or an [`RpcError`]. */
  async call<T = unknown>(method: string, params?: unknown): Promise<T> {
    const body = JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params: params ?? null });
    let res: Response;
    try {
      res = await fetch(this.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    } catch (e) {
      throw new TransportError(`cannot reach ${this.url}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let answer: { result?: T; error?: { code: number; message: string; data?: unknown } };
    try {
      answer = JSON.parse(text);
    } catch {
      throw new TransportError(`${this.url} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
    }
    if (answer.error) throw new RpcError(answer.error.code, answer.error.message, answer.error.data, method);
    if (!("result" in answer)) throw new TransportError(`${method}: an answer without a result`);
    return answer.result as T;
  }

  /** Subscribes over a WebSocket of its own: `["blocks", {from?}]` or
   * `["events", {from?, contract?, topic?}]`; `onItem` gets every pushed result. */
  async subscribe(params: unknown[], onItem: (item: unknown) => void, onError?: (e: Error) => void): Promise<Subscription> {
    if (!this.makeSocket) {
      throw new TransportError(
        "no WebSocket: run on Node 22+ (or Node 20 with --experimental-websocket), or pass {webSocket}",
      );
    }
    const ws = this.makeSocket(this.wsUrl);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new TransportError(`cannot open ${this.wsUrl}`)));
    });
    const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
    let subId: string | undefined;
    const early: unknown[] = [];
    ws.addEventListener("message", (e) => {
      let msg: { id?: number; result?: unknown; error?: { code: number; message: string }; method?: string; params?: { subscription: string; result: unknown } };
      try {
        msg = JSON.parse(String(e.data));
      } catch {
        onError?.(new TransportError("a WebSocket message that is not JSON"));
        return;
      }
      if (msg.id !== undefined && pending.has(msg.id)) {
        const p = pending.get(msg.id)!;
        pending.delete(msg.id);
        if (msg.error) p.reject(new RpcError(msg.error.code, msg.error.message, undefined, "chainvm_subscribe"));
        else p.resolve(msg.result);
      } else if (msg.method === "chainvm_subscription" && msg.params) {
        if (subId === undefined) early.push(msg.params);
        else if (msg.params.subscription === subId) onItem(msg.params.result);
      }
    });
    ws.addEventListener("close", () => {
      for (const p of pending.values()) p.reject(new TransportError("WebSocket closed"));
      pending.clear();
    });
    const request = (method: string, p: unknown) =>
      new Promise<unknown>((resolve, reject) => {
        const id = this.nextId++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: p }));
      });
    let id: unknown;
    try {
      id = await request("chainvm_subscribe", params);
    } catch (e) {
      ws.close();
      throw e;
    }
    subId = String(id);
    for (const m of early.splice(0)) {
      const n = m as { subscription: string; result: unknown };
      if (n.subscription === subId) onItem(n.result);
    }
    return {
      id: subId,
      unsubscribe: async () => {
        try {
          if (ws.readyState === 1) await request("chainvm_unsubscribe", [subId]);
        } finally {
          ws.close();
        }
      },
    };
  }
}
