// The account page: balance, nonce, and for a contract account a link to its contract page.

import { rpc } from './rpc.js';
import { h, render, card, facts, errorCard } from './dom.js';
import { mono, short, fmtInt } from './format.js';

/** Draws the page of the account at `addr`. */
export async function accountPage(addr) {
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
