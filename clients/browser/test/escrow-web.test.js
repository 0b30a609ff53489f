// examples/escrow-web in a real browser: the page signs with dev keys through the TypeScript
// client (clients/ts, built: its dist/), talks to the node cross-origin (the node's CORS
// admits loopback pages), and runs a whole deal; the balances it shows are checked against
// the node's.
//
// The page, the client's dist/ and its @noble dependencies are served by a local static
// server at the paths of the page's import map. CHAINVM_TS_DIR points at another clients/ts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { access } from 'node:fs/promises';
import { startNode, REPO } from '../lib/node.js';
import { ESCROW_WASM } from '../lib/escrow.js';
import { openBrowser, SCREENSHOTS } from '../lib/browser.js';
import { serveStatic } from '../lib/static.js';

const TS = process.env.CHAINVM_TS_DIR || join(REPO, 'clients/ts');

let node, browser, page, site, escrow, buyer, seller;

before(async () => {
  await access(join(TS, 'dist/index.js')).catch(() => {
    throw new Error(`${TS}/dist/index.js is missing: run \`npm ci && npm run build\` in clients/ts first`);
  });
  node = await startNode();
  const accounts = await node.cli('accounts');
  [buyer, seller] = [accounts[0].address, accounts[1].address];
  escrow = (await node.cli('deploy', ESCROW_WASM, '--alias', 'escrow')).contract_address;
  site = await serveStatic({
    '/': join(REPO, 'examples/escrow-web'),
    '/clients/ts/dist/': join(TS, 'dist'),
    '/node_modules/@noble/': join(TS, 'node_modules/@noble'),
  });
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(15_000);
});

after(async () => {
  await browser?.close();
  await site?.close();
  await node?.stop();
});

const balance = async (a) => BigInt(await node.rpc('chainvm_getBalance', { address: a }));
const shown = async (row, col) => BigInt((await page.textContent(`#${row} .${col}`)).replace('\u2212', '-').replace(/[^0-9-]/g, ''));

test('the page creates, delivers and confirms a deal, and shows the balances move', async () => {
  const amount = 5_000_000n;
  const [buyer0, seller0] = [await balance(buyer), await balance(seller)];
  await page.goto(`${site.url}/?node=${encodeURIComponent(node.url)}&escrow=${escrow}`);
  await page.waitForSelector('#status.ready');
  assert.equal(await page.textContent('#buyer .address'), buyer);
  assert.equal(await page.textContent('#seller .address'), seller);
  assert.equal(await shown('buyer', 'before'), buyer0);
  assert.equal(await shown('seller', 'before'), seller0);

  await page.fill('#amount', String(amount));
  await page.click('#create');
  await page.waitForFunction(() => document.getElementById('deal-state').textContent === 'Funded');
  const id = Number(await page.textContent('#deal-id'));
  assert.equal(id, 0, 'the first deal');
  await page.click('#deliver');
  await page.waitForFunction(() => document.getElementById('deal-state').textContent === 'Delivered');
  await page.click('#confirm');
  await page.waitForFunction(() => document.getElementById('deal-state').textContent === 'Released');

  // Three transactions, each in the log with its event, and the chain agrees with the page.
  const log = await page.$$eval('#log li', (ls) => ls.map((l) => l.textContent));
  assert.equal(log.length, 3, log.join('\n'));
  for (const [i, e] of ['DealCreated', 'Delivered', 'Released'].entries()) assert.ok(log[i].includes(e), log[i]);
  const deal = await node.cli('view', 'escrow', 'get_deal', '[0]');
  assert.equal(JSON.stringify(deal).includes('Released'), true, JSON.stringify(deal));
  const [buyer1, seller1] = [await balance(buyer), await balance(seller)];
  assert.equal(await shown('buyer', 'now'), buyer1);
  assert.equal(await shown('seller', 'now'), seller1);
  // Exactly the amount moved, less the fees of the receipts the page logged (gas price 1):
  // the seller paid for mark_delivered, the buyer for create and confirm.
  const hashes = await page.$$eval('#log li code', (cs) => cs.map((c) => c.textContent));
  const fees = [];
  for (const hash of hashes) {
    const t = await node.rpc('chainvm_getReceipt', { hash });
    assert.equal(t.receipt.status, 'success', hash);
    fees.push(BigInt(t.receipt.gas_used));
  }
  assert.deepEqual(
    (await Promise.all(hashes.map((hash) => node.rpc('chainvm_getReceipt', { hash })))).map((t) => t.from),
    [buyer, seller, buyer], 'each step signed by its party');
  assert.equal(seller1, seller0 + amount - fees[1]);
  assert.equal(buyer1, buyer0 - amount - fees[0] - fees[2]);
  assert.equal(await shown('seller', 'change'), seller1 - seller0);
  assert.equal(await shown('buyer', 'change'), buyer1 - buyer0);
  await page.screenshot({ path: join(SCREENSHOTS, 'escrow-web.png'), fullPage: true });
});

test('a refused step shows the contract\'s typed error', async () => {
  // The deal is released: confirming again is WrongState.
  await page.evaluate(() => { document.getElementById('confirm').disabled = false; });
  await page.click('#confirm');
  await page.waitForFunction(() => document.getElementById('error').textContent.includes('WrongState'));
});

test('the page raised no script errors and every request succeeded', () => {
  assert.deepEqual(browser.problems, []);
});
