// The contract page: from its embedded ABI, the methods with their signatures, a form per view
// method run with `chainvm_view` `json_args`, and the types and events it declares.

import { rpc } from './rpc.js';
import { h, render, card, facts, errorCard } from './dom.js';
import { mono, accountLink, fmtInt, jsonView, inFieldOrder, structFields } from './format.js';

/** A form for one view method: an input per argument, run with `json_args`. */
function viewForm(addr, abi, m) {
  const inputs = m.args.map((a) => h('label', { class: 'arg' },
    h('span', {}, a.name, ' ', h('span', { class: 'type' }, a.type)),
    h('input', { name: a.name, 'data-type': a.type, placeholder: placeholderFor(a.type) })));
  const out = h('div', { class: 'view-result', 'data-method': m.name });
  const form = h('form', { class: 'view-form', 'data-method': m.name }, inputs,
    h('button', { type: 'submit' }, 'Run view'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const args = {};
    for (const a of m.args) args[a.name] = parseArg(form.elements[a.name].value, a.type);
    out.replaceChildren(h('span', { class: 'muted' }, 'running…'));
    try {
      const res = await rpc('chainvm_view', { contract: addr, method: m.name, json_args: args });
      const used = res.gas && typeof res.gas === 'object' ? res.gas.total : res.gas;
      const gas = h('span', { class: 'muted' }, ` (${fmtInt(used)} gas)`);
      if (res.error_value !== undefined && res.error_value !== null) {
        out.replaceChildren(h('span', { class: 'view-error' }, 'error: ', jsonView(res.error_value)), gas);
      } else if (res.error) {
        out.replaceChildren(h('span', { class: 'view-error' }, res.error.message || JSON.stringify(res.error)), gas);
      } else {
        const value = 'value' in res ? jsonView(inFieldOrder(res.value, structFields(abi, m.returns))) : mono(res.return || 'null');
        out.replaceChildren(h('span', { class: 'view-value' }, value), gas);
      }
    } catch (e) {
      out.replaceChildren(h('span', { class: 'view-error' }, e.message));
    }
  });
  return form;
}

/** What an argument input shows before anything is typed, by ABI type. */
function placeholderFor(type) {
  if (/^[ui](8|16|32|64|128)$/.test(type)) return '0';
  if (type === 'bool') return 'true';
  if (type === 'Address') return '0x…';
  return 'JSON';
}

/** An argument from its input: text types as typed, everything else as JSON when it parses. */
function parseArg(raw, type) {
  const s = raw.trim();
  if (type === 'String' || type === 'Address' || type === '&str') return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** A method as `name(arg: Type, …) → Returns`. */
function methodSig(m) {
  return h('span', { class: 'sig mono' },
    h('span', { class: 'method-name' }, m.name), '(',
    m.args.map((a, i) => [i ? ', ' : '', a.name, ': ', h('span', { class: 'type' }, a.type)]), ')',
    m.returns ? [' → ', h('span', { class: 'type' }, m.error ? `Result<${m.returns}, ${m.error}>` : m.returns)]
      : m.error ? [' → ', h('span', { class: 'type' }, `Result<(), ${m.error}>`)] : '');
}

/** An ABI type (struct, enum or event) with its fields or variants. */
function typeDef(name, t) {
  const body = t.kind === 'enum'
    ? h('ul', {}, (t.variants || []).map((v) => h('li', {}, mono(v.name),
      v.fields && v.fields.length ? [' { ', v.fields.map((f, i) => [i ? ', ' : '', f.name, ': ', h('span', { class: 'type' }, f.type)]), ' }'] : '')))
    : h('ul', {}, (t.fields || []).map((f) => h('li', {}, mono(f.name), ': ', h('span', { class: 'type' }, f.type))));
  return h('div', { class: `type-def kind-${t.kind}`, 'data-type': name }, h('h3', {}, h('span', { class: 'badge' }, t.kind), ' ', name), body);
}

/** Draws the page of the contract at `addr`. */
export async function contractPage(addr) {
  let abi, code;
  try {
    [abi, code] = await Promise.all([rpc('chainvm_getAbi', { contract: addr }), rpc('chainvm_getCode', { address: addr })]);
  } catch (e) {
    return render(errorCard(e.message));
  }
  const head = card('Contract', facts([
    ['Address', accountLink(addr, true)],
    ['Name', abi ? h('span', { id: 'contract-name' }, abi.contract) : h('span', { class: 'muted' }, 'unknown (no ABI)')],
    ['Code size', code ? `${fmtInt((code.length - 2) / 2)} bytes` : 'none'],
  ], 'contract-facts'));
  if (!abi) return render(h('h1', {}, 'Contract'), head, card('ABI', h('p', { class: 'muted', id: 'no-abi' }, 'This contract has no embedded ABI.')));
  const views = abi.methods.filter((m) => m.kind === 'view');
  render(
    h('h1', {}, 'Contract ', abi.contract),
    head,
    card('Methods', h('ul', { class: 'methods', id: 'methods' }, abi.methods.map((m) =>
      h('li', { class: `method method-${m.kind}`, 'data-method': m.name }, h('span', { class: `badge kind-${m.kind}` }, m.kind), ' ', methodSig(m))))),
    card('Views', views.length ? h('div', { class: 'views', id: 'views' }, views.map((m) =>
      h('div', { class: 'view' }, h('h3', {}, methodSig(m)), viewForm(addr, abi, m)))) : h('p', { class: 'muted' }, 'No view methods.')),
    card('Types and events', h('div', { class: 'types', id: 'types' }, Object.entries(abi.types || {}).map(([n, t]) => typeDef(n, t)))));
}
