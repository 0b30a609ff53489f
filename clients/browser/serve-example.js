// Serves examples/escrow-web with the TypeScript client for opening by hand:
//   node serve-example.js http://127.0.0.1:8545 [ESCROW_ADDRESS]
// (clients/ts built first: `npm ci && npm run build` there). The page talks to the node
// cross-origin; the node admits loopback pages by default (`chainvm node --cors`).

import { join } from 'node:path';
import { REPO } from './lib/node.js';
import { serveStatic } from './lib/static.js';

const [nodeUrl = 'http://127.0.0.1:8545', escrow = ''] = process.argv.slice(2);
const ts = process.env.CHAINVM_TS_DIR || join(REPO, 'clients/ts');
const site = await serveStatic({
  '/': join(REPO, 'examples/escrow-web'),
  '/clients/ts/dist/': join(ts, 'dist'),
  '/node_modules/@noble/': join(ts, 'node_modules/@noble'),
});
const query = new URLSearchParams({ node: nodeUrl, ...(escrow ? { escrow } : {}) });
console.log(`escrow-web: ${site.url}/?${query}`);
