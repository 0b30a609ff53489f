/**
 * Hex text and borsh, the canonical binary encoding of everything chainvm hashes or signs:
 * little-endian fixed-width integers, `u32` length prefixes for strings and byte vectors,
 * `0`/`1` tags for options, one-byte variant tags for enums. Amounts (`U256`), hashes and
 * addresses are fixed big-endian / raw byte strings, as `runtime/src/types.rs` writes them.
 */

/** Raised when bytes or hex text do not decode. */
export class EncodingError extends Error {
  override name = "EncodingError";
}

const HEX = "0123456789abcdef";

/** `0x`-prefixed lower-case hex of `bytes` (the JSON form of bytes, hashes and addresses). */
export function toHex(bytes: Uint8Array): string {
  let s = "0x";
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!;
  return s;
}

/** Bytes of hex text, with or without `0x` (like the Rust `parse_hex`); strict otherwise. */
export function fromHex(text: string): Uint8Array {
  const s = text.startsWith("0x") ? text.slice(2) : text;
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) {
    throw new EncodingError(`not hex: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes given as hex text or as bytes. */
export type BytesLike = Uint8Array | string;

/** `b` as bytes (hex text is decoded). */
export function bytesOf(b: BytesLike): Uint8Array {
  return typeof b === "string" ? fromHex(b) : b;
}

/** Concatenation of byte strings. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** An integer given as a bigint, a safe integer number, or a decimal string. */
export type IntLike = bigint | number | string;

/** `v` as a bigint; refuses fractions, unsafe numbers and anything but decimal digits. */
export function toBigInt(v: IntLike, what = "integer"): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw new EncodingError(`${what}: ${v} is not a safe integer (pass a bigint or a decimal string)`);
    }
    return BigInt(v);
  }
  if (typeof v === "string" && /^[+-]?[0-9]+$/.test(v)) return BigInt(v);
  throw new EncodingError(`${what}: ${JSON.stringify(v)} is not an integer`);
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string. */
export function utf8Bytes(s: string): Uint8Array {
  return utf8.encode(s);
}

/** The string of UTF-8 bytes; invalid UTF-8 is an error. */
export function utf8String(b: Uint8Array): string {
  try {
    return utf8Strict.decode(b);
  } catch {
    throw new EncodingError("invalid UTF-8");
  }
}

/** Builds a borsh encoding front to back. */
export class BorshWriter {
  private chunks: number[] = [];

  /** Appends raw bytes (fixed-size arrays: no length prefix). */
  raw(b: Uint8Array): this {
    for (const x of b) this.chunks.push(x);
    return this;
  }

  /** An unsigned integer of `bits` bits, little-endian. */
  uint(v: IntLike, bits: number): this {
    let n = toBigInt(v);
    if (n < 0n || n >= 1n << BigInt(bits)) throw new EncodingError(`${n} does not fit u${bits}`);
    for (let i = 0; i < bits / 8; i++) {
      this.chunks.push(Number(n & 0xffn));
      n >>= 8n;
    }
    return this;
  }

  /** A two's-complement signed integer of `bits` bits, little-endian. */
  int(v: IntLike, bits: number): this {
    const n = toBigInt(v);
    const half = 1n << BigInt(bits - 1);
    if (n < -half || n >= half) throw new EncodingError(`${n} does not fit i${bits}`);
    return this.uint(n < 0n ? n + (1n << BigInt(bits)) : n, bits);
  }

  /** `u8`. */
  u8(v: IntLike): this {
    return this.uint(v, 8);
  }
  /** `u32`. */
  u32(v: IntLike): this {
    return this.uint(v, 32);
  }
  /** `u64`. */
  u64(v: IntLike): this {
    return this.uint(v, 64);
  }

  /** `bool`: one byte, 0 or 1. */
  bool(b: boolean): this {
    this.chunks.push(b ? 1 : 0);
    return this;
  }

  /** `Vec<u8>`: a `u32` length, then the bytes. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }

  /** `String`: its UTF-8 bytes as `Vec<u8>`. */
  string(s: string): this {
    return this.bytes(utf8Bytes(s));
  }

  /** `U256` as chainvm writes it: 32 big-endian bytes. */
  u256(v: IntLike): this {
    let n = toBigInt(v);
    if (n < 0n || n >= 1n << 256n) throw new EncodingError(`${n} does not fit U256`);
    const out = new Uint8Array(32);
    for (let i = 31; i >= 0; i--) {
      out[i] = Number(n & 0xffn);
      n >>= 8n;
    }
    return this.raw(out);
  }

  /** Exactly `n` raw bytes (an address, a hash, a key, a signature). */
  fixed(b: Uint8Array, n: number, what = "bytes"): this {
    if (b.length !== n) throw new EncodingError(`${what}: expected ${n} bytes, got ${b.length}`);
    return this.raw(b);
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** Reads a borsh encoding front to back; strict: short data is an error, and so are
 * trailing bytes when [`BorshReader.end`] is called. */
export class BorshReader {
  private at = 0;
  constructor(private readonly data: Uint8Array) {}

  /** Bytes not yet read. */
  get remaining(): number {
    return this.data.length - this.at;
  }

  /** The next `n` bytes. */
  take(n: number): Uint8Array {
    if (n > this.remaining) throw new EncodingError("unexpected end of data");
    const b = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }

  /** An unsigned little-endian integer of `bits` bits. */
  uint(bits: number): bigint {
    const b = this.take(bits / 8);
    let n = 0n;
    for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
    return n;
  }

  /** A two's-complement signed integer of `bits` bits. */
  int(bits: number): bigint {
    const n = this.uint(bits);
    return n >= 1n << BigInt(bits - 1) ? n - (1n << BigInt(bits)) : n;
  }

  /** `u8` as a number. */
  u8(): number {
    return this.take(1)[0]!;
  }
  /** `u32` as a number. */
  u32(): number {
    return Number(this.uint(32));
  }
  /** `u64` as a bigint. */
  u64(): bigint {
    return this.uint(64);
  }

  /** `bool` (only 0 and 1). */
  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new EncodingError(`invalid bool ${b}`);
    return b === 1;
  }

  /** An option tag: whether a value follows. */
  option(): boolean {
    const b = this.u8();
    if (b > 1) throw new EncodingError(`invalid option tag ${b}`);
    return b === 1;
  }

  /** `Vec<u8>`. */
  bytes(): Uint8Array {
    return this.take(this.u32());
  }

  /** `String` (strict UTF-8). */
  string(): string {
    return utf8String(this.bytes());
  }

  /** `U256`: 32 big-endian bytes. */
  u256(): bigint {
    let n = 0n;
    for (const x of this.take(32)) n = (n << 8n) | BigInt(x);
    return n;
  }

  /** Fails unless everything was read. */
  end(): void {
    if (this.remaining !== 0) throw new EncodingError(`${this.remaining} trailing bytes`);
  }
}
