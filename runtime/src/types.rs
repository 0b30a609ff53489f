//! Primitive chain types and their canonical encodings.
//!
//! Balances are `U256`, addresses `H160` (the last 20 bytes of keccak256 of an ed25519 public
//! key), hashes `H256`, all from `primitive-types`. Everything hashed or stored is encoded with
//! borsh, whose encoding is canonical: one byte string per value, and decoding rejects
//! anything else. These helpers encode the `primitive-types` values as fixed big-endian bytes;
//! [`hex`] and [`parse_hex`] are the `0x` text form used by JSON, the CLI and genesis files.

pub use primitive_types::{H160, H256, U256};
use sha3::{Digest, Keccak256};

/// An account or contract address.
pub type Address = H160;

/// keccak256 of `data`.
pub fn keccak(data: &[u8]) -> H256 {
    H256(Keccak256::digest(data).into())
}

/// The address owned by an ed25519 public key: the last 20 bytes of keccak256(public key).
pub fn address_of(public_key: &[u8; 32]) -> Address {
    Address::from_slice(&keccak(public_key).0[12..])
}

/// The address of the contract deployed by `deployer` with transaction nonce `nonce`.
pub fn contract_address(deployer: &Address, nonce: u64) -> Address {
    let mut buf = Vec::with_capacity(1 + 20 + 8);
    buf.push(0xd0);
    buf.extend_from_slice(deployer.as_bytes());
    buf.extend_from_slice(&nonce.to_be_bytes());
    Address::from_slice(&keccak(&buf).0[12..])
}

/// U256 as 32 big-endian bytes.
pub fn u256_bytes(v: &U256) -> [u8; 32] {
    v.to_big_endian()
}

/// borsh helpers for `primitive-types` fields (`#[borsh(serialize_with, deserialize_with)]`).
pub mod codec {
    use super::{H160, H256, U256};
    use borsh::io::{Read, Result, Write};
    use borsh::{BorshDeserialize, BorshSerialize};

    /// H160 as 20 raw bytes.
    pub mod h160 {
        use super::*;
        /// Writes the address bytes.
        pub fn serialize<W: Write>(v: &H160, w: &mut W) -> Result<()> {
            v.0.serialize(w)
        }
        /// Reads the address bytes.
        pub fn deserialize<R: Read>(r: &mut R) -> Result<H160> {
            Ok(H160(<[u8; 20]>::deserialize_reader(r)?))
        }
    }

    /// H256 as 32 raw bytes.
    pub mod h256 {
        use super::*;
        /// Writes the hash bytes.
        pub fn serialize<W: Write>(v: &H256, w: &mut W) -> Result<()> {
            v.0.serialize(w)
        }
        /// Reads the hash bytes.
        pub fn deserialize<R: Read>(r: &mut R) -> Result<H256> {
            Ok(H256(<[u8; 32]>::deserialize_reader(r)?))
        }
    }

    /// U256 as 32 big-endian bytes.
    pub mod u256 {
        use super::*;
        /// Writes the amount.
        pub fn serialize<W: Write>(v: &U256, w: &mut W) -> Result<()> {
            v.to_big_endian().serialize(w)
        }
        /// Reads the amount.
        pub fn deserialize<R: Read>(r: &mut R) -> Result<U256> {
            Ok(U256::from_big_endian(&<[u8; 32]>::deserialize_reader(r)?))
        }
    }

    /// `Option<H160>`.
    pub mod opt_h160 {
        use super::*;
        /// Writes the optional address.
        pub fn serialize<W: Write>(v: &Option<H160>, w: &mut W) -> Result<()> {
            v.map(|a| a.0).serialize(w)
        }
        /// Reads the optional address.
        pub fn deserialize<R: Read>(r: &mut R) -> Result<Option<H160>> {
            Ok(Option::<[u8; 20]>::deserialize_reader(r)?.map(H160))
        }
    }

    /// `Option<H256>`.
    pub mod opt_h256 {
        use super::*;
        /// Writes the optional hash.
        pub fn serialize<W: Write>(v: &Option<H256>, w: &mut W) -> Result<()> {
            v.map(|a| a.0).serialize(w)
        }
        /// Reads the optional hash.
        pub fn deserialize<R: Read>(r: &mut R) -> Result<Option<H256>> {
            Ok(Option::<[u8; 32]>::deserialize_reader(r)?.map(H256))
        }
    }
}

/// Bytes from hex, with or without a `0x` prefix.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `0x`-prefixed lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_derived_deterministically() {
        let pk = [7u8; 32];
        assert_eq!(address_of(&pk), address_of(&pk));
        assert_ne!(address_of(&pk), address_of(&[8u8; 32]));
        let a = address_of(&pk);
        assert_ne!(contract_address(&a, 0), contract_address(&a, 1));
        assert_ne!(
            contract_address(&a, 0),
            contract_address(&address_of(&[8u8; 32]), 0)
        );
        // The last 20 bytes of keccak256(pk).
        assert_eq!(a.as_bytes(), &keccak(&pk).as_bytes()[12..]);
    }
}
