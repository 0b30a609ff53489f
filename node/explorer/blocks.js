// The home page (latest blocks and transactions, redrawn as blocks arrive) and the block page
// (header facts and the block's transactions with their receipts' status and gas).

import { rpc } from './rpc.js';
import { h, render, card, facts, errorCard } from './dom.js';
import { mono, short, blockLink, txLink, accountLink, fmtInt, fmtTime, ago, statusBadge } from './format.js';
import { live, LATEST } from './live.js';

/** Transactions of a block whose receipts are fetched for the block page. */
const BLOCK_TXS = 100;

/** How many transactions a block lists. */
function txCount(b) {
  return Array.isArray(b.transactions) ? b.transactions.length : 0;
}

/** Draws the home page; returns what to call on leaving it (stops the live redraws). */
export function homePage() {
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

/** Draws block `n`'s page. */
export async function blockPage(n) {
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
