//! Inclusion and absence proofs, verifiable with the root alone.
//!
//! A proof is the list of sibling hashes from the root down to where the key's path ends,
//! plus the leaf found there, if any. The path ends at:
//! - the key's own leaf (inclusion),
//! - an empty subtree (absence), or
//! - another key's leaf sharing the path so far (absence: were the key present, that subtree
//!   would hold two leaves and be an internal node).
//!
//! The encoding is compact: a bitmap marks empty siblings, which are not written out.

use crate::tree::{Hash, bit, empty_hash, internal_hash, keccak, leaf_hash};
use serde::{Deserialize, Serialize};

/// A Merkle proof for one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// Sibling hashes, root first.
    pub siblings: Vec<Hash>,
    /// The leaf where the path ends: (key hash, value hash).
    pub leaf: Option<(Hash, Hash)>,
}

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof does not hash to the root.
    #[error("proof does not match the root")]
    RootMismatch,
    /// The proof is for another value than the one claimed.
    #[error("proof is for a different value")]
    ValueMismatch,
    /// A claimed absence, but the proof ends at a leaf not on the key's path.
    #[error("absence proof ends at a leaf off the key's path")]
    BadAbsence,
    /// The bytes are not a proof.
    #[error("malformed proof encoding")]
    Malformed,
}

impl Proof {
    /// Checks that under `root`, `key` maps to `value` (`None`: the key is absent).
    pub fn verify(&self, root: &Hash, key: &[u8], value: Option<&[u8]>) -> Result<(), ProofError> {
        let key_hash = keccak(key);
        if self.siblings.len() > 256 {
            return Err(ProofError::Malformed);
        }
        match (value, &self.leaf) {
            (Some(v), Some((k, vh))) => {
                if *k != key_hash || *vh != keccak(v) {
                    return Err(ProofError::ValueMismatch);
                }
            }
            (Some(_), None) => return Err(ProofError::ValueMismatch),
            (None, Some((k, _))) => {
                if *k == key_hash {
                    return Err(ProofError::ValueMismatch);
                }
                if (0..self.siblings.len()).any(|d| bit(k, d) != bit(&key_hash, d)) {
                    return Err(ProofError::BadAbsence);
                }
            }
            (None, None) => {}
        }
        let mut h = match &self.leaf {
            Some((k, v)) => leaf_hash(k, v),
            None => empty_hash(),
        };
        for (depth, sibling) in self.siblings.iter().enumerate().rev() {
            h = if bit(&key_hash, depth) {
                internal_hash(sibling, &h)
            } else {
                internal_hash(&h, sibling)
            };
        }
        if h == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }

    /// Compact bytes: sibling count (u16), a bitmap of non-empty siblings, those siblings,
    /// then a leaf flag and the leaf.
    pub fn encode(&self) -> Vec<u8> {
        let n = self.siblings.len();
        let mut bitmap = vec![0u8; n.div_ceil(8)];
        let mut out = Vec::with_capacity(2 + bitmap.len() + 32 * n + 65);
        out.extend_from_slice(&(n as u16).to_be_bytes());
        for (i, s) in self.siblings.iter().enumerate() {
            if *s != empty_hash() {
                bitmap[i / 8] |= 0x80 >> (i % 8);
            }
        }
        out.extend_from_slice(&bitmap);
        for s in &self.siblings {
            if *s != empty_hash() {
                out.extend_from_slice(s);
            }
        }
        match &self.leaf {
            None => out.push(0),
            Some((k, v)) => {
                out.push(1);
                out.extend_from_slice(k);
                out.extend_from_slice(v);
            }
        }
        out
    }

    /// Decodes [`Proof::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Proof, ProofError> {
        let mut pos = 0usize;
        let mut take = |len: usize| -> Result<&[u8], ProofError> {
            let end = pos
                .checked_add(len)
                .filter(|e| *e <= bytes.len())
                .ok_or(ProofError::Malformed)?;
            let out = &bytes[pos..end];
            pos = end;
            Ok(out)
        };
        let hash = |b: &[u8]| -> Hash { b.try_into().unwrap_or([0; 32]) };
        let count = take(2)?;
        let n = u16::from_be_bytes([count[0], count[1]]) as usize;
        if n > 256 {
            return Err(ProofError::Malformed);
        }
        let bitmap = take(n.div_ceil(8))?.to_vec();
        let mut siblings = Vec::with_capacity(n);
        for i in 0..n {
            if bitmap[i / 8] & (0x80 >> (i % 8)) != 0 {
                siblings.push(hash(take(32)?));
            } else {
                siblings.push(empty_hash());
            }
        }
        let leaf = match take(1)?[0] {
            0 => None,
            1 => Some((hash(take(32)?), hash(take(32)?))),
            _ => return Err(ProofError::Malformed),
        };
        if pos != bytes.len() {
            return Err(ProofError::Malformed);
        }
        Ok(Proof { siblings, leaf })
    }
}
