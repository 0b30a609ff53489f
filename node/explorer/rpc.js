// JSON-RPC to the node the page came from (same origin): `rpc()` over HTTP POST, and the
// WebSocket URL the live block subscription connects to.

/** The node's JSON-RPC URL: the page's own origin. */
export const RPC_URL = location.origin;
/** The same endpoint as a WebSocket URL (`ws:`/`wss:`). */
export const WS_URL = RPC_URL.replace(/^http/, 'ws');

let rpcId = 0;

/** Calls `method` over HTTP; the `result`, or throws an Error with the node's message. */
export async function rpc(method, params) {
  const body = { jsonrpc: '2.0', id: ++rpcId, method };
  if (params !== undefined) body.params = params;
  const res = await fetch(RPC_URL + '/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
  const answer = await res.json();
  if (answer.error) {
    const e = new Error(answer.error.message || 'JSON-RPC error');
    e.code = answer.error.code;
    throw e;
  }
  return answer.result;
}
