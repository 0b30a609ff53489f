// The explorer in a real browser: a node with the escrow deal done, the page opened at the
// node's own `/`, and the DOM checked against what the node answers over JSON-RPC.
//
// EXPLORER=files serves node/explorer/ from a local server that passes JSON-RPC and WebSocket
// on to the node instead (for working on the page with a node that does not serve it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startNode, REPO } from '../lib/node.js';
import { escrowFlow } from '../lib/escrow.js';
import { openBrowser, SCREENSHOTS } from '../lib/browser.js';
import { serveStatic } from '../lib/static.js';

let node, flow, browser, page, files, base;

before(async () => {
  node = await startNode();
  flow = await escrowFlow(node);
  if (process.env.EXPLORER === 'files') {
    files = await serveStatic({ '/': join(REPO, 'node/explorer') }, { node: node.url });
    base = files.url;
  } else {
    const res = await fetch(`${node.url}/`);
    const type = res.headers.get('content-type') || '';
    assert.ok(res.ok && type.startsWith('text/html'),
      `the node does not serve the explorer at / (HTTP ${res.status}, ${type}); EXPLORER=files serves node/explorer/ instead`);
    base = node.url;
  }
  browser = await openBrowser();
  page = browser.page;
  page.setDefaultTimeout(10_000);
});

after(async () => {
  await browser?.close();
  await files?.close();
  await node?.stop();
});

/** Opens a route and waits until the app has drawn it. */
async function open(hash) {
  await page.goto(`${base}/${hash}`);
  await page.waitForFunction((h) => document.body.dataset.ready === h, hash);
}

test('the home page shows the latest height and blocks, live over WebSocket', async () => {
  await open('#/');
  const height = await node.rpc('chainvm_blockNumber');
  assert.equal(height, flow.confirm.block, 'automine: the confirm is the latest block');
  await page.waitForFunction((h) => document.getElementById('latest-height').textContent === String(h), height);
  await page.waitForSelector('#live-status.live');
  const rows = await page.$$eval('#blocks-body .block-row', (rs) => rs.map((r) => Number(r.dataset.height)));
  assert.deepEqual(rows, Array.from({ length: height + 1 }, (_, i) => height - i), 'every block, newest first');
  const create = await page.$eval(`#blocks-body .block-row[data-height="${flow.create.block}"] td:nth-child(3)`, (td) => td.textContent);
  assert.equal(create, '1', 'the create block holds one transaction');
  // A new block is pushed to the open page, without a reload.
  const sent = await node.cli('transfer', flow.seller, '7', '--from', '2');
  await page.waitForFunction((h) => document.getElementById('latest-height').textContent === String(h), sent.block);
  await page.waitForSelector(`#blocks-body .block-row[data-height="${sent.block}"]`);
  assert.ok(await page.$(`#txs-body a[href="#/tx/${sent.tx_hash}"]`), 'the new transaction is listed');
  await page.screenshot({ path: join(SCREENSHOTS, 'home.png') });
});

test('the create transaction shows its decoded DealCreated event and a gas bar', async () => {
  const hash = flow.create.tx_hash;
  await open(`#/tx/${hash}`);
  assert.equal(await page.textContent('#tx-facts .tx-hash'), hash);
  assert.equal(await page.textContent('#tx-facts .tx-method'), 'create');
  assert.equal(await page.textContent('#tx-facts [data-key="value"] td'), BigInt(flow.amount).toLocaleString('en-US'));
  const events = await page.$$eval('#events .event', (es) => es.map((e) => ({
    name: e.querySelector('.event-name').textContent,
    decoded: e.dataset.decoded,
    data: e.querySelector('.event-data').textContent,
  })));
  assert.equal(events.length, 1);
  assert.equal(events[0].name, 'DealCreated');
  assert.equal(events[0].decoded, 'true', 'the node decoded the event with the escrow ABI');
  for (const part of [`id: 0`, `amount: "${flow.amount}"`]) assert.ok(events[0].data.includes(part), `${part} in ${events[0].data}`);
  for (const who of [flow.buyer, flow.seller]) {
    assert.ok(await page.$(`#events .event-data a[href="#/account/${who}"]`), `${who} is linked`);
  }
  // The bar: one titled segment per category, as wide as its share of the receipt's gas.
  const gas = flow.create.gas;
  const host = Object.values(gas.host).reduce((s, x) => s + x.gas, 0);
  const want = { intrinsic: gas.intrinsic, loading: gas.loading, memory: gas.memory, wasm: gas.wasm, host };
  const segs = await page.$$eval('.gas-bar > *', (ss) => ss.map((s) => ({
    part: s.dataset.part,
    gas: Number(s.dataset.gas),
    title: s.title,
    width: s.getBoundingClientRect().width,
  })));
  const barWidth = await page.$eval('.gas-bar', (b) => b.getBoundingClientRect().width);
  assert.deepEqual(segs.map((s) => s.part), ['intrinsic', 'loading', 'memory', 'wasm', 'host']);
  assert.equal(segs.reduce((s, x) => s + x.gas, 0), gas.total, 'the segments add up to the total');
  for (const s of segs) {
    assert.equal(s.gas, want[s.part], s.part);
    assert.ok(s.title.includes(s.gas.toLocaleString('en-US')), `${s.part} title: ${s.title}`);
    assert.ok(Math.abs(s.width - (barWidth * s.gas) / gas.total) < 2, `${s.part} is ${s.width}px of ${barWidth}px`);
  }
  await page.screenshot({ path: join(SCREENSHOTS, 'explorer.png'), fullPage: true });
});

test('a failed transaction shows the contract\'s typed error', async () => {
  // The deal is released: confirming it again is refused with EscrowError::WrongState.
  const failed = await node.cliFailing('call', 'escrow', 'confirm', '[0]', '--from', '0');
  assert.equal(failed.status, 'failed');
  await open(`#/tx/${failed.tx_hash}`);
  assert.equal(await page.textContent('h1 .badge'), 'failed');
  const error = await page.textContent('#tx-facts [data-key="error"] td');
  assert.ok(error.includes('"WrongState"'), `the decoded typed error in: ${error}`);
  assert.ok(error.includes(failed.error.message), `the node's message in: ${error}`);
  assert.equal(await page.$$eval('.gas-bar > .gas-seg', (ss) => ss.length), 5, 'a failed call has its gas bar too');
  await page.screenshot({ path: join(SCREENSHOTS, 'failed-tx.png'), fullPage: true });
});

test('a block page lists its transactions; an account page its balance and contract link', async () => {
  await open(`#/block/${flow.create.block}`);
  assert.equal(await page.textContent('#block-height'), String(flow.create.block));
  const txs = await page.$$eval('#block-txs .tx-link', (as) => as.map((a) => a.textContent));
  assert.deepEqual(txs, [flow.create.tx_hash]);

  await open(`#/account/${flow.seller}`);
  const balance = await node.rpc('chainvm_getBalance', { address: flow.seller });
  assert.equal(await page.textContent('#account-balance'), BigInt(balance).toLocaleString('en-US'));
  assert.equal(await page.textContent('#account-nonce'), '1', 'the seller sent mark_delivered');
  assert.equal(await page.$('#contract-link'), null, 'a key account has no contract page');

  await open(`#/account/${flow.escrow}`);
  await page.click('#contract-link');
  await page.waitForFunction((h) => document.body.dataset.ready === h, `#/contract/${flow.escrow}`);
});

test('the contract page lists the ABI and runs views with JSON arguments', async () => {
  await open(`#/contract/${flow.escrow}`);
  assert.equal(await page.textContent('#contract-name'), 'Escrow');
  const methods = await page.$$eval('#methods .method', (ms) => ms.map((m) => m.dataset.method));
  for (const m of ['create', 'mark_delivered', 'confirm', 'get_deal', 'deal_count']) assert.ok(methods.includes(m), m);
  assert.ok(await page.$('#types [data-type="DealCreated"]'), 'events are listed with the types');

  await page.click('.view-form[data-method="deal_count"] button');
  await page.waitForSelector('.view-result[data-method="deal_count"] .view-value');
  assert.equal(await page.textContent('.view-result[data-method="deal_count"] .view-value'), '1');

  await page.fill('.view-form[data-method="get_deal"] input[name="id"]', '0');
  await page.click('.view-form[data-method="get_deal"] button');
  await page.waitForSelector('.view-result[data-method="get_deal"] .view-value');
  const deal = await page.textContent('.view-result[data-method="get_deal"] .view-value');
  assert.ok(deal.includes('state: "Released"'), deal);
  assert.ok(deal.includes(`amount: "${flow.amount}"`), deal);
  await page.screenshot({ path: join(SCREENSHOTS, 'contract.png'), fullPage: true });
});

test('without a WebSocket the home page polls and still sees new blocks', async () => {
  // A second page of the same browser whose WebSocket connections are refused.
  const polled = await browser.context.newPage();
  try {
    await polled.routeWebSocket(/.*/, (ws) => ws.close());
    await polled.goto(`${base}/#/`);
    await polled.waitForSelector('#live-status.polling');
    const before = Number(await polled.textContent('#latest-height'));
    assert.equal(before, await node.rpc('chainvm_blockNumber'));
    const sent = await node.cli('transfer', flow.seller, '1', '--from', '3');
    await polled.waitForFunction((h) => document.getElementById('latest-height').textContent === String(h), sent.block);
    await polled.waitForSelector(`#blocks-body .block-row[data-height="${sent.block}"]`);
  } finally {
    await polled.close();
  }
});

test('the pages raised no script errors and every request succeeded', () => {
  assert.deepEqual(browser.problems, []);
});
