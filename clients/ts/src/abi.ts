/**
 * Contract ABIs: the JSON `chainvm_getAbi` returns (`{contract, methods, types}`), and
 * JSON values encoded to borsh and decoded back along the ABI's Rust type strings, exactly
 * as `runtime/src/abi` does.
 *
 * JSON mapping: integers up to 32 bits are numbers; 64-bit integers are numbers when they
 * are safe JavaScript integers and decimal strings otherwise; 128-bit integers are decimal
 * strings (encoding also takes numbers, bigints and decimal strings for any width).
 * `Address` and byte strings (`Vec<u8>`, `[u8; N]`) are `0x` hex; `Option` is `null` or the
 * value; structs are objects (tuple structs arrays, newtypes the bare value); enums are
 * `"Variant"` or `{"Variant": fields}`.
 */

import { BorshReader, bytesOf, type BytesLike, EncodingError, fromHex, toHex, utf8Bytes, utf8String } from "./encoding.js";

/** A named, typed field or argument. */
export interface AbiField {
  name: string;
  type: string;
}
/** One contract method. */
export interface AbiMethod {
  name: string;
  kind: "init" | "view" | "call";
  args: AbiField[];
  returns: string | null;
  error: string | null;
}
/** A struct, event or enum the contract declares. */
export type AbiTypeDef =
  | { kind: "struct"; name: string; fields: AbiField[] }
  | { kind: "event"; name: string; fields: AbiField[] }
  | { kind: "enum"; name: string; variants: { name: string; fields: AbiField[] }[] };
/** A contract's ABI as JSON (Rust `ContractAbi`). */
export interface ContractAbiJson {
  contract: string;
  methods: AbiMethod[];
  types: Record<string, AbiTypeDef>;
}

/** A JSON value (what arguments are given as and results decode to). Encoding also takes
 * bigints and `Uint8Array`s where integers and bytes go. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Why an ABI operation failed: `kind` says what, `path` where in the value. */
export class AbiError extends Error {
  override name = "AbiError";
  constructor(
    readonly kind:
      | "unknown_method"
      | "missing_argument"
      | "unexpected_argument"
      | "wrong_type"
      | "bad_json"
      | "unknown_type"
      | "malformed"
      | "decode"
      | "mismatch",
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

/** A parsed type expression. */
export type Ty =
  | { t: "bool" }
  | { t: "uint"; bits: number }
  | { t: "int"; bits: number }
  | { t: "string" }
  | { t: "address" }
  | { t: "vec"; of: Ty }
  | { t: "option"; of: Ty }
  | { t: "array"; of: Ty; len: number }
  | { t: "tuple"; items: Ty[] }
  | { t: "named"; name: string };

/** Deepest type nesting parsed or walked (the Rust side's limit is lower). */
const MAX_DEPTH = 64;
/** Longest fixed array accepted (the Rust `MAX_ARRAY_LEN`). */
const MAX_ARRAY_LEN = 65536;

function tokenize(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (const c of s) {
    if (/[\p{L}\p{N}_:]/u.test(c)) {
      cur += c;
      continue;
    }
    if (cur) out.push(cur), (cur = "");
    if (!/\s/.test(c)) out.push(c);
  }
  if (cur) out.push(cur);
  return out;
}

/** Parses a Rust type string (`Vec<Option<u64>>`, `(Address, u64)`, `[u8; 32]`, `Deal`). */
export function parseType(src: string): Ty {
  const toks = tokenize(src);
  let pos = 0;
  const bad = () => new AbiError("malformed", `cannot parse type \`${src}\``);
  const expect = (w: string) => {
    if (toks[pos] !== w) throw bad();
    pos++;
  };
  const ty = (depth: number): Ty => {
    if (depth > MAX_DEPTH) throw new AbiError("malformed", `type \`${src}\` nests too deep`);
    const tok = toks[pos++];
    if (tok === undefined) throw bad();
    if (tok === "(") {
      const items: Ty[] = [];
      while (toks[pos] !== ")") {
        if (pos >= toks.length) throw bad();
        items.push(ty(depth + 1));
        if (toks[pos] === ",") pos++;
      }
      pos++;
      return { t: "tuple", items };
    }
    if (tok === "[") {
      const of = ty(depth + 1);
      expect(";");
      const n = toks[pos];
      if (n === undefined || !/^[0-9]+$/.test(n)) throw bad();
      const len = Number(n);
      if (len > MAX_ARRAY_LEN) throw new AbiError("malformed", `array too long in \`${src}\``);
      pos++;
      expect("]");
      return { t: "array", of, len };
    }
    if (/^[\p{L}\p{N}_]/u.test(tok)) {
      const name = tok.split("::").pop() ?? tok;
      const ints: Record<string, Ty> = {
        u8: { t: "uint", bits: 8 },
        u16: { t: "uint", bits: 16 },
        u32: { t: "uint", bits: 32 },
        u64: { t: "uint", bits: 64 },
        u128: { t: "uint", bits: 128 },
        i8: { t: "int", bits: 8 },
        i16: { t: "int", bits: 16 },
        i32: { t: "int", bits: 32 },
        i64: { t: "int", bits: 64 },
        i128: { t: "int", bits: 128 },
      };
      const int = ints[name];
      if (int) return int;
      if (name === "bool") return { t: "bool" };
      if (name === "String") return { t: "string" };
      if (name === "Address") return { t: "address" };
      if (name === "Vec" || name === "Option") {
        expect("<");
        const of = ty(depth + 1);
        expect(">");
        return name === "Vec" ? { t: "vec", of } : { t: "option", of };
      }
      return { t: "named", name };
    }
    throw bad();
  };
  const t = ty(1);
  if (pos !== toks.length) throw new AbiError("malformed", `trailing tokens in type \`${src}\``);
  return t;
}

const isU8 = (t: Ty) => t.t === "uint" && t.bits === 8;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const tupleLike = (fields: AbiField[]) => fields[0]?.name === "0";

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "bytes";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${typeof v === "string" ? JSON.stringify(v) : String(v)}`;
}

/** A decoded integer in the JSON mapping above. */
function intJson(n: bigint, bits: number): Json {
  if (bits <= 32) return Number(n);
  if (bits <= 64 && n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(n);
  return n.toString();
}

/** A contract ABI with its types parsed once, ready to encode and decode. */
export class ContractAbi {
  /** The ABI JSON it was made from. */
  readonly json: ContractAbiJson;
  private readonly parsed = new Map<string, Ty>();

  constructor(json: ContractAbiJson) {
    if (!json || typeof json !== "object" || !Array.isArray(json.methods) || !json.types || typeof json.types !== "object") {
      throw new AbiError("malformed", "not a contract ABI: expected {contract, methods, types}");
    }
    this.json = json;
  }

  /** The contract type's name. */
  get name(): string {
    return this.json.contract;
  }

  /** Its methods. */
  get methods(): AbiMethod[] {
    return this.json.methods;
  }

  /** The method called `name`. */
  method(name: string): AbiMethod {
    const m = this.json.methods.find((x) => x.name === name);
    if (!m) {
      throw new AbiError(
        "unknown_method",
        `unknown method \`${name}\`; the contract's methods are: ${this.json.methods.map((x) => x.name).join(", ")}`,
      );
    }
    return m;
  }

  /** Names of the events the contract declares. */
  events(): string[] {
    return Object.values(this.json.types)
      .filter((t) => t.kind === "event")
      .map((t) => t.name);
  }

  /** The parsed form of type string `s` (parsed once per ABI). */
  type(s: string): Ty {
    let t = this.parsed.get(s);
    if (!t) {
      t = parseType(s);
      this.parsed.set(s, t);
    }
    return t;
  }

  private def(name: string): AbiTypeDef {
    const d = Object.prototype.hasOwnProperty.call(this.json.types, name) ? this.json.types[name] : undefined;
    if (!d) throw new AbiError("unknown_type", `type \`${name}\` is not defined in the contract ABI`);
    return d;
  }

  private describe(t: Ty): string {
    switch (t.t) {
      case "bool":
        return "a boolean";
      case "uint":
        return t.bits > 64 ? `u${t.bits} (a number or decimal string)` : `u${t.bits} (a non-negative integer that fits)`;
      case "int":
        return `i${t.bits}`;
      case "string":
        return "a string";
      case "address":
        return "an address (0x + 40 hex digits)";
      case "vec":
        return isU8(t.of) ? "bytes (0x hex)" : `an array of ${this.describe(t.of)}`;
      case "option":
        return `null or ${this.describe(t.of)}`;
      case "array":
        return `${t.len} x ${this.describe(t.of)}`;
      case "tuple":
        return `a ${t.items.length}-element array`;
      case "named":
        return `a ${t.name}`;
    }
  }

  /** The borsh encoding of one JSON value of type `type` (a Rust type string). */
  encodeValue(type: string, value: unknown): Uint8Array {
    const out: number[] = [];
    this.enc(this.type(type), value, "value", out, 0);
    return Uint8Array.from(out);
  }

  /** Decodes all of `data` as one value of type `type`. */
  decodeValue(type: string, data: BytesLike, what = `a ${type}`): Json {
    const r = new BorshReader(bytesOf(data));
    try {
      const v = this.dec(this.type(type), r, 0);
      r.end();
      return v;
    } catch (e) {
      if (e instanceof AbiError && e.kind !== "decode") throw e;
      throw new AbiError("decode", `cannot decode ${what} as ${type}: ${(e as Error).message}`);
    }
  }

  /** Encodes a method's arguments: an object by name, an array in order, or null/undefined
   * for none; `Option` arguments may be left out. */
  encodeArgs(method: string, args?: unknown): Uint8Array {
    const m = this.method(method);
    const sig = `(${m.args.map((a) => `${a.name}: ${a.type}`).join(", ")})`;
    const optional = (i: number) => this.type(m.args[i]!.type).t === "option";
    const missing = (i: number) =>
      new AbiError("missing_argument", `missing argument \`${m.args[i]!.name}\` of \`${m.name}\` (expects ${sig})`);
    let values: unknown[];
    if (args === null || args === undefined) values = [];
    else if (Array.isArray(args)) values = args;
    else if (isObject(args)) {
      const extra = Object.keys(args).find((k) => !m.args.some((a) => a.name === k));
      if (extra !== undefined) {
        throw new AbiError("unexpected_argument", `\`${m.name}\` has no argument \`${extra}\` (expects ${sig})`);
      }
      values = m.args.map((a, i) => {
        if (Object.prototype.hasOwnProperty.call(args, a.name) && args[a.name] !== undefined) return args[a.name];
        if (optional(i)) return null;
        throw missing(i);
      });
    } else {
      throw new AbiError("bad_json", `arguments must be a JSON object or array: ${kindOf(args)}`);
    }
    if (values.length > m.args.length) {
      throw new AbiError("unexpected_argument", `\`${m.name}\` has no argument \`#${m.args.length + 1}\` (expects ${sig})`);
    }
    const out: number[] = [];
    m.args.forEach((a, i) => {
      if (i >= values.length && !optional(i)) throw missing(i);
      this.enc(this.type(a.type), i < values.length ? values[i] : null, a.name, out, 0);
    });
    return Uint8Array.from(out);
  }

  /** Decodes a method's return value (`null` when it returns nothing). */
  decodeReturn(method: string, data: BytesLike): Json {
    const m = this.method(method);
    return m.returns === null ? null : this.decodeValue(m.returns, data, `return value of \`${method}\``);
  }

  /** Decodes the typed error a failed `Result` method returned; `null` when it declares
   * none or returned none. */
  decodeError(method: string, data: BytesLike): Json {
    const m = this.method(method);
    const b = bytesOf(data);
    return m.error === null || b.length === 0 ? null : this.decodeValue(m.error, b, `error of \`${method}\``);
  }

  /** Decodes an event by its topic; `null` if the topic is not one of the ABI's events. */
  decodeEvent(topic: BytesLike | string, data: BytesLike): { name: string; data: Json } | null {
    let name: string;
    if (typeof topic === "string" && !topic.startsWith("0x")) name = topic;
    else {
      try {
        name = utf8String(bytesOf(topic));
      } catch {
        return null;
      }
    }
    const d = Object.prototype.hasOwnProperty.call(this.json.types, name) ? this.json.types[name] : undefined;
    if (!d || d.kind !== "event") return null;
    return { name, data: this.decodeValue(name, data, `event ${name}`) };
  }

  private wrong(t: Ty, v: unknown, path: string, expected?: string): AbiError {
    return new AbiError("wrong_type", `\`${path}\`: expected ${expected ?? this.describe(t)}, got ${kindOf(v)}`, path);
  }

  private integer(t: Ty & { bits: number }, v: unknown, path: string): bigint {
    const signed = t.t === "int";
    let n: bigint | undefined;
    if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
    else if (typeof v === "bigint") n = v;
    else if (typeof v === "string" && (signed ? /^[+-]?[0-9]+$/ : /^\+?[0-9]+$/).test(v)) n = BigInt(v);
    const bits = BigInt(t.bits);
    const ok =
      n !== undefined && (signed ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n) : n >= 0n && n < 1n << bits);
    if (!ok || n === undefined) throw this.wrong(t, v, path);
    return n;
  }

  private hexBytes(t: Ty, v: unknown, path: string, len?: number): Uint8Array {
    if (v instanceof Uint8Array && (len === undefined || v.length === len)) return v;
    if (typeof v === "string") {
      try {
        const b = fromHex(v);
        if (len === undefined || b.length === len) return b;
      } catch {
        // falls through to the type error
      }
    }
    throw this.wrong(t, v, path);
  }

  private enc(t: Ty, v: unknown, path: string, out: number[], depth: number): void {
    if (depth > MAX_DEPTH) throw new AbiError("malformed", `\`${path}\`: types nest too deep (a recursive type?)`);
    const push = (b: Uint8Array) => {
      for (const x of b) out.push(x);
    };
    const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    switch (t.t) {
      case "bool":
        if (typeof v !== "boolean") throw this.wrong(t, v, path);
        out.push(v ? 1 : 0);
        return;
      case "uint":
      case "int": {
        let n = this.integer(t, v, path);
        if (n < 0n) n += 1n << BigInt(t.bits);
        for (let i = 0; i < t.bits / 8; i++, n >>= 8n) out.push(Number(n & 0xffn));
        return;
      }
      case "string": {
        if (typeof v !== "string") throw this.wrong(t, v, path);
        const b = utf8Bytes(v);
        u32(b.length);
        push(b);
        return;
      }
      case "address":
        if (typeof v !== "string") throw this.wrong(t, v, path);
        push(this.hexBytes(t, v, path, 20));
        return;
      case "vec":
        if (isU8(t.of) && (typeof v === "string" || v instanceof Uint8Array)) {
          const b = this.hexBytes(t, v, path);
          u32(b.length);
          push(b);
          return;
        }
        if (!Array.isArray(v)) throw this.wrong(t, v, path);
        u32(v.length);
        v.forEach((x, i) => this.enc(t.of, x, `${path}[${i}]`, out, depth + 1));
        return;
      case "array":
        if (isU8(t.of) && (typeof v === "string" || v instanceof Uint8Array)) {
          push(this.hexBytes(t, v, path, t.len));
          return;
        }
        if (!Array.isArray(v) || v.length !== t.len) throw this.wrong(t, v, path);
        v.forEach((x, i) => this.enc(t.of, x, `${path}[${i}]`, out, depth + 1));
        return;
      case "option":
        if (v === null || v === undefined) out.push(0);
        else {
          out.push(1);
          this.enc(t.of, v, path, out, depth + 1);
        }
        return;
      case "tuple":
        if (!Array.isArray(v) || v.length !== t.items.length) throw this.wrong(t, v, path);
        t.items.forEach((it, i) => this.enc(it, v[i], `${path}.${i}`, out, depth + 1));
        return;
      case "named": {
        const d = this.def(t.name);
        if (d.kind !== "enum") {
          this.encFields(d.fields, v, path, t, out, depth);
          return;
        }
        let vname: string;
        let inner: unknown = null;
        if (typeof v === "string") vname = v;
        else if (isObject(v) && Object.keys(v).length === 1) {
          vname = Object.keys(v)[0]!;
          inner = v[vname];
        } else throw this.wrong(t, v, path);
        const idx = d.variants.findIndex((x) => x.name === vname);
        if (idx < 0) {
          throw this.wrong(t, v, path, `one of ${d.variants.map((x) => x.name).join(", ")}`);
        }
        out.push(idx);
        const fields = d.variants[idx]!.fields;
        if (fields.length > 0) this.encFields(fields, inner, `${path}.${vname}`, t, out, depth);
        return;
      }
    }
  }

  private encFields(fields: AbiField[], v: unknown, path: string, t: Ty, out: number[], depth: number): void {
    const tuple = tupleLike(fields);
    if (isObject(v) && !tuple) {
      const extra = Object.keys(v).find((k) => !fields.some((f) => f.name === k));
      if (extra !== undefined) {
        throw new AbiError("wrong_type", `\`${path}.${extra}\`: expected no such field, got ${kindOf(v[extra])}`, `${path}.${extra}`);
      }
      for (const f of fields) {
        const x = v[f.name] ?? null;
        const ft = this.type(f.type);
        if (x === null && ft.t !== "option") {
          throw new AbiError("wrong_type", `\`${path}.${f.name}\`: expected ${this.describe(ft)}, got nothing`, `${path}.${f.name}`);
        }
        this.enc(ft, x, `${path}.${f.name}`, out, depth + 1);
      }
      return;
    }
    if (Array.isArray(v) && v.length === fields.length) {
      fields.forEach((f, i) => this.enc(this.type(f.type), v[i], `${path}.${f.name}`, out, depth + 1));
      return;
    }
    if (tuple && fields.length === 1) {
      this.enc(this.type(fields[0]!.type), v, path, out, depth + 1);
      return;
    }
    throw this.wrong(t, v, path);
  }

  private dec(t: Ty, r: BorshReader, depth: number): Json {
    if (depth > MAX_DEPTH) throw new EncodingError("types nest too deep (a recursive type?)");
    switch (t.t) {
      case "bool":
        return r.bool();
      case "uint":
        return intJson(r.uint(t.bits), t.bits);
      case "int":
        return intJson(r.int(t.bits), t.bits);
      case "string":
        return r.string();
      case "address":
        return toHex(r.take(20));
      case "vec": {
        const n = r.u32();
        if (isU8(t.of)) return toHex(r.take(n));
        // Every element takes at least one byte unless it is empty (`()`, `[T; 0]`): refuse
        // a length prefix the data cannot hold before decoding any element.
        if (n > r.remaining && !this.mayBeEmpty(t.of, 0)) {
          throw new EncodingError(`length prefix ${n} needs more than the ${r.remaining} bytes left`);
        }
        if (n > 1 << 20) throw new EncodingError(`length prefix ${n} is too large`);
        const a: Json[] = [];
        for (let i = 0; i < n; i++) a.push(this.dec(t.of, r, depth + 1));
        return a;
      }
      case "array": {
        if (isU8(t.of)) return toHex(r.take(t.len));
        const a: Json[] = [];
        for (let i = 0; i < t.len; i++) a.push(this.dec(t.of, r, depth + 1));
        return a;
      }
      case "option":
        return r.option() ? this.dec(t.of, r, depth + 1) : null;
      case "tuple":
        return t.items.map((it) => this.dec(it, r, depth + 1));
      case "named": {
        const d = this.def(t.name);
        if (d.kind !== "enum") return this.decFields(d.fields, r, depth);
        const idx = r.u8();
        const variant = d.variants[idx];
        if (!variant) throw new EncodingError(`invalid variant ${idx} of ${d.name}`);
        if (variant.fields.length === 0) return variant.name;
        return { [variant.name]: this.decFields(variant.fields, r, depth) };
      }
    }
  }

  private mayBeEmpty(t: Ty, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    switch (t.t) {
      case "tuple":
        return t.items.every((i) => this.mayBeEmpty(i, depth + 1));
      case "array":
        return t.len === 0 || this.mayBeEmpty(t.of, depth + 1);
      case "named": {
        const d = this.json.types[t.name];
        return d !== undefined && d.kind !== "enum" && d.fields.every((f) => this.mayBeEmpty(this.type(f.type), depth + 1));
      }
      default:
        return false;
    }
  }

  private decFields(fields: AbiField[], r: BorshReader, depth: number): Json {
    const tuple = tupleLike(fields);
    if (tuple && fields.length === 1) return this.dec(this.type(fields[0]!.type), r, depth + 1);
    if (tuple) return fields.map((f) => this.dec(this.type(f.type), r, depth + 1));
    const o: { [k: string]: Json } = {};
    for (const f of fields) o[f.name] = this.dec(this.type(f.type), r, depth + 1);
    return o;
  }
}
