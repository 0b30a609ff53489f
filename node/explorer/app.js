// The chainvm explorer: a single-page app over the node's JSON-RPC (same origin), with hash
// routes `#/`, `#/block/N`, `#/tx/0x…`, `#/account/0x…` and `#/contract/0x…`, each drawn by
// its page module. New blocks arrive live (`live.js`). No build step, no dependencies: the
// modules are plain ES modules served by the node, and every node is built with `h()`
// (`dom.js`), never from HTML strings.

import { rpc, RPC_URL } from './rpc.js';
import { render, errorCard } from './dom.js';
import { live, connectLive } from './live.js';
import { homePage, blockPage } from './blocks.js';
import { txPage } from './tx.js';
import { accountPage } from './account.js';
import { contractPage } from './contract.js';

let leave = null;

/** Draws the page the hash names (leaving the previous one), then marks the body ready. */
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

/** The search box: a height, transaction hash or address goes to its page. */
function search(ev) {
  ev.preventDefault();
  const q = document.getElementById('search-input').value.trim();
  if (/^\d+$/.test(q)) location.hash = `#/block/${q}`;
  else if (/^0x[0-9a-fA-F]{64}$/.test(q)) location.hash = `#/tx/${q}`;
  else if (/^0x[0-9a-fA-F]{40}$/.test(q)) location.hash = `#/account/${q}`;
  else if (q === 'latest' && live.height !== null) location.hash = `#/block/${live.height}`;
}

/** Wires the header, starts the live blocks and draws the first route. */
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
