//! Blocks: headers, their signatures, the commitments to a block's body, stored blocks,
//! double-sign evidence and stake-weighted proposer selection.

use crate::crypto;
use crate::failure::EvidenceFault;
use crate::receipt::Receipt;
use crate::tx::SignedTransaction;
use crate::types::{Address, H256, U256, codec, keccak};
use borsh::{BorshDeserialize, BorshSerialize};
use chainvm_state::tree::root_from_scratch;
use serde::Serialize;
use std::borrow::Borrow;

const BLOCK_SIGNING_DOMAIN: &[u8] = b"chainvm-block-v1";

/// A block header. Its hash identifies the block.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Header {
    /// Hash of the previous block's header (zero for genesis).
    #[borsh(
        serialize_with = "codec::h256::serialize",
        deserialize_with = "codec::h256::deserialize"
    )]
    pub parent_hash: H256,
    /// Height (genesis is 0).
    pub height: u64,
    /// Seconds since the Unix epoch; never before the parent's (a dev chain's move on by a
    /// second at least). Execution reads time only from here.
    pub timestamp: u64,
    /// State root after the block.
    #[borsh(
        serialize_with = "codec::h256::serialize",
        deserialize_with = "codec::h256::deserialize"
    )]
    pub state_root: H256,
    /// Root over the block's transactions.
    #[borsh(
        serialize_with = "codec::h256::serialize",
        deserialize_with = "codec::h256::deserialize"
    )]
    pub txs_root: H256,
    /// Root over the block's receipts.
    #[borsh(
        serialize_with = "codec::h256::serialize",
        deserialize_with = "codec::h256::deserialize"
    )]
    pub receipts_root: H256,
    /// Gas used by all transactions.
    pub gas_used: u64,
    /// The validator that proposed and signed it.
    #[borsh(
        serialize_with = "codec::h160::serialize",
        deserialize_with = "codec::h160::deserialize"
    )]
    pub proposer: Address,
}

impl Header {
    /// keccak256 of the canonical encoding.
    pub fn hash(&self) -> H256 {
        keccak(&borsh::to_vec(self).unwrap_or_default())
    }

    /// The bytes a proposer signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = BLOCK_SIGNING_DOMAIN.to_vec();
        m.extend_from_slice(self.hash().as_bytes());
        m
    }
}

/// A header with its proposer's signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedHeader {
    /// The header.
    pub header: Header,
    /// ed25519 signature over [`Header::signing_message`].
    pub signature: [u8; 64],
}

impl SignedHeader {
    /// Signs a header.
    pub fn sign(header: Header, key: &crypto::Keypair) -> SignedHeader {
        let signature = key.sign(&header.signing_message());
        SignedHeader { header, signature }
    }

    /// Whether the signature is valid for `public_key`.
    pub fn verify(&self, public_key: &[u8; 32]) -> bool {
        crypto::verify(public_key, &self.header.signing_message(), &self.signature)
    }

    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<SignedHeader, std::io::Error> {
        borsh::from_slice(bytes)
    }
}

/// Two different headers signed by the same proposer at the same height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DoubleSign {
    /// One header.
    pub a: SignedHeader,
    /// The conflicting one.
    pub b: SignedHeader,
}

impl DoubleSign {
    /// Checks the evidence against the offender's key: same height and proposer, different
    /// blocks, both signatures valid.
    pub fn check(&self, public_key: &[u8; 32]) -> Result<(), EvidenceFault> {
        let (a, b) = (&self.a.header, &self.b.header);
        if a.height != b.height {
            return Err(EvidenceFault::HeightsDiffer);
        }
        if a.proposer != b.proposer {
            return Err(EvidenceFault::ProposersDiffer);
        }
        if a.hash() == b.hash() {
            return Err(EvidenceFault::SameHeader);
        }
        if !self.a.verify(public_key) || !self.b.verify(public_key) {
            return Err(EvidenceFault::BadSignature);
        }
        Ok(())
    }
}

/// Root over an ordered list: the sparse Merkle root of index -> item, so single items are
/// provable with the same proof format as state.
pub fn list_root(items: &[Vec<u8>]) -> H256 {
    let hashes: Vec<[u8; 32]> = items.iter().map(|item| keccak(item).0).collect();
    list_root_of_hashes(&hashes)
}

/// [`list_root`] of items whose keccak256 hashes are already known (a block's transaction
/// hashes are exactly these for its encoded transactions).
pub fn list_root_of_hashes(item_hashes: &[[u8; 32]]) -> H256 {
    let leaves: Vec<_> = item_hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (keccak(&(i as u32).to_be_bytes()).0, *h))
        .collect();
    H256(root_from_scratch(&leaves))
}

/// A block's transactions and receipts in their canonical encodings, each encoded once: the
/// header's roots are computed from these bytes, and block production stores the same bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedBody {
    /// The encoded transactions, in order.
    pub txs: Vec<Vec<u8>>,
    /// The encoded receipts, in order.
    pub receipts: Vec<Vec<u8>>,
    /// Sum of the receipts' gas used (the header's `gas_used`).
    pub gas_used: u64,
}

impl EncodedBody {
    /// Encodes `txs`; their receipts come with [`EncodedBody::with_receipts`] (verification
    /// checks the transactions root before it executes anything).
    pub fn of_txs(txs: &[SignedTransaction]) -> EncodedBody {
        EncodedBody {
            txs: txs.iter().map(|t| t.encode()).collect(),
            ..EncodedBody::default()
        }
    }

    /// The body with the transactions' `receipts`, encoded, and their gas used.
    pub fn with_receipts<R: Borrow<Receipt>>(self, receipts: &[R]) -> EncodedBody {
        EncodedBody {
            receipts: receipts.iter().map(|r| r.borrow().encode()).collect(),
            gas_used: receipts.iter().map(|r| r.borrow().gas_used).sum(),
            ..self
        }
    }

    /// The header's transactions root: [`list_root`] of the encoded transactions.
    pub fn txs_root(&self) -> H256 {
        list_root(&self.txs)
    }

    /// The header's receipts root: [`list_root`] of the encoded receipts.
    pub fn receipts_root(&self) -> H256 {
        list_root(&self.receipts)
    }
}

/// Picks the proposer for the block after `parent_hash`, weighted by stake: a point is drawn
/// uniformly in [0, total stake) from keccak(parent hash) and the validator whose cumulative
/// stake range holds it proposes. Validators are ordered by address, so every node agrees.
pub fn select_proposer(validators: &[(Address, U256)], parent_hash: &H256) -> Option<Address> {
    let mut set: Vec<_> = validators.iter().filter(|(_, s)| !s.is_zero()).collect();
    set.sort_by_key(|(a, _)| *a);
    let total = set
        .iter()
        .fold(U256::zero(), |acc, (_, s)| acc.saturating_add(*s));
    if total.is_zero() {
        return None;
    }
    let mut seed = b"chainvm-proposer".to_vec();
    seed.extend_from_slice(parent_hash.as_bytes());
    let point = U256::from_big_endian(keccak(&seed).as_bytes()) % total;
    let mut acc = U256::zero();
    for (a, s) in set {
        acc += *s;
        if point < acc {
            return Some(*a);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u8, stake: u64) -> (Address, U256) {
        (Address::repeat_byte(n), U256::from(stake))
    }

    #[test]
    fn selection_is_deterministic_and_ignores_input_order() {
        let set = [v(1, 10), v(2, 20), v(3, 30)];
        let rev = [v(3, 30), v(2, 20), v(1, 10)];
        for i in 0..50u64 {
            let h = keccak(&i.to_be_bytes());
            assert_eq!(select_proposer(&set, &h), select_proposer(&rev, &h));
            assert_eq!(select_proposer(&set, &h), select_proposer(&set, &h));
        }
    }

    #[test]
    fn selection_is_stake_weighted() {
        let set = [v(1, 100), v(2, 300), v(3, 600), v(4, 0)];
        let mut counts = [0u32; 5];
        let n = 20_000u64;
        for i in 0..n {
            let a = select_proposer(&set, &keccak(&i.to_be_bytes())).unwrap();
            counts[a.0[0] as usize] += 1;
        }
        assert_eq!(counts[4], 0, "zero stake never proposes");
        // Expected 10% / 30% / 60%, within 2 points.
        for (i, want) in [(1, 0.1), (2, 0.3), (3, 0.6)] {
            let got = counts[i] as f64 / n as f64;
            assert!((got - want).abs() < 0.02, "validator {i}: {got}");
        }
        assert_eq!(select_proposer(&[v(1, 0)], &H256::zero()), None);
        assert_eq!(
            select_proposer(&[v(7, 5)], &H256::zero()),
            Some(Address::repeat_byte(7))
        );
    }

    #[test]
    fn double_sign_evidence_checks() {
        let key = crypto::Keypair::derive("v", 0);
        let h = Header {
            parent_hash: H256::zero(),
            height: 5,
            timestamp: 1,
            state_root: H256::zero(),
            txs_root: H256::zero(),
            receipts_root: H256::zero(),
            gas_used: 0,
            proposer: key.address(),
        };
        let mut h2 = h.clone();
        h2.timestamp = 2;
        let ev = DoubleSign {
            a: SignedHeader::sign(h.clone(), &key),
            b: SignedHeader::sign(h2.clone(), &key),
        };
        assert_eq!(ev.check(&key.public()), Ok(()));
        let same = DoubleSign {
            a: SignedHeader::sign(h.clone(), &key),
            b: SignedHeader::sign(h.clone(), &key),
        };
        assert!(same.check(&key.public()).is_err());
        let other = crypto::Keypair::derive("v", 1);
        let forged = DoubleSign {
            a: SignedHeader::sign(h, &key),
            b: SignedHeader::sign(h2, &other),
        };
        assert!(forged.check(&key.public()).is_err());
    }
}

/// A stored block with its transactions and receipts.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    /// Signed header.
    pub signed_header: SignedHeader,
    /// The certificate that made it final (none for genesis).
    pub certificate: Option<crate::finality::Certificate>,
    /// Its transactions with their receipts, in order.
    pub txs: Vec<IncludedTx>,
}

/// A transaction included in a block, with its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludedTx {
    /// The transaction.
    pub transaction: SignedTransaction,
    /// Its receipt.
    pub receipt: Receipt,
}

/// What the store keeps as a block's header record: the signed header and the certificate
/// that made it final (none for genesis, which is trusted by configuration).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CertifiedHeader {
    /// The signed header.
    pub signed_header: SignedHeader,
    /// Precommits of more than 2/3 of the height's voting power.
    pub certificate: Option<crate::finality::Certificate>,
}

impl CertifiedHeader {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Strict decoding.
    pub fn decode(bytes: &[u8]) -> Result<CertifiedHeader, std::io::Error> {
        borsh::from_slice(bytes)
    }
}

/// A block as consensus moves it: the proposer's signed header and the transactions. Its
/// receipts follow from re-execution, so they are not sent; its id is the header's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedBlock {
    /// The signed header.
    pub signed_header: SignedHeader,
    /// The transactions, in order.
    pub txs: Vec<SignedTransaction>,
}

impl ProposedBlock {
    /// The block's hash (its header's).
    pub fn hash(&self) -> H256 {
        self.signed_header.header.hash()
    }

    /// Canonical encoding: the signed header, then each transaction's own encoding.
    pub fn encode(&self) -> Vec<u8> {
        let txs: Vec<Vec<u8>> = self.txs.iter().map(|t| t.encode()).collect();
        borsh::to_vec(&(&self.signed_header, txs)).unwrap_or_default()
    }

    /// Strict decoding (each transaction strictly too).
    pub fn decode(bytes: &[u8]) -> Result<ProposedBlock, std::io::Error> {
        let (signed_header, txs): (SignedHeader, Vec<Vec<u8>>) = borsh::from_slice(bytes)?;
        let txs = txs
            .iter()
            .map(|t| SignedTransaction::decode(t))
            .collect::<Result<_, _>>()?;
        Ok(ProposedBlock { signed_header, txs })
    }
}
