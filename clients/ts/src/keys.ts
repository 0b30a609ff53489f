/**
 * ed25519 keys and chainvm addresses, as `runtime/src/crypto.rs` and `types.rs` make them:
 * an address is the last 20 bytes of keccak256(public key); dev accounts are
 * `Keypair.derive("chainvm dev accounts", i)` (seed = keccak256("chainvm dev key|PHRASE|I")).
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { type BytesLike, bytesOf, concat, EncodingError, toHex, utf8Bytes, type IntLike, BorshWriter } from "./encoding.js";

/** The phrase the dev accounts of `chainvm init` are derived from (genesis.rs `DEV_SEED`). */
export const DEV_SEED = "chainvm dev accounts";
/** Number of funded dev accounts in a dev genesis. */
export const DEV_ACCOUNTS = 10;

/** keccak256 of `data`. */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/** The address (0x hex) owned by an ed25519 public key. */
export function addressOf(publicKey: BytesLike): string {
  const pk = bytesOf(publicKey);
  if (pk.length !== 32) throw new EncodingError("a public key is 32 bytes");
  return toHex(keccak256(pk).subarray(12));
}

/** The address of the contract `deployer` creates with its transaction of nonce `nonce`. */
export function contractAddress(deployer: string, nonce: IntLike): string {
  const d = bytesOf(deployer);
  if (d.length !== 20) throw new EncodingError("an address is 20 bytes");
  const n = new BorshWriter().u64(nonce).finish().reverse(); // big-endian
  return toHex(keccak256(concat(Uint8Array.of(0xd0), d, n)).subarray(12));
}

/** A signing key with its public key and address. */
export class Keypair {
  /** The 32-byte secret seed. */
  readonly secret: Uint8Array;
  /** The 32-byte ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The account address (0x hex, lower case). */
  readonly address: string;

  private constructor(secret: Uint8Array) {
    this.secret = secret;
    this.publicKey = ed25519.getPublicKey(secret);
    this.address = addressOf(this.publicKey);
  }

  /** The keypair of a 32-byte secret seed (bytes or hex). */
  static fromSecret(secret: BytesLike): Keypair {
    const s = bytesOf(secret);
    if (s.length !== 32) throw new EncodingError("a secret key is 32 bytes");
    return new Keypair(Uint8Array.from(s));
  }

  /** The deterministic keypair of `phrase` and `index` (Rust `Keypair::derive`). */
  static derive(phrase: string, index: number): Keypair {
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw new EncodingError("a derivation index is a u32");
    }
    return new Keypair(keccak256(utf8Bytes(`chainvm dev key|${phrase}|${index}`)));
  }

  /** Dev account `index` of a dev chain (funded at genesis; never use on a real chain). */
  static dev(index: number): Keypair {
    return Keypair.derive(DEV_SEED, index);
  }

  /** The ed25519 signature of `message` (deterministic). */
  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.secret);
  }
}

/** Whether `signature` is `publicKey`'s signature of `message`. */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
