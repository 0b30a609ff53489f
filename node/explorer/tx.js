// The transaction page: the receipt (with the node's ABI decoding), the transaction's own
// bytes read far enough to show kind, target, method, value and nonce, the gas report as a
// stacked bar, and the events in their ABI's field order.

import { rpc } from './rpc.js';
import { h, render, card, facts, errorCard } from './dom.js';
import { mono, blockLink, accountLink, contractOrAccount, fmtInt, statusBadge, jsonView, inFieldOrder } from './format.js';

/** The gas categories of a receipt's `gas` report, in the order the bar draws them. */
const GAS_PARTS = ['intrinsic', 'loading', 'memory', 'wasm', 'host'];

/** The bytes of a hex string (with or without `0x`). */
function bytesOf(hex) {
  const s = hex.startsWith('0x') ? hex.slice(2) : hex;
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

/** Bytes as a `0x` hex string. */
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

/** An event topic (a byte array) as text. */
function text(bytes) {
  return Array.isArray(bytes) ? new TextDecoder().decode(new Uint8Array(bytes)) : String(bytes);
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

/** Draws the page of the transaction with this hash. */
export async function txPage(hash) {
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
