// A small static file server for the pages under test: URL prefixes mapped to directories,
// and optionally JSON-RPC (POST /) and WebSocket upgrades passed through to a node so a page
// served here can use its own origin as the node's.

import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** The file `urlPath` names under one of `mounts` (`{prefix: dir}`, longest prefix first). */
function resolveFile(mounts, urlPath) {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  for (const prefix of prefixes) {
    if (!urlPath.startsWith(prefix)) continue;
    const root = normalize(mounts[prefix]);
    let rest = decodeURIComponent(urlPath.slice(prefix.length));
    if (rest === '' || rest.endsWith('/')) rest += 'index.html';
    const file = normalize(join(root, rest));
    if (file !== root && !file.startsWith(root + sep)) return null; // no `..` out of the mount
    return file;
  }
  return null;
}

/**
 * Serves `mounts` on a free loopback port; with `node` (`http://127.0.0.1:PORT`) POST / and
 * WebSocket upgrades go to that node. Resolves to `{url, close}`.
 */
export function serveStatic(mounts, { node } = {}) {
  const target = node ? new URL(node) : null;
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (req.method === 'POST' && target) {
      const up = request(
        { host: target.hostname, port: target.port, path: '/', method: 'POST', headers: { 'content-type': 'application/json' } },
        (r) => {
          res.writeHead(r.statusCode, { 'content-type': r.headers['content-type'] || 'application/json' });
          r.pipe(res);
        },
      );
      up.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      req.pipe(up);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const file = resolveFile(mounts, path);
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error('not a file');
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
    }
  });
  if (target) {
    // A WebSocket upgrade is passed on as raw bytes: the request head, then both directions.
    server.on('upgrade', (req, socket, head) => {
      const up = connect(Number(target.port), target.hostname, () => {
        const lines = [`${req.method} / HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          const [k, v] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
          // The node sees a request from no page at all, as the CLI's would be.
          if (/^(host|origin)$/i.test(k)) continue;
          lines.push(`${k}: ${v}`);
        }
        lines.push(`Host: ${target.host}`);
        up.write(lines.join('\r\n') + '\r\n\r\n');
        if (head && head.length) up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      const end = () => {
        up.destroy();
        socket.destroy();
      };
      up.on('error', end);
      socket.on('error', end);
    });
  }
  return new Promise((ok) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      ok({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => {
          server.closeAllConnections?.();
          server.close(() => done());
        }),
      });
    });
  });
}
