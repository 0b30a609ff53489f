// Building the page: every node is made with `h()`, never from HTML strings, so
// contract-controlled text (event data, method names) cannot inject markup; `render()` swaps
// the main area, `card`/`facts`/`errorCard` are the page's building blocks.

/** An element: `h('a', {href, class}, child, …)`; strings become text nodes. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const app = () => document.getElementById('app');

/** Replaces the main area's content with `nodes`. */
export function render(...nodes) {
  app().replaceChildren(...nodes);
}

/** A titled section of a page. */
export function card(title, ...body) {
  return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...body);
}

/** A two-column table of label/value rows (rows whose value is undefined are left out). */
export function facts(rows, id) {
  return h('table', { class: 'facts', id },
    rows.filter((r) => r && r[1] !== undefined).map(([k, v, key]) =>
      h('tr', { 'data-key': key || k.toLowerCase().replace(/\W+/g, '-') }, h('th', {}, k), h('td', {}, v))));
}

/** The card a page shows instead of itself when what it names cannot be had. */
export function errorCard(message) {
  return h('section', { class: 'card error-card', id: 'error' }, h('h2', {}, 'Not found'), h('p', {}, message));
}
