/**
 * Statically typed contract bindings generated from an ABI (like Stellar's `contract
 * bindings typescript`): `generateBindings(abi)` writes a TypeScript module with a type for
 * every struct, enum and event, the union of the contract's events and its typed error, and
 * a class whose methods and views take and return those types. The types follow the JSON
 * mapping of `abi.ts` exactly (arguments as the encoder takes them, results as the decoder
 * gives them); the class delegates every call to the runtime [`ContractHandle`], so there
 * is one encoder.
 */

import { type AbiField, type AbiMethod, type AbiTypeDef, ContractAbi, type ContractAbiJson, type Ty } from "./abi.js";

/** A contract ABI as JSON (what `chainvm_getAbi` returns). */
export type AbiJson = ContractAbiJson;

/** Options of [`generateBindings`]. */
export interface BindingsOptions {
  /** The class's name (default: the contract's name + `Client`, e.g. `EscrowClient`). */
  className?: string;
  /** Where the module imports the client from (default `@chainvm/client`). */
  importFrom?: string;
}

/** The namespace the generated module imports the client as. */
const NS = "chainvm";

/** Words a generated type or class may not be called: TypeScript's reserved and
 * contextual words, its primitive type names, and the globals the module refers to. */
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for " +
    "function if import in instanceof new null return super switch this throw true try typeof var void while with " +
    "as implements interface let package private protected public static yield any boolean number string symbol " +
    "bigint object unknown never undefined type of keyof infer is asserts readonly declare abstract async await " +
    "constructor get set module namespace require global satisfies accessor out " +
    "Promise Uint8Array Record Omit Array ReadonlyArray Object Error String Number Boolean BigInt Symbol Function " +
    `Date Map Set JSON Math Partial Required Readonly ${NS}`
  ).split(" "),
);
/** Instance members of the generated class an ABI method may not shadow. */
const MEMBERS = new Set(["constructor", "handle", "address"]);

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `name` as a property key: bare when it is an identifier (reserved words are valid
 * property names), quoted otherwise (`"0"`, `"r#type"`). */
function key(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** Hands out unique, valid, unreserved identifiers. */
class Names {
  private readonly used = new Set<string>();
  take(want: string): string {
    let base = want.replace(/[^A-Za-z0-9_$]/g, "_");
    if (!base || /^[0-9]/.test(base)) base = `_${base}`;
    if (RESERVED.has(base)) base = `${base}_`;
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}${i}`;
    this.used.add(name);
    return name;
  }
}

/** Hands out the class's method names: valid identifiers (reserved words are valid method
 * names), unique, and none of the class's own members. */
class Members {
  private readonly used = new Set<string>(MEMBERS);
  take(want: string): string {
    let base = want.replace(/[^A-Za-z0-9_$]/g, "_");
    if (!base || /^[0-9]/.test(base)) base = `_${base}`;
    let name = base;
    while (this.used.has(name)) name = `${name}_`;
    this.used.add(name);
    return name;
  }
}

/** One line of doc comment text, safe inside `/** … *\/`. */
const doc = (s: string) => s.replace(/\*\//g, "*\\/");

const isTupleLike = (fields: AbiField[]) => fields[0]?.name === "0";
const isU8 = (t: Ty) => t.t === "uint" && t.bits === 8;
/** Fixed arrays up to this length become TypeScript tuples; longer ones arrays. */
const MAX_TUPLE = 8;
const wrap = (s: string) => (/[ |&]/.test(s) ? `(${s})` : s);

type Mode = "in" | "out";

/** The generator for one ABI. */
class Generator {
  private readonly names = new Names();
  private readonly typeName = new Map<string, string>();
  private readonly inputName = new Map<string, string>();
  /** Per type: whether its argument form differs from its decoded form (null: deciding). */
  private readonly differs = new Map<string, boolean | null>();
  private readonly reachable = new Set<string>();
  /** Checks the ABI's shape and parses each type string once. */
  private readonly parsedAbi: ContractAbi;
  private readonly abi: ContractAbiJson;

  constructor(
    abi: ContractAbiJson,
    private readonly opts: BindingsOptions,
  ) {
    this.parsedAbi = new ContractAbi(abi);
    this.abi = this.parsedAbi.json;
  }

  private ty(s: string): Ty {
    return this.parsedAbi.type(s);
  }

  private def(name: string): AbiTypeDef | undefined {
    return Object.prototype.hasOwnProperty.call(this.abi.types, name) ? this.abi.types[name] : undefined;
  }

  private fieldsOf(d: AbiTypeDef): AbiField[][] {
    return d.kind === "enum" ? d.variants.map((v) => v.fields) : [d.fields];
  }

  /** Marks the named types `t` reaches as used in arguments. */
  private reach(t: Ty): void {
    switch (t.t) {
      case "vec":
      case "option":
      case "array":
        return this.reach(t.of);
      case "tuple":
        return t.items.forEach((i) => this.reach(i));
      case "named": {
        const d = this.def(t.name);
        if (!d || this.reachable.has(t.name)) return;
        this.reachable.add(t.name);
        for (const fs of this.fieldsOf(d)) for (const f of fs) this.reach(this.ty(f.type));
        return;
      }
      default:
        return;
    }
  }

  /** The TypeScript type of `t` as an argument (`in`) or as decoded (`out`). */
  private render(t: Ty, mode: Mode): string {
    const n = NS;
    switch (t.t) {
      case "bool":
        return "boolean";
      case "uint":
      case "int":
        if (mode === "in") return `${n}.IntArg`;
        return t.bits <= 32 ? "number" : t.bits <= 64 ? `${n}.Int64` : `${n}.Int128`;
      case "string":
      case "address":
        return "string";
      case "vec":
        if (isU8(t.of)) return mode === "in" ? `${n}.BytesArg` : "string";
        return `${mode === "in" ? "readonly " : ""}${wrap(this.render(t.of, mode))}[]`;
      case "array": {
        if (isU8(t.of)) return mode === "in" ? `${n}.BytesArg` : "string";
        const item = this.render(t.of, mode);
        const ro = mode === "in" ? "readonly " : "";
        if (t.len <= MAX_TUPLE) return `${ro}[${Array.from({ length: t.len }, () => item).join(", ")}]`;
        return `${ro}${wrap(item)}[]`;
      }
      case "option": {
        const inner = this.render(t.of, mode);
        return inner.endsWith("| null") ? inner : `${inner} | null`;
      }
      case "tuple":
        return `${mode === "in" ? "readonly " : ""}[${t.items.map((i) => this.render(i, mode)).join(", ")}]`;
      case "named": {
        if (!this.def(t.name)) return mode === "in" ? "unknown" : `${n}.Json`;
        return mode === "in" && this.inputDiffers(t.name) ? this.inputName.get(t.name)! : this.typeName.get(t.name)!;
      }
    }
  }

  /** A field list as a type: the bare value (newtype), a tuple, or an object. */
  private fields(fields: AbiField[], mode: Mode, indent: string): string {
    if (fields.length === 0) return "Record<string, never>";
    if (isTupleLike(fields)) {
      const items = fields.map((f) => this.render(this.ty(f.type), mode));
      if (fields.length === 1) return items[0]!;
      return `${mode === "in" ? "readonly " : ""}[${items.join(", ")}]`;
    }
    const lines = fields.map((f) => {
      const t = this.ty(f.type);
      const opt = mode === "in" && t.t === "option" ? "?" : "";
      return `${indent}  /** \`${doc(f.type)}\` */\n${indent}  ${key(f.name)}${opt}: ${this.render(t, mode)};`;
    });
    return `{\n${lines.join("\n")}\n${indent}}`;
  }

  /** The body of type `name`'s declaration (after `=`). */
  private body(d: AbiTypeDef, mode: Mode): string {
    if (d.kind !== "enum") return this.fields(d.fields, mode, "");
    if (d.variants.length === 0) return "never";
    return d.variants
      .map((v) =>
        v.fields.length === 0 ? `\n  | ${JSON.stringify(v.name)}` : `\n  | { ${key(v.name)}: ${this.fields(v.fields, mode, "    ")} }`,
      )
      .join("");
  }

  /** Whether type `name` takes a different form as an argument than decoded. */
  private inputDiffers(name: string): boolean {
    const known = this.differs.get(name);
    if (known !== undefined) return known ?? true; // a cycle: give it its own input type
    const d = this.def(name);
    if (!d || !this.reachable.has(name)) return false;
    this.differs.set(name, null);
    const result = this.body(d, "in") !== this.body(d, "out");
    this.differs.set(name, result);
    return result;
  }

  private declaration(name: string, d: AbiTypeDef, mode: Mode): string {
    const id = mode === "in" ? this.inputName.get(name)! : this.typeName.get(name)!;
    const what =
      mode === "in"
        ? `\`${name}\` as an argument`
        : `${d.kind === "enum" ? "The enum" : d.kind === "event" ? "The data of event" : "The struct"} \`${name}\`${d.kind === "enum" ? " (unit variants are strings, others `{Variant: fields}`)" : ""}`;
    const body = this.body(d, mode);
    const decl =
      d.kind !== "enum" && body.startsWith("{\n") ? `export interface ${id} ${body}` : `export type ${id} =${body.startsWith("\n") ? "" : " "}${body};`;
    return `/** ${doc(what)}. */\n${decl}\n`;
  }

  private signature(m: AbiMethod): string {
    const args = m.args.map((a) => `${a.name}: ${a.type}`).join(", ");
    const ret = m.returns ?? "()";
    return `${m.name}(${args}) -> ${m.error ? `Result<${ret}, ${m.error}>` : ret}`;
  }

  /** `args: {…}` of a method, or null when it takes none. */
  private argsParam(m: AbiMethod): string | null {
    if (m.args.length === 0) return null;
    const optional = m.args.every((a) => this.ty(a.type).t === "option");
    const fields = m.args.map((a) => {
      const t = this.ty(a.type);
      return `${key(a.name)}${t.t === "option" ? "?" : ""}: ${this.render(t, "in")}`;
    });
    return `args${optional ? "?" : ""}: { ${fields.join("; ")} }`;
  }

  generate(): string {
    const abi = this.abi;
    const defs = Object.entries(abi.types);
    // Every type string parses (a malformed ABI fails here, not in the generated code).
    for (const m of abi.methods) {
      for (const a of m.args) this.ty(a.type);
      if (m.returns) this.ty(m.returns);
      if (m.error) this.ty(m.error);
    }
    for (const [, d] of defs) for (const fs of this.fieldsOf(d)) for (const f of fs) this.ty(f.type);

    for (const [name] of defs) this.typeName.set(name, this.names.take(name));
    const contract = abi.contract || "Contract";
    const cls = this.names.take(this.opts.className ?? `${contract}Client`);
    const eventUnion = this.names.take(`${contract}Event`);
    const eventRecord = this.names.take(`${contract}EventRecord`);
    const callResult = this.names.take(`${contract}CallResult`);
    const errorType = this.names.take(`${contract}ContractError`);
    for (const m of abi.methods) for (const a of m.args) this.reach(this.ty(a.type));
    for (const [name] of defs) if (this.reachable.has(name)) this.inputName.set(name, this.names.take(`${name}Input`));

    const out: string[] = [];
    out.push(
      `// Generated by chainvm-bindings from the ABI of contract ${contract}: do not edit.`,
      `// Regenerate: chainvm-bindings --abi FILE.json (or --node URL --contract 0x…).`,
      `/* eslint-disable */`,
      `import * as ${NS} from ${JSON.stringify(this.opts.importFrom ?? "@chainvm/client")};`,
      "",
    );
    for (const [name, d] of defs) {
      out.push(this.declaration(name, d, "out"));
      if (this.reachable.has(name) && this.inputDiffers(name)) out.push(this.declaration(name, d, "in"));
    }

    const events = defs.filter(([, d]) => d.kind === "event");
    out.push(
      `/** An event of ${contract}: its name and typed data. */`,
      `export type ${eventUnion} =${events.length === 0 ? " never" : events.map(([n]) => `\n  | { name: ${JSON.stringify(n)}; data: ${this.typeName.get(n)} }`).join("")};`,
      `/** An event of ${contract} as the client decodes it (contract, topic, block, …). */`,
      `export type ${eventRecord} = Omit<${NS}.DecodedEvent, "name" | "data"> & ${eventUnion};`,
      `/** A call's result: the typed return value, every event, and ${contract}'s own events typed. */`,
      `export type ${callResult}<T> = ${NS}.BoundCallResult<T, ${eventRecord}>;`,
      "",
    );

    const errors = [...new Set(abi.methods.flatMap((m) => (m.error ? [this.render(this.ty(m.error), "out")] : [])))];
    out.push(
      `/** The typed error a method of ${contract} failed with: a ContractError whose value is ${errors.length ? errors.join(" or ") : "never (no method declares one)"}. */`,
      `export type ${errorType} = ${NS}.TypedContractError<${errors.length ? errors.join(" | ") : "never"}>;`,
      "",
    );

    const members = new Members();
    const init = abi.methods.find((m) => m.kind === "init");
    const body: string[] = [];
    body.push(
      `  /** The ABI these bindings were generated from. */`,
      `  static readonly abi: ${NS}.ContractAbiJson = ${JSON.stringify(abi, null, 2).replace(/\n/g, "\n  ")};`,
      "",
      `  /** Wraps a handle (prefer \`${cls}.at\`, which checks the contract's ABI). */`,
      `  constructor(readonly handle: ${NS}.ContractHandle) {}`,
      "",
      `  /** The contract's address. */`,
      `  get address(): string {`,
      `    return this.handle.address;`,
      `  }`,
      "",
      `  /** The ${contract} at \`address\`; throws an AbiError (\`mismatch\`) if its ABI is not the one these bindings were generated from. */`,
      `  static async at(client: ${NS}.Client, address: string): Promise<${cls}> {`,
      `    return new ${cls}(await ${NS}.bindContract(client, address, ${cls}.abi));`,
      `  }`,
      "",
    );
    {
      const p = init ? this.argsParam(init) : null;
      const required = p !== null && !p.startsWith("args?");
      const optsType = p ? `${NS}.TxOptions & { ${p} }` : `${NS}.TxOptions`;
      body.push(
        `  /** Deploys \`code\` (the contract's wasm)${init ? ` with \`${doc(this.signature(init))}\`` : ""} and binds it. */`,
        `  static async deploy(client: ${NS}.Client, code: ${NS}.BytesLike, opts${required ? "" : "?"}: ${optsType}): Promise<${cls}> {`,
        init && init.args.length > 0
          ? `    const { address } = await client.deploy(code, { ...opts, args: opts?.args ?? {}, abi: ${cls}.abi });`
          : `    const { address } = await client.deploy(code, { ...opts });`,
        `    return ${cls}.at(client, address);`,
        `  }`,
        "",
        `  /** Whether \`e\` is a typed error of one of ${contract}'s methods. */`,
        `  static isError(e: unknown): e is ${errorType} {`,
        `    return ${NS}.isContractErrorOf(e, ${cls}.abi);`,
        `  }`,
      );
    }
    for (const m of abi.methods) {
      if (m.kind === "init") continue;
      const name = members.take(m.name);
      const p = this.argsParam(m);
      const ret = m.returns === null ? "null" : this.render(this.ty(m.returns), "out");
      const errNote = m.error ? `; fails with ${errorType} (${m.error})` : "";
      const view = m.kind === "view";
      const optsParam = `opts?: ${NS}.${view ? "ViewOptions" : "CallOptions"}`;
      const params = p ? `${p}, ${optsParam}` : optsParam;
      const argsExpr = p ? "args" : "null";
      body.push(
        "",
        `  /** ${view ? "View" : "Call (a transaction)"} \`${doc(this.signature(m))}\`${doc(errNote)}. */`,
        view
          ? `  ${name}(${params}): Promise<${ret}> {\n    return ${NS}.viewBound<${ret}>(this.handle, ${JSON.stringify(m.name)}, ${argsExpr}, opts);\n  }`
          : `  ${name}(${params}): Promise<${callResult}<${ret}>> {\n    return ${NS}.callBound<${ret}, ${eventRecord}>(this.handle, ${JSON.stringify(m.name)}, ${argsExpr}, opts);\n  }`,
      );
    }
    out.push(
      `/** ${contract}, typed: one method per call and view of its ABI. */`,
      `export class ${cls} {`,
      ...body,
      `}`,
      "",
    );
    return out.join("\n");
  }
}

/** A TypeScript module of typed bindings for the contract `abi` describes: its types,
 * events and typed error, and a class (`EscrowClient`) with one typed method per call and
 * view, made with `static at(client, address)`. Throws an [`AbiError`] on a malformed ABI. */
export function generateBindings(abi: AbiJson, opts: BindingsOptions = {}): string {
  return new Generator(abi, opts).generate();
}
