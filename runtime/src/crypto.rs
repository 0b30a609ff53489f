//! ed25519 keys and signatures.
//!
//! Verification is strict (`verify_strict`): it rejects small-order keys and non-canonical
//! signatures, so a transaction has exactly one valid signature encoding and its hash is stable.

use crate::types::{Address, address_of, keccak};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// A signing key with its address.
#[derive(Clone)]
pub struct Keypair {
    key: SigningKey,
}

impl std::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keypair({:?})", self.address())
    }
}

impl Keypair {
    /// The keypair of a 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Keypair {
        Keypair {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// A new keypair from the operating system's random source (validator keys, which must
    /// be secret; never used during execution).
    pub fn generate() -> Result<Keypair, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(Keypair::from_seed(&seed))
    }

    /// A deterministic keypair derived from a phrase and an index (dev accounts).
    pub fn derive(phrase: &str, index: u32) -> Keypair {
        let seed = keccak(format!("chainvm dev key|{phrase}|{index}").as_bytes());
        Keypair::from_seed(&seed.0)
    }

    /// The secret seed (handle with care).
    pub fn secret(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public key bytes.
    pub fn public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The account address of this key.
    pub fn address(&self) -> Address {
        address_of(&self.public())
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// Checks a signature strictly.
pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(public_key) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(signature))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let k = Keypair::derive("test", 0);
        let sig = k.sign(b"hello");
        assert!(verify(&k.public(), b"hello", &sig));
        assert!(!verify(&k.public(), b"hellO", &sig));
        let mut bad = sig;
        bad[0] ^= 1;
        assert!(!verify(&k.public(), b"hello", &bad));
        assert!(!verify(
            &Keypair::derive("test", 1).public(),
            b"hello",
            &sig
        ));
        assert_eq!(Keypair::derive("test", 0).address(), k.address());
    }
}
