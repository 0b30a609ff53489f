// Live blocks: the newest blocks seen, kept in `live` for the header and the home page. They
// arrive over a WebSocket `chainvm_subscribe` subscription, or by polling when that fails.

import { rpc, WS_URL } from './rpc.js';

/** Blocks kept (and listed on the home page). */
export const LATEST = 20;
/** Milliseconds between polls when there is no live subscription. */
const POLL_MS = 2000;

/** What the header shows and the home page lists: the newest blocks seen, by height. */
export const live = {
  height: null,
  blocks: new Map(),
  mode: 'connecting',
  listeners: new Set(),
};

function setMode(mode) {
  live.mode = mode;
  const el = document.getElementById('live-status');
  el.textContent = mode;
  el.className = `live-status ${mode}`;
}

/** Takes in a block (pushed or fetched) and tells whoever shows blocks. */
function seeBlock(block) {
  live.blocks.set(block.height, block);
  for (const k of [...live.blocks.keys()].sort((a, b) => a - b).slice(0, -LATEST)) live.blocks.delete(k);
  if (live.height === null || block.height > live.height) {
    live.height = block.height;
    const el = document.getElementById('latest-height');
    el.textContent = String(block.height);
    el.href = `#/block/${block.height}`;
  }
  for (const f of live.listeners) f(block);
}

async function poll() {
  try {
    const height = await rpc('chainvm_blockNumber');
    const from = live.height === null ? Math.max(0, height - LATEST + 1) : live.height + 1;
    for (let n = from; n <= height; n++) {
      const b = await rpc('chainvm_getBlockByNumber', { height: n });
      if (b) seeBlock(b);
    }
  } catch (e) {
    setMode('offline');
    return;
  }
  if (live.mode !== 'live') setMode('polling');
}

let pollTimer = null;

function startPolling() {
  if (pollTimer) return;
  poll();
  pollTimer = setInterval(poll, POLL_MS);
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

/** Subscribes to blocks over WebSocket from a little before the tip; polls while it cannot. */
export async function connectLive() {
  let height = 0;
  try {
    height = await rpc('chainvm_blockNumber');
  } catch {
    /* the socket may still work; start from genesis */
  }
  const from = live.height === null ? Math.max(0, height - LATEST + 1) : live.height + 1;
  let ws;
  try {
    ws = new WebSocket(WS_URL + '/');
  } catch {
    startPolling();
    return;
  }
  let opened = false;
  ws.onopen = () => {
    opened = true;
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'chainvm_subscribe', params: ['blocks', { from }] }));
  };
  ws.onmessage = (ev) => {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (m.id === 1) {
      if (m.error) {
        ws.close();
        return;
      }
      stopPolling();
      setMode('live');
    } else if (m.method === 'chainvm_subscription' && m.params && m.params.result) {
      seeBlock(m.params.result);
    }
  };
  ws.onclose = () => {
    if (live.mode === 'live') setMode('reconnecting');
    startPolling();
    setTimeout(connectLive, opened ? 3000 : 10000);
  };
}
