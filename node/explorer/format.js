// Rendering values: hashes and addresses (shortened, as links to their pages), integers with
// separators, times, statuses, decoded JSON values, and struct fields in their ABI order.

import { h } from './dom.js';

/** Text in a monospace `code` element (with an extra class if given). */
export function mono(text, cls) {
  return h('code', { class: cls ? `mono ${cls}` : 'mono' }, text);
}

/** A long hex string as its head and tail (`0x12345678…abcdef`). */
export function short(hex) {
  return hex && hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** A link to block `n`'s page. */
export function blockLink(n) {
  return h('a', { href: `#/block/${n}`, class: 'block-link' }, `#${n}`);
}

/** A link to a transaction's page, the hash shortened unless `full`. */
export function txLink(hash, full) {
  return h('a', { href: `#/tx/${hash}`, class: 'tx-link mono', title: hash }, full ? hash : short(hash));
}

/** A link to an account's page, the address shortened unless `full`. */
export function accountLink(addr, full) {
  return h('a', { href: `#/account/${addr}`, class: 'account-link mono', title: addr }, full ? addr : short(addr));
}

/** A link to a contract's page when `isContract`, else to the account's. */
export function contractOrAccount(addr, isContract) {
  return isContract
    ? h('a', { href: `#/contract/${addr}`, class: 'contract-link mono' }, addr)
    : accountLink(addr, true);
}

/** A non-negative integer (number, decimal string or 0x hex) with thousands separators. */
export function fmtInt(v) {
  try {
    return BigInt(v).toLocaleString('en-US');
  } catch {
    return String(v);
  }
}

/** Unix seconds as `YYYY-MM-DD hh:mm:ss UTC`. */
export function fmtTime(secs) {
  if (typeof secs !== 'number') return '';
  return new Date(secs * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** How long ago unix seconds `secs` was, roughly (`5s ago`, `3m ago`, …). */
export function ago(secs) {
  const d = Math.max(0, Math.round(Date.now() / 1000 - secs));
  if (d < 60) return `${d}s ago`;
  if (d < 3600) return `${Math.floor(d / 60)}m ago`;
  if (d < 86400) return `${Math.floor(d / 3600)}h ago`;
  return `${Math.floor(d / 86400)}d ago`;
}

/** A receipt status as a coloured badge. */
export function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

/** A decoded JSON value: objects as `{ k: v, … }` with nested values, text kept as typed. */
export function jsonView(v) {
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

/** An object's keys in the order `fields` (an ABI field list) declares them, others after. */
export function inFieldOrder(data, fields) {
  if (!fields || !data || typeof data !== 'object' || Array.isArray(data)) return data;
  const out = {};
  for (const f of fields) if (f.name in data) out[f.name] = data[f.name];
  return Object.assign(out, data);
}

/** The fields of the struct a type names (`Deal`, `Option<Deal>`), from the ABI's types. */
export function structFields(abi, type) {
  const name = (type || '').replace(/^Option<(.*)>$/, '$1');
  const t = abi && abi.types && abi.types[name];
  return t && t.kind === 'struct' ? t.fields : null;
}
