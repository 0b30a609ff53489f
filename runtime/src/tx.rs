//! Signed transactions and their canonical encoding.
//!
//! The encoding is borsh: canonical and strictly decoded. The signature covers a domain tag
//! and the encoded unsigned transaction; the transaction hash is keccak256 of the encoded
//! signed transaction.

use crate::crypto::{self, Keypair};
use crate::types::{Address, H256, U256, address_of, codec, keccak};
use borsh::{BorshDeserialize, BorshSerialize};

const SIGNING_DOMAIN: &[u8] = b"chainvm-tx-v1";

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Payload {
    /// Move value to an address.
    Transfer {
        /// Recipient.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        to: Address,
        /// Amount.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        amount: U256,
    },
    /// Deploy contract code and run its constructor (`init`) with `args`.
    Deploy {
        /// The wasm module.
        code: Vec<u8>,
        /// Encoded constructor arguments.
        args: Vec<u8>,
    },
    /// Call a contract method.
    Call {
        /// The contract.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        contract: Address,
        /// Entry point name.
        method: String,
        /// Encoded arguments.
        args: Vec<u8>,
        /// Value attached to the call.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        value: U256,
    },
    /// Delegate stake to a registered validator (shares in its pool, its rewards and its
    /// slashing).
    Stake {
        /// The validator delegated to.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        validator: Address,
        /// Amount to bond.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        amount: U256,
    },
    /// Start unbonding part of a delegation; it returns to the balance after the unbonding
    /// period.
    Unstake {
        /// The validator delegated to.
        #[borsh(
            serialize_with = "codec::h160::serialize",
            deserialize_with = "codec::h160::deserialize"
        )]
        validator: Address,
        /// Amount to unbond, in tokens.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        amount: U256,
    },
    /// Report a validator that signed two different blocks at the same height; the
    /// offender's stake is slashed.
    ReportDoubleSign {
        /// The two conflicting signed headers.
        evidence: Box<crate::block::DoubleSign>,
    },
    /// Register `public_key` as a validator, bonding `amount` of the sender's balance as its
    /// self-bond. It must be signed by that key (the sender is the validator) and admitted by
    /// the chain's registration policy.
    RegisterValidator {
        /// The consensus key that will sign blocks.
        public_key: [u8; 32],
        /// Share of block rewards kept before the rest goes to delegators, in basis points.
        commission_bps: u32,
        /// Self-bond.
        #[borsh(
            serialize_with = "codec::u256::serialize",
            deserialize_with = "codec::u256::deserialize"
        )]
        amount: U256,
    },
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// The chain it is valid on (replay protection across chains).
    pub chain_id: u64,
    /// The sender's next nonce.
    pub nonce: u64,
    /// Most gas the transaction may use.
    pub gas_limit: u64,
    /// Price paid per unit of gas.
    #[borsh(
        serialize_with = "codec::u256::serialize",
        deserialize_with = "codec::u256::deserialize"
    )]
    pub gas_price: U256,
    /// What to do.
    pub payload: Payload,
}

impl Transaction {
    /// The bytes the sender signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = SIGNING_DOMAIN.to_vec();
        // Encoding plain data into a Vec cannot fail.
        m.extend(borsh::to_vec(self).unwrap_or_default());
        m
    }

    /// Signs the transaction.
    pub fn sign(self, key: &Keypair) -> SignedTransaction {
        let signature = key.sign(&self.signing_message());
        SignedTransaction {
            body: self,
            public_key: key.public(),
            signature,
        }
    }

    /// Value the transaction moves out of the sender's balance (besides fees).
    pub fn value(&self) -> U256 {
        match &self.payload {
            Payload::Transfer { amount, .. }
            | Payload::Stake { amount, .. }
            | Payload::RegisterValidator { amount, .. } => *amount,
            Payload::Call { value, .. } => *value,
            Payload::Deploy { .. } | Payload::Unstake { .. } | Payload::ReportDoubleSign { .. } => {
                U256::zero()
            }
        }
    }
}

/// A transaction with its sender's public key and signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTransaction {
    /// The unsigned transaction the signature covers.
    pub body: Transaction,
    /// The sender's ed25519 public key.
    pub public_key: [u8; 32],
    /// Signature over [`Transaction::signing_message`].
    pub signature: [u8; 64],
}

impl SignedTransaction {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Strict decoding: trailing or malformed bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<SignedTransaction, std::io::Error> {
        borsh::from_slice(bytes)
    }

    /// keccak256 of the canonical encoding.
    pub fn hash(&self) -> H256 {
        keccak(&self.encode())
    }

    /// The sender's address.
    pub fn sender(&self) -> Address {
        address_of(&self.public_key)
    }

    /// Whether the signature is valid for the public key.
    pub fn verify_signature(&self) -> bool {
        crypto::verify(
            &self.public_key,
            &self.body.signing_message(),
            &self.signature,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transaction {
        Transaction {
            chain_id: 7,
            nonce: 3,
            gas_limit: 1_000_000,
            gas_price: U256::from(2),
            payload: Payload::Call {
                contract: Address::repeat_byte(9),
                method: "vote".into(),
                args: vec![1, 2, 3],
                value: U256::from(10),
            },
        }
    }

    #[test]
    fn encoding_round_trips_and_is_strict() {
        let key = Keypair::derive("t", 0);
        let signed = sample().sign(&key);
        let bytes = signed.encode();
        assert_eq!(SignedTransaction::decode(&bytes).unwrap(), signed);
        assert!(signed.verify_signature());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SignedTransaction::decode(&longer).is_err());
        assert!(SignedTransaction::decode(&bytes[..bytes.len() - 1]).is_err());
        // Same content, same hash; any change, another hash.
        assert_eq!(signed.hash(), sample().sign(&key).hash());
        let mut other = sample();
        other.nonce = 4;
        assert_ne!(signed.hash(), other.sign(&key).hash());
    }

    #[test]
    fn signature_covers_every_field() {
        let key = Keypair::derive("t", 0);
        let signed = sample().sign(&key);
        let mut tampered = signed.clone();
        tampered.body.gas_price = U256::from(1);
        assert!(!tampered.verify_signature());
        let mut tampered = signed.clone();
        tampered.public_key = Keypair::derive("t", 1).public();
        assert!(!tampered.verify_signature());
    }
}
