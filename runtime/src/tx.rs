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
    /// Report a validator that signed two conflicting votes (same kind, height and round,
    /// different blocks); the offender's stake is slashed, once per height whichever form of
    /// evidence reports it. (Appended last: the variants before keep their codes.)
    ReportDoubleVote {
        /// The two conflicting signed votes.
        evidence: Box<crate::finality::DoubleVote>,
    },
}

/// The gas limits a transaction gets when its sender names none, one per payload kind: the
/// CLI, the node, the embedding API, tests and benches all take them from here.
pub mod default_gas {
    /// A transfer: it pays only its intrinsic gas, about 220,000 with the default costs (its
    /// encoding has a fixed size).
    pub const TRANSFER: u64 = 1_000_000;
    /// A deploy: intrinsic gas grows with the code size (10,000 a byte), plus the constructor.
    pub const DEPLOY: u64 = 5_000_000_000;
    /// A contract call, and a read-only view.
    pub const CALL: u64 = 5_000_000_000;
    /// Staking (stake, unstake, validator registration, a double-sign or double-vote report):
    /// they pay only their intrinsic gas too; the limit is the one the CLI has always given
    /// them.
    pub const STAKING: u64 = 2_000_000_000;
}

impl Payload {
    /// The gas limit a transaction of this kind gets by default (see [`default_gas`]).
    pub fn default_gas_limit(&self) -> u64 {
        match self {
            Payload::Transfer { .. } => default_gas::TRANSFER,
            Payload::Deploy { .. } => default_gas::DEPLOY,
            Payload::Call { .. } => default_gas::CALL,
            Payload::Stake { .. }
            | Payload::Unstake { .. }
            | Payload::ReportDoubleSign { .. }
            | Payload::ReportDoubleVote { .. }
            | Payload::RegisterValidator { .. } => default_gas::STAKING,
        }
    }
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
    /// A transaction of `payload` on chain `chain_id` at the sender's `nonce`, with the
    /// default gas limit of its kind ([`Payload::default_gas_limit`]) and gas price 1; change
    /// them with [`Transaction::with_gas_limit`] and [`Transaction::with_gas_price`].
    ///
    /// ```
    /// # use chainvm_runtime::{Keypair, Payload, Transaction, U256, tx::default_gas};
    /// let to = Keypair::derive("doc", 1).address();
    /// let tx = Transaction::new(1337, 0, Payload::Transfer { to, amount: U256::one() });
    /// assert_eq!((tx.gas_limit, tx.gas_price), (default_gas::TRANSFER, U256::one()));
    /// let signed = tx.with_gas_price(3).sign(&Keypair::derive("doc", 0));
    /// assert!(signed.verify_signature());
    /// ```
    pub fn new(chain_id: u64, nonce: u64, payload: Payload) -> Transaction {
        Transaction {
            chain_id,
            nonce,
            gas_limit: payload.default_gas_limit(),
            gas_price: U256::one(),
            payload,
        }
    }

    /// The same transaction with gas limit `gas_limit`.
    pub fn with_gas_limit(mut self, gas_limit: u64) -> Transaction {
        self.gas_limit = gas_limit;
        self
    }

    /// The same transaction with gas price `gas_price`.
    pub fn with_gas_price(mut self, gas_price: impl Into<U256>) -> Transaction {
        self.gas_price = gas_price.into();
        self
    }

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

    /// The maximum fee, `gas_limit × gas_price`: what buying its gas takes. `None` on
    /// overflow.
    pub fn max_fee(&self) -> Option<U256> {
        self.gas_price.checked_mul(U256::from(self.gas_limit))
    }

    /// The most the transaction can take from its sender's balance: its value plus the
    /// maximum fee (what admission requires the sender to hold). `None` on overflow.
    pub fn max_cost(&self) -> Option<U256> {
        self.max_fee()?.checked_add(self.value())
    }

    /// Value the transaction moves out of the sender's balance (besides fees).
    pub fn value(&self) -> U256 {
        match &self.payload {
            Payload::Transfer { amount, .. }
            | Payload::Stake { amount, .. }
            | Payload::RegisterValidator { amount, .. } => *amount,
            Payload::Call { value, .. } => *value,
            Payload::Deploy { .. }
            | Payload::Unstake { .. }
            | Payload::ReportDoubleSign { .. }
            | Payload::ReportDoubleVote { .. } => U256::zero(),
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
        let payload = Payload::Call {
            contract: Address::repeat_byte(9),
            method: "vote".into(),
            args: vec![1, 2, 3],
            value: U256::from(10),
        };
        Transaction::new(7, 3, payload)
            .with_gas_limit(1_000_000)
            .with_gas_price(2)
    }

    #[test]
    fn new_takes_the_default_gas_of_the_payload_kind_and_price_one() {
        let to = Address::repeat_byte(1);
        let amount = U256::one();
        let transfer = Transaction::new(7, 0, Payload::Transfer { to, amount });
        assert_eq!(transfer.gas_limit, default_gas::TRANSFER);
        assert_eq!(transfer.gas_price, U256::one());
        let deploy = Payload::Deploy {
            code: vec![0],
            args: vec![],
        };
        assert_eq!(
            Transaction::new(7, 0, deploy).gas_limit,
            default_gas::DEPLOY
        );
        assert_eq!(
            Transaction::new(7, 0, sample().payload).gas_limit,
            default_gas::CALL
        );
        let stake = Payload::Stake {
            validator: to,
            amount,
        };
        assert_eq!(
            Transaction::new(7, 0, stake).gas_limit,
            default_gas::STAKING
        );
        let t = sample();
        assert_eq!(
            (t.chain_id, t.nonce, t.gas_limit, t.gas_price),
            (7, 3, 1_000_000, U256::from(2))
        );
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
