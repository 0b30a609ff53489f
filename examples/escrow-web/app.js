// Escrow frontend: a buyer and a seller (two dev accounts, keys in the page: a dev chain only)
// run one deal of contracts/escrow through @chainvm/client. The client fetches the contract's
// ABI from the node, encodes the JSON arguments, signs, sends, waits for the receipt and
// decodes the return value, the events and the contract's typed errors.
//
// Query parameters: `node` (the node's URL; default this page's origin), `escrow` (the
// deployed contract's address), `buyer` and `seller` (dev account indexes; default 0 and 1).

import { Client, ContractError, Keypair } from '@chainvm/client';

const params = new URLSearchParams(location.search);
const NODE = params.get('node') || location.origin;
const parties = {
  buyer: Keypair.dev(Number(params.get('buyer') ?? 0)),
  seller: Keypair.dev(Number(params.get('seller') ?? 1)),
};
const indexes = { buyer: Number(params.get('buyer') ?? 0), seller: Number(params.get('seller') ?? 1) };

const client = new Client(NODE);
const $ = (id) => document.getElementById(id);
const before = {};
let escrow = null;
let dealId = null;
let sent = 0;

function fmt(n, signed = false) {
  const s = (n < 0n ? -n : n).toLocaleString('en-US');
  return n < 0n ? `−${s}` : signed && n > 0n ? `+${s}` : s;
}

/** Shows both parties' balances now, against what they were when the page opened. */
async function showBalances() {
  for (const [name, key] of Object.entries(parties)) {
    const now = await client.getBalance(key.address);
    before[name] ??= now;
    const row = $(name);
    row.querySelector('.index').textContent = indexes[name];
    row.querySelector('.address').textContent = key.address;
    row.querySelector('.address').title = key.address;
    row.querySelector('.before').textContent = fmt(before[name]);
    row.querySelector('.now').textContent = fmt(now);
    const change = row.querySelector('.change');
    change.textContent = fmt(now - before[name], true);
    change.className = `num change ${now > before[name] ? 'up' : now < before[name] ? 'down' : ''}`;
  }
}

/** The deal's state as the contract's `get_deal` view reports it. */
async function showDeal() {
  if (dealId === null) return;
  const deal = await escrow.views.get_deal({ id: dealId });
  $('deal-id').textContent = String(dealId);
  $('deal-state').textContent = deal ? deal.state : 'missing';
  $('create').disabled = deal !== null && deal.state !== 'Released' && deal.state !== 'Refunded';
  $('deliver').disabled = !deal || deal.state !== 'Funded';
  $('confirm').disabled = !deal || (deal.state !== 'Funded' && deal.state !== 'Delivered');
}

function logTx(what, result) {
  if (sent++ === 0) $('log').replaceChildren();
  const li = document.createElement('li');
  const hash = document.createElement('code');
  hash.textContent = result.hash;
  const head = document.createElement('div');
  head.append(`${what} `, hash, ` · ${result.receipt.gas_used.toLocaleString('en-US')} gas`);
  li.append(head);
  for (const e of result.events) {
    const line = document.createElement('div');
    const name = document.createElement('span');
    name.className = 'event';
    name.textContent = e.name ?? e.topic;
    line.append(name, ' ', JSON.stringify(e.data));
    li.append(line);
  }
  $('log').append(li);
}

/** Runs one step: a contract call by `who`; its result logged, or its typed error shown. */
async function step(button, what, method, args, who, value) {
  $('error').textContent = '';
  for (const b of ['create', 'deliver', 'confirm']) $(b).disabled = true;
  try {
    const result = await escrow.methods[method](args, { signer: parties[who], value });
    logTx(what, result);
    return result;
  } catch (e) {
    const why = e instanceof ContractError && e.variant ? e.variant : e.message;
    $('error').textContent = `${method} was refused: ${why}`;
    return null;
  } finally {
    await showBalances();
    await showDeal();
    if (dealId === null) $('create').disabled = false;
  }
}

async function bind(address) {
  escrow = await client.contract(address);
  $('status').textContent = `${escrow.abi.name} at ${address.slice(0, 10)}…, chain ${await client.chainId()}`;
  $('status').className = 'ready';
  $('create').disabled = false;
}

async function start() {
  $('node-url').value = NODE;
  $('escrow').value = params.get('escrow') || '';
  $('create').addEventListener('click', async () => {
    const amount = BigInt($('amount').value.trim() || '0');
    const args = { seller: parties.seller.address, arbiter: null, deadline_blocks: 100 };
    const r = await step('create', 'Buyer created the deal', 'create', args, 'buyer', amount);
    if (r) {
      dealId = r.value;
      await showDeal();
    }
  });
  $('deliver').addEventListener('click', () => step('deliver', 'Seller marked it delivered', 'mark_delivered', { id: dealId ?? 0 }, 'seller'));
  $('confirm').addEventListener('click', () => step('confirm', 'Buyer confirmed', 'confirm', { id: dealId ?? 0 }, 'buyer'));
  $('escrow').addEventListener('change', () => bind($('escrow').value.trim()).catch((e) => ($('error').textContent = e.message)));
  try {
    await showBalances();
    if ($('escrow').value) await bind($('escrow').value);
    else $('status').textContent = 'enter the escrow contract’s address';
  } catch (e) {
    $('status').textContent = `cannot reach the node at ${NODE}: ${e.message}`;
    $('status').className = 'failed';
  }
}

start();
