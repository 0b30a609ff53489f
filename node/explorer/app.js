// The chainvm explorer: a single-page app over the node's JSON-RPC (same origin), with hash
// routes `#/`, `#/block/N`, `#/tx/0x…`, `#/account/0x…` and `#/contract/0x…`. New blocks
// arrive over a WebSocket `chainvm_subscribe` subscription, or by polling when that fails.
// No build step, no dependencies: every node is built with `h()`, never from HTML strings,
// so contract-controlled text (event data, method names) cannot inject markup.

const RPC_URL = location.origin;
const WS_URL = RPC_URL.replace(/^http/, 'ws');
/// Blocks listed on the home page.
const LATEST = 20;
/// Milliseconds between polls when there is no live subscription.
const POLL_MS = 2000;
/// Transactions of a block whose receipts are fetched for the block page.
const BLOCK_TXS = 100;
/// The gas categories of a receipt's `gas` report, in the order the bar draws them.
const GAS_PARTS = ['intrinsic', 'loading', 'memory', 'wasm', 'host'];

// ---------------------------------------------------------------- JSON-RPC

let rpcId = 0;

/** Calls `method` over HTTP; the `result`, or throws an Error with the node's message. */
async function rpc(method, params) {
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

// ---------------------------------------------------------------- DOM helpers

/** An element: `h('a', {href, class}, child, …)`; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const app = () => document.getElementById('app');

function render(...nodes) {
  app().replaceChildren(...nodes);
}

function card(title, ...body) {
  return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...body);
}

/** A two-column table of label/value rows (rows whose value is undefined are left out). */
function facts(rows, id) {
  return h('table', { class: 'facts', id },
    rows.filter((r) => r && r[1] !== undefined).map(([k, v, key]) =>
      h('tr', { 'data-key': key || k.toLowerCase().replace(/\W+/g, '-') }, h('th', {}, k), h('td', {}, v))));
}

function errorCard(message) {
  return h('section', { class: 'card error-card', id: 'error' }, h('h2', {}, 'Not found'), h('p', {}, message));
}

// ---------------------------------------------------------------- formatting

function mono(text, cls) {
  return h('code', { class: cls ? `mono ${cls}` : 'mono' }, text);
}

function short(hex) {
  return hex && hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

function blockLink(n) {
  return h('a', { href: `#/block/${n}`, class: 'block-link' }, `#${n}`);
}

function txLink(hash, full) {
  return h('a', { href: `#/tx/${hash}`, class: 'tx-link mono', title: hash }, full ? hash : short(hash));
}

function accountLink(addr, full) {
  return h('a', { href: `#/account/${addr}`, class: 'account-link mono', title: addr }, full ? addr : short(addr));
}

/** A non-negative integer (number, decimal string or 0x hex) with thousands separators. */
function fmtInt(v) {
  try {
    return BigInt(v).toLocaleString('en-US');
  } catch {
    return String(v);
  }
}

function fmtTime(secs) {
  if (typeof secs !== 'number') return '';
  return new Date(secs * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function ago(secs) {
  const d = Math.max(0, Math.round(Date.now() / 1000 - secs));
  if (d < 60) return `${d}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

/** A decoded JSON value: objects as `{ k: v, … }` with nested values, text kept as typed. */
function jsonView(v) {
  if (v === null || v === undefined) return h('span', { class: 'j-null' }, 'null');
  if (Array.isArray(v)) {
    return h('span', { class: 'j-array' }, '[', v.map((x, i) => [i ? ', ' : '', jsonView(x)]), ']');
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v);
    return h('span', { class: 'j-object' }, '{ ',
      entries.map(([k, x], i) => [i ? ', ' : '', h('span', { class: 'j-key' }, k), ': ', jsonView(x)]), ' }');
  }
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)) return accountLink(v);
  if (typeof v === 'string') return h('span', { class: 'j-string' }, JSON.stringify(v));
  return h('span', { class: `j-${typeof v}` }, String(v));
}

// ---------------------------------------------------------------- transaction bytes

function bytesOf(hex) {
  const s = hex.startsWith('0x') ? hex.slice(2) : hex;
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

function hexOf(bytes) {
  return '0x' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Reads the borsh encoding of a `SignedTransaction` (runtime/src/tx.rs) far enough to show it. */
function decodeTx(raw) {
  const b = bytesOf(raw);
  let at = 0;
  const take = (n) => {
    if (at + n > b.length) throw new Error('short transaction');
    const s = b.subarray(at, at + n);
    at += n;
    return s;
  };
  const le = (n) => take(n).reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const u256 = () => take(32).reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const vec = () => take(Number(le(4)));
  const tx = { chain_id: le(8), nonce: le(8), gas_limit: le(8), gas_price: u256() };
  const kind = take(1)[0];
  const kinds = ['transfer', 'deploy', 'call', 'stake', 'unstake', 'report_double_sign', 'register_validator', 'report_double_vote'];
  tx.kind = kinds[kind] || `payload ${kind}`;
  if (kind === 0) Object.assign(tx, { to: hexOf(take(20)), value: u256() });
  else if (kind === 1) Object.assign(tx, { code_size: vec().length, args_size: vec().length });
  else if (kind === 2) {
    tx.to = hexOf(take(20));
    tx.method = new TextDecoder().decode(vec());
    tx.args = hexOf(vec());
    tx.value = u256();
  } else if (kind === 3 || kind === 4) Object.assign(tx, { validator: hexOf(take(20)), value: u256() });
  return tx;
}

function text(bytes) {
  return Array.isArray(bytes) ? new TextDecoder().decode(new Uint8Array(bytes)) : String(bytes);
}

// ---------------------------------------------------------------- live blocks

/** What the header shows and the home page lists: the newest blocks seen, by height. */
const live = {
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
async function connectLive() {
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

// ---------------------------------------------------------------- pages

function txCount(b) {
  return Array.isArray(b.transactions) ? b.transactions.length : 0;
}

function homePage() {
  const tbody = h('tbody', { id: 'blocks-body' });
  const txBody = h('tbody', { id: 'txs-body' });
  const heightCell = h('span', { id: 'home-height', class: 'big' }, live.height ?? '…');
  const draw = () => {
    const blocks = [...live.blocks.values()].sort((a, b) => b.height - a.height);
    heightCell.textContent = live.height ?? '…';
    tbody.replaceChildren(...blocks.map((b) =>
      h('tr', { class: 'block-row', 'data-height': b.height },
        h('td', {}, blockLink(b.height)),
        h('td', {}, mono(short(b.hash))),
        h('td', { class: 'num' }, txCount(b)),
        h('td', { class: 'num' }, fmtInt(b.gas_used)),
        h('td', { class: 'muted', title: fmtTime(b.timestamp) }, ago(b.timestamp)))));
    const txs = blocks.flatMap((b) => (b.transactions || []).map((t) => ({ ...t, block: b.height })));
    txBody.replaceChildren(...txs.slice(0, LATEST).map((t) =>
      h('tr', { class: 'tx-row' },
        h('td', {}, txLink(t.hash)),
        h('td', {}, blockLink(t.block)),
        h('td', {}, t.status ? statusBadge(t.status) : ''),
        h('td', { class: 'num' }, t.gas_used !== undefined ? fmtInt(t.gas_used) : ''))));
    if (!txs.length) txBody.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No transactions in these blocks.')));
  };
  draw();
  live.listeners.add(draw);
  render(
    h('div', { class: 'stats' },
      h('div', { class: 'stat' }, h('span', { class: 'label' }, 'Latest block'), heightCell),
      h('div', { class: 'stat' }, h('span', { class: 'label' }, 'Updates'), h('span', { class: 'big', id: 'home-mode' }, live.mode))),
    h('div', { class: 'columns' },
      card('Latest blocks', h('table', { class: 'list', id: 'blocks' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Height'), h('th', {}, 'Hash'), h('th', { class: 'num' }, 'Txs'), h('th', { class: 'num' }, 'Gas'), h('th', {}, 'Time'))),
        tbody)),
      card('Latest transactions', h('table', { class: 'list', id: 'txs' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Hash'), h('th', {}, 'Block'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Gas'))),
        txBody))));
  const modeUpdate = () => {
    const m = document.getElementById('home-mode');
    if (m) m.textContent = live.mode;
  };
  live.listeners.add(modeUpdate);
  return () => {
    live.listeners.delete(draw);
    live.listeners.delete(modeUpdate);
  };
}

async function blockPage(n) {
  const b = await rpc('chainvm_getBlockByNumber', { height: n });
  if (!b) return render(errorCard(`No block ${n} (the latest is ${live.height ?? '?'}).`));
  const txs = (b.transactions || []).slice(0, BLOCK_TXS);
  const receipts = await Promise.all(txs.map((t) => rpc('chainvm_getReceipt', { hash: t.hash }).catch(() => null)));
  const nav = h('div', { class: 'pager' },
    n > 0 ? h('a', { href: `#/block/${n - 1}`, id: 'prev-block' }, '← previous') : h('span'),
    h('a', { href: `#/block/${n + 1}`, id: 'next-block' }, 'next →'));
  render(
    h('h1', {}, 'Block ', h('span', { id: 'block-height' }, b.height)),
    nav,
    card('Header', facts([
      ['Height', String(b.height)],
      ['Hash', mono(b.hash)],
      ['Parent', b.height > 0 ? h('a', { href: `#/block/${b.height - 1}`, class: 'mono' }, b.parent_hash) : mono(b.parent_hash)],
      ['Time', `${fmtTime(b.timestamp)} (${ago(b.timestamp)})`],
      ['Proposer', b.proposer ? accountLink(b.proposer, true) : undefined],
      ['State root', mono(b.state_root)],
      ['Gas used', fmtInt(b.gas_used)],
      ['Certificate', b.certificate_raw ? `${(b.certificate_raw.length - 2) / 2} bytes` : 'none'],
    ], 'block-facts')),
    card(`Transactions (${(b.transactions || []).length})`, txs.length
      ? h('table', { class: 'list', id: 'block-txs' },
        h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Hash'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Gas'))),
        h('tbody', {}, txs.map((t, i) => {
          const r = receipts[i] && receipts[i].receipt;
          return h('tr', { class: 'tx-row' }, h('td', {}, i), h('td', {}, txLink(t.hash, true)),
            h('td', {}, r ? statusBadge(r.status) : ''), h('td', { class: 'num' }, r ? fmtInt(r.gas_used) : ''));
        })))
      : h('p', { class: 'muted' }, 'No transactions.')));
}

/** The receipt's gas report as a stacked bar (one titled segment per category) and a legend. */
function gasBar(gas) {
  const host = Object.values(gas.host || {}).reduce((s, x) => s + (x.gas || 0), 0);
  const parts = { intrinsic: gas.intrinsic, loading: gas.loading, memory: gas.memory, wasm: gas.wasm, host };
  const total = GAS_PARTS.reduce((s, k) => s + (parts[k] || 0), 0) || 1;
  const pct = (v) => `${((100 * v) / total).toFixed(1)}%`;
  const label = { intrinsic: 'intrinsic', loading: 'loading', memory: 'memory', wasm: 'wasm', host: 'host functions' };
  return h('div', { class: 'gas' },
    h('div', { class: 'gas-bar', id: 'gas-bar', role: 'img', 'aria-label': 'Gas breakdown' },
      GAS_PARTS.map((k) => h('div', {
        class: `gas-seg gas-${k}${parts[k] ? '' : ' zero'}`,
        'data-part': k,
        'data-gas': parts[k] || 0,
        title: `${label[k]}: ${fmtInt(parts[k] || 0)} gas (${pct(parts[k] || 0)})`,
        style: { width: pct(parts[k] || 0) },
      }))),
    h('ul', { class: 'gas-legend' }, GAS_PARTS.map((k) =>
      h('li', { class: `gas-key-${k}` }, h('span', { class: `swatch gas-${k}` }), `${label[k]} `,
        h('b', {}, fmtInt(parts[k] || 0)), h('span', { class: 'muted' }, ` ${pct(parts[k] || 0)}`)))),
    Object.keys(gas.host || {}).length
      ? h('details', { class: 'host-gas' }, h('summary', {}, 'Host functions'),
        h('table', { class: 'list compact', id: 'host-gas' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Function'), h('th', { class: 'num' }, 'Calls'), h('th', { class: 'num' }, 'Gas'))),
          h('tbody', {}, Object.entries(gas.host).sort((a, b) => b[1].gas - a[1].gas).map(([name, x]) =>
            h('tr', {}, h('td', {}, mono(name)), h('td', { class: 'num' }, x.calls), h('td', { class: 'num' }, fmtInt(x.gas)))))))
      : null);
}

/** An object's keys in the order `fields` (an ABI field list) declares them, others after. */
function inFieldOrder(data, fields) {
  if (!fields || !data || typeof data !== 'object' || Array.isArray(data)) return data;
  const out = {};
  for (const f of fields) if (f.name in data) out[f.name] = data[f.name];
  return Object.assign(out, data);
}

/** The fields of the struct a type names (`Deal`, `Option<Deal>`), from the ABI's types. */
function structFields(abi, type) {
  const name = (type || '').replace(/^Option<(.*)>$/, '$1');
  const t = abi && abi.types && abi.types[name];
  return t && t.kind === 'struct' ? t.fields : null;
}

/** For each contract emitting in `receipt`: its events' field lists by name, from its ABI. */
async function eventFields(receipt) {
  const out = {};
  for (const c of new Set((receipt.events || []).map((e) => e.contract))) {
    try {
      const abi = await rpc('chainvm_getAbi', { contract: c });
      out[c] = {};
      for (const [n, t] of Object.entries((abi && abi.types) || {})) if (t.kind === 'event') out[c][n] = t.fields;
    } catch {
      /* no ABI: the node's order */
    }
  }
  return out;
}

/** The receipt's events: by the decoded name and fields where the node decoded them. */
function eventsList(receipt, decoded, order) {
  const events = receipt.events || [];
  if (!events.length) return h('p', { class: 'muted' }, 'No events.');
  const dec = (decoded && decoded.events) || [];
  return h('ol', { class: 'events', id: 'events' }, events.map((e, i) => {
    const d = dec[i] || {};
    const name = d.name || text(e.topic);
    const data = d.name ? inFieldOrder(d.data, order && order[e.contract] && order[e.contract][d.name]) : null;
    return h('li', { class: `event${e.reverted ? ' reverted' : ''}`, 'data-decoded': d.name ? 'true' : 'false' },
      h('div', { class: 'event-head' },
        h('span', { class: 'event-name' }, name),
        e.reverted ? h('span', { class: 'badge status-failed' }, 'reverted') : null,
        h('span', { class: 'muted' }, ' from '), accountLink(e.contract)),
      h('div', { class: 'event-data' }, data !== null && data !== undefined
        ? jsonView(data)
        : mono(hexOf(Array.isArray(e.data) ? e.data : []), 'raw')));
  }));
}

async function txPage(hash) {
  let t;
  try {
    t = await rpc('chainvm_getReceipt', { hash, decode: true });
  } catch (e) {
    return render(errorCard(e.message));
  }
  if (!t) return render(errorCard(`No transaction ${hash} on this chain.`));
  const r = t.receipt;
  const d = t.decoded || null;
  let tx = {};
  try {
    tx = decodeTx(t.tx_raw);
  } catch {
    /* show what the receipt says */
  }
  const target = r.contract_address || tx.to;
  const ret = d && d.value !== undefined && d.value !== null
    ? jsonView(d.value)
    : (r.return_data && r.return_data.length ? mono(hexOf(r.return_data), 'raw') : h('span', { class: 'muted' }, 'none'));
  render(
    h('h1', {}, 'Transaction ', statusBadge(r.status)),
    card('Overview', facts([
      ['Hash', mono(r.tx_hash, 'tx-hash')],
      ['Block', h('span', {}, blockLink(t.block), h('span', { class: 'muted' }, ` position ${t.index}`))],
      ['From', accountLink(t.from, true)],
      ['Kind', tx.kind],
      [r.contract_address ? 'Created' : 'To', target ? contractOrAccount(target, tx.kind === 'call' || !!r.contract_address) : undefined],
      ['Method', (d && d.method) || tx.method ? mono((d && d.method) || tx.method, 'tx-method') : undefined],
      ['Code', tx.code_size !== undefined ? `${fmtInt(tx.code_size)} bytes (constructor args ${fmtInt(tx.args_size)} bytes)` : undefined],
      ['Value', tx.value !== undefined ? fmtInt(tx.value) : undefined],
      ['Nonce', tx.nonce !== undefined ? String(tx.nonce) : undefined],
      ['Gas', h('span', {}, fmtInt(r.gas_used), h('span', { class: 'muted' }, tx.gas_limit !== undefined ? ` of ${fmtInt(tx.gas_limit)} limit` : ''))],
      ['Returned', r.status === 'success' ? ret : undefined],
      ['Error', r.error ? h('span', { class: 'tx-error' }, d && d.value ? [jsonView(d.value), ' — '] : '', r.error.message || r.error.code) : undefined],
    ], 'tx-facts')),
    card('Gas breakdown', gasBar(r.gas)),
    card(`Events (${(r.events || []).length})`, eventsList(r, d, d ? await eventFields(r) : null)));
}

function contractOrAccount(addr, isContract) {
  return isContract
    ? h('a', { href: `#/contract/${addr}`, class: 'contract-link mono' }, addr)
    : accountLink(addr, true);
}

async function accountPage(addr) {
  let acct, balance;
  try {
    [acct, balance] = await Promise.all([rpc('chainvm_getAccount', { address: addr }), rpc('chainvm_getBalance', { address: addr })]);
  } catch (e) {
    return render(errorCard(e.message));
  }
  const a = acct.account;
  render(
    h('h1', {}, a.code_hash ? 'Contract account' : 'Account'),
    card('Account', facts([
      ['Address', mono(addr, 'address')],
      ['Balance', h('span', { id: 'account-balance' }, fmtInt(balance))],
      ['Nonce', h('span', { id: 'account-nonce' }, String(a.nonce))],
      ['Code', a.code_hash
        ? h('span', {}, h('a', { href: `#/contract/${addr}`, id: 'contract-link', class: 'contract-link' }, 'contract page →'),
          h('span', { class: 'muted' }, ' code hash '), mono(short(a.code_hash)))
        : h('span', { class: 'muted' }, 'none (a key-controlled account)')],
    ], 'account-facts')));
}

/** A form for one view method: an input per argument, run with `json_args`. */
function viewForm(addr, abi, m) {
  const inputs = m.args.map((a) => h('label', { class: 'arg' },
    h('span', {}, a.name, ' ', h('span', { class: 'type' }, a.type)),
    h('input', { name: a.name, 'data-type': a.type, placeholder: placeholderFor(a.type) })));
  const out = h('div', { class: 'view-result', 'data-method': m.name });
  const form = h('form', { class: 'view-form', 'data-method': m.name }, inputs,
    h('button', { type: 'submit' }, 'Run view'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const args = {};
    for (const a of m.args) args[a.name] = parseArg(form.elements[a.name].value, a.type);
    out.replaceChildren(h('span', { class: 'muted' }, 'running…'));
    try {
      const res = await rpc('chainvm_view', { contract: addr, method: m.name, json_args: args });
      const used = res.gas && typeof res.gas === 'object' ? res.gas.total : res.gas;
      const gas = h('span', { class: 'muted' }, ` (${fmtInt(used)} gas)`);
      if (res.error_value !== undefined && res.error_value !== null) {
        out.replaceChildren(h('span', { class: 'view-error' }, 'error: ', jsonView(res.error_value)), gas);
      } else if (res.error) {
        out.replaceChildren(h('span', { class: 'view-error' }, res.error.message || JSON.stringify(res.error)), gas);
      } else {
        const value = 'value' in res ? jsonView(inFieldOrder(res.value, structFields(abi, m.returns))) : mono(res.return || 'null');
        out.replaceChildren(h('span', { class: 'view-value' }, value), gas);
      }
    } catch (e) {
      out.replaceChildren(h('span', { class: 'view-error' }, e.message));
    }
  });
  return form;
}

function placeholderFor(type) {
  if (/^[ui](8|16|32|64|128)$/.test(type)) return '0';
  if (type === 'bool') return 'true';
  if (type === 'Address') return '0x…';
  return 'JSON';
}

/** An argument from its input: text types as typed, everything else as JSON when it parses. */
function parseArg(raw, type) {
  const s = raw.trim();
  if (type === 'String' || type === 'Address' || type === '&str') return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

function methodSig(m) {
  return h('span', { class: 'sig mono' },
    h('span', { class: 'method-name' }, m.name), '(',
    m.args.map((a, i) => [i ? ', ' : '', a.name, ': ', h('span', { class: 'type' }, a.type)]), ')',
    m.returns ? [' → ', h('span', { class: 'type' }, m.error ? `Result<${m.returns}, ${m.error}>` : m.returns)]
      : m.error ? [' → ', h('span', { class: 'type' }, `Result<(), ${m.error}>`)] : '');
}

function typeDef(name, t) {
  const body = t.kind === 'enum'
    ? h('ul', {}, (t.variants || []).map((v) => h('li', {}, mono(v.name),
      v.fields && v.fields.length ? [' { ', v.fields.map((f, i) => [i ? ', ' : '', f.name, ': ', h('span', { class: 'type' }, f.type)]), ' }'] : '')))
    : h('ul', {}, (t.fields || []).map((f) => h('li', {}, mono(f.name), ': ', h('span', { class: 'type' }, f.type))));
  return h('div', { class: `type-def kind-${t.kind}`, 'data-type': name }, h('h3', {}, h('span', { class: 'badge' }, t.kind), ' ', name), body);
}

async function contractPage(addr) {
  let abi, code;
  try {
    [abi, code] = await Promise.all([rpc('chainvm_getAbi', { contract: addr }), rpc('chainvm_getCode', { address: addr })]);
  } catch (e) {
    return render(errorCard(e.message));
  }
  const head = card('Contract', facts([
    ['Address', accountLink(addr, true)],
    ['Name', abi ? h('span', { id: 'contract-name' }, abi.contract) : h('span', { class: 'muted' }, 'unknown (no ABI)')],
    ['Code size', code ? `${fmtInt((code.length - 2) / 2)} bytes` : 'none'],
  ], 'contract-facts'));
  if (!abi) return render(h('h1', {}, 'Contract'), head, card('ABI', h('p', { class: 'muted', id: 'no-abi' }, 'This contract has no embedded ABI.')));
  const views = abi.methods.filter((m) => m.kind === 'view');
  render(
    h('h1', {}, 'Contract ', abi.contract),
    head,
    card('Methods', h('ul', { class: 'methods', id: 'methods' }, abi.methods.map((m) =>
      h('li', { class: `method method-${m.kind}`, 'data-method': m.name }, h('span', { class: `badge kind-${m.kind}` }, m.kind), ' ', methodSig(m))))),
    card('Views', views.length ? h('div', { class: 'views', id: 'views' }, views.map((m) =>
      h('div', { class: 'view' }, h('h3', {}, methodSig(m)), viewForm(addr, abi, m)))) : h('p', { class: 'muted' }, 'No view methods.')),
    card('Types and events', h('div', { class: 'types', id: 'types' }, Object.entries(abi.types || {}).map(([n, t]) => typeDef(n, t)))));
}

// ---------------------------------------------------------------- routing

let leave = null;

async function route() {
  if (leave) leave();
  leave = null;
  const path = (location.hash.replace(/^#/, '') || '/').split('/').filter(Boolean);
  document.body.dataset.page = path[0] || 'home';
  const [page, arg] = path;
  try {
    if (!page) leave = homePage();
    else if (page === 'block' && /^\d+$/.test(arg)) await blockPage(Number(arg));
    else if (page === 'tx' && /^0x[0-9a-fA-F]{64}$/.test(arg)) await txPage(arg.toLowerCase());
    else if (page === 'account' && /^0x[0-9a-fA-F]{40}$/.test(arg)) await accountPage(arg.toLowerCase());
    else if (page === 'contract' && /^0x[0-9a-fA-F]{40}$/.test(arg)) await contractPage(arg.toLowerCase());
    else render(errorCard(`Nothing at ${location.hash}.`));
  } catch (e) {
    render(errorCard(`Could not load this page: ${e.message}`));
  }
  document.body.dataset.ready = location.hash || '#/';
}

function search(ev) {
  ev.preventDefault();
  const q = document.getElementById('search-input').value.trim();
  if (/^\d+$/.test(q)) location.hash = `#/block/${q}`;
  else if (/^0x[0-9a-fA-F]{64}$/.test(q)) location.hash = `#/tx/${q}`;
  else if (/^0x[0-9a-fA-F]{40}$/.test(q)) location.hash = `#/account/${q}`;
  else if (q === 'latest' && live.height !== null) location.hash = `#/block/${live.height}`;
}

function start() {
  document.getElementById('rpc-url').textContent = RPC_URL;
  document.getElementById('search').addEventListener('submit', search);
  rpc('chainvm_chainId').then((id) => {
    document.getElementById('chain-id').textContent = `chain id ${id}`;
  }, () => {});
  window.addEventListener('hashchange', route);
  connectLive();
  route();
}

start();
