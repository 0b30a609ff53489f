//! A light client: it follows a chain from its genesis to a recent header by checking commit
//! certificates and validator-set proofs only (no block is executed), then checks state
//! proofs against the headers it trusts. Nothing a node sends is believed unless it passes
//! these checks.
//!
//! **Trust argument.** The genesis config is the trust root: the genesis header (its state
//! root recomputed from the genesis writes) and the validator sets of heights `1..=delay`
//! (what genesis writes, [`crate::valset`]) come from it, not from a node. Then, by induction:
//! let header `t` be trusted, so its state root is the chain's state after block `t`, which
//! holds the sets of heights `t + 1 ..= t + delay` (they are fixed `delay` heights ahead).
//! The client learns those sets from Merkle proofs against that root
//! ([`chainvm_state::Proof::verify`]), so they are the chain's sets, whatever node sent them.
//! A header `h'` in `t + 1 ..= t + delay` whose [`Certificate`] holds precommits of more
//! than 2/3 of the power of the set of `h'` is the chain's block `h'`, as long as less than
//! a third of that set's power is faulty (the BFT assumption full nodes make too: two
//! conflicting certified blocks would need validators of more than a third of the power to
//! sign both). So `h'` becomes trusted and its root proves the sets of
//! `h' + 1 ..= h' + delay`: the client jumps `delay` heights per certificate and never needs
//! the headers in between, since nothing about them is used. Where two trusted headers are
//! consecutive the parent link is checked as well (following from genesis starts with block
//! 1, so the followed chain is anchored to the genesis hash): it catches a header certified by
//! a faulty supermajority that does not extend the trusted chain. The proposer's signature
//! is checked too (a member of the set proposed the header).
//!
//! What this does not give: the BFT assumption must hold for every set along the followed
//! path (keys of validators that have since left could sign another history: a client
//! should follow from a recent trusted header rather than from genesis once that matters;
//! trusted checkpoints are PLANNED); and freshness: the node chooses which height is the
//! latest, so a value is proven *at* a height, not proven to be the newest. A node that keeps
//! only recent states (`--prune`) cannot serve the set proofs of old heights.

use crate::block::{CertifiedHeader, Header, SignedHeader};
use crate::chain::Chain;
use crate::error::ChainError;
use crate::finality::{Certificate, CertificateError};
use crate::genesis::GenesisConfig;
use crate::genesis::PROTOCOL_VERSION;
use crate::layout;
use crate::reader::{ChainReader, StateProof};
use crate::types::{H256, hex, keccak};
use crate::valset::ValidatorSet;
use chainvm_state::ProofError;
use chainvm_state::tree::root_from_scratch;
use std::collections::BTreeMap;

/// Largest `validator_set_delay` a light client accepts: each step proves `delay` sets, and
/// the genesis writes that many.
pub const MAX_DELAY: u64 = 1_024;

/// Why a header, certificate, set or state proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LightError {
    /// The genesis config cannot be a trust root.
    #[error("genesis: {0}")]
    Genesis(String),
    /// The header's hash is not the block its certificate certifies: the header was changed.
    #[error(
        "tampered header {height}: its hash {found:?} is not the certified block {certified:?}"
    )]
    TamperedHeader {
        /// The header's height.
        height: u64,
        /// The hash of the header as sent.
        found: H256,
        /// The block hash the certificate signs.
        certified: H256,
    },
    /// The header sent is not of the height asked for.
    #[error("asked for header {expected}, got header {found}")]
    WrongHeight {
        /// The height asked for.
        expected: u64,
        /// The header's height.
        found: u64,
    },
    /// The header does not extend the trusted header before it.
    #[error(
        "header {height} does not extend the trusted chain: parent {found:?}, trusted {expected:?}"
    )]
    BadParentLink {
        /// The header's height.
        height: u64,
        /// The hash of the trusted header at `height - 1`.
        expected: H256,
        /// The header's parent hash.
        found: H256,
    },
    /// A header above genesis came without a certificate.
    #[error("header {height} has no commit certificate")]
    MissingCertificate {
        /// The header's height.
        height: u64,
    },
    /// The certificate does not prove the header final for the trusted set of its height
    /// (short of 2/3, a signer outside the set, a bad or duplicate signature).
    #[error("certificate of header {height} refused: {source}")]
    Certificate {
        /// The header's height.
        height: u64,
        /// What is wrong with it.
        #[source]
        source: CertificateError,
    },
    /// The header's proposer is not in its height's set or did not sign it.
    #[error("header {height}: proposer {proposer} is not in the set or its signature is bad")]
    ProposerSignature {
        /// The header's height.
        height: u64,
        /// The proposer it names (hex).
        proposer: String,
    },
    /// A validator set sent with a header is not the one its state commits to.
    #[error("validator set of height {set_height} at header {at} refused: {fault}")]
    WrongValidatorSet {
        /// The height the set certifies.
        set_height: u64,
        /// The trusted header whose root it was checked against.
        at: u64,
        /// What is wrong.
        fault: SetFault,
    },
    /// A header the client cannot verify from what it trusts: the sets it knows certify only
    /// heights `from..=to`.
    #[error(
        "header {height} cannot be verified from the trusted state: only heights {from}..={to}"
    )]
    OutsideWindow {
        /// The header's height.
        height: u64,
        /// First verifiable height.
        from: u64,
        /// Last verifiable height.
        to: u64,
    },
    /// A state proof was asked at a header the client does not trust.
    #[error("header {height} is not trusted (latest trusted: {latest})")]
    NotTrusted {
        /// The height asked.
        height: u64,
        /// The latest trusted height.
        latest: u64,
    },
    /// A state proof does not verify against the trusted header's root.
    #[error("state proof of key {key} at header {height} refused: {source}")]
    StateProof {
        /// The key (hex).
        key: String,
        /// The trusted header.
        height: u64,
        /// Why.
        #[source]
        source: ProofError,
    },
    /// The source (a node) could not answer.
    #[error("could not fetch {what}: {reason}")]
    Source {
        /// What was asked.
        what: String,
        /// The source's error.
        reason: String,
    },
}

/// What is wrong with a validator set sent with a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetFault {
    /// Its proof does not verify against the header's state root.
    #[error("proof does not verify against the state root: {0}")]
    Proof(ProofError),
    /// The state proves the key absent.
    #[error("the state holds no set for that height")]
    Absent,
    /// The proven value is not a validator set.
    #[error("the proven value is not a validator set")]
    Undecodable,
    /// It differs from the set already trusted for that height.
    #[error("it differs from the set already trusted for that height")]
    Mismatch,
    /// Not one proof per height `h + 1 ..= h + delay`.
    #[error("expected {expected} set proofs, got {found}")]
    Count {
        /// `delay`.
        expected: u64,
        /// Proofs sent.
        found: usize,
    },
}

/// One step of the client: a header, its certificate, and the proofs of the validator sets
/// its state holds (`valset_key(h + 1 ..= h + delay)`, in height order; each proof's `root`
/// is ignored: the header's is used).
#[derive(Debug, Clone)]
pub struct Step {
    /// The header.
    pub signed_header: SignedHeader,
    /// Its commit certificate.
    pub certificate: Certificate,
    /// The set proofs at the header's state.
    pub sets: Vec<StateProof>,
}

/// Where a light client fetches from: a node over RPC, or a chain in process. Nothing it
/// returns is trusted.
pub trait LightSource {
    /// The source's error.
    type Error: std::fmt::Display;
    /// The header at `height` with its certificate (`None`: no such block).
    fn certified_header(&self, height: u64) -> Result<Option<CertifiedHeader>, Self::Error>;
    /// `key`'s value and proof at the state after block `height`.
    fn prove(&self, key: &[u8], height: u64) -> Result<StateProof, Self::Error>;
}

impl LightSource for ChainReader {
    type Error = ChainError;
    fn certified_header(&self, height: u64) -> Result<Option<CertifiedHeader>, ChainError> {
        ChainReader::certified_header(self, height)
    }
    fn prove(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        ChainReader::prove(self, key, Some(height))
    }
}

impl LightSource for Chain {
    type Error = ChainError;
    fn certified_header(&self, height: u64) -> Result<Option<CertifiedHeader>, ChainError> {
        self.reader.certified_header(height)
    }
    fn prove(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        self.reader.prove(key, Some(height))
    }
}

/// A client that trusts a chain's genesis and follows it by certificates (see the module
/// documentation for why that is sound).
#[derive(Debug, Clone)]
pub struct LightClient {
    delay: u64,
    /// The latest trusted header.
    latest: Header,
    /// Every header trusted so far, genesis and the latest included.
    headers: BTreeMap<u64, Header>,
    /// The sets of heights `latest + 1 ..= latest + delay`, as the latest trusted state holds
    /// them.
    sets: BTreeMap<u64, ValidatorSet>,
    certificates_checked: u64,
}

/// A source's failure to answer for `what`.
fn unavailable(what: String, e: impl std::fmt::Display) -> LightError {
    LightError::Source {
        what,
        reason: e.to_string(),
    }
}

impl LightClient {
    /// A client trusting `config`'s genesis: the genesis header and the sets of heights
    /// `1..=delay` are computed from the config alone, the same writes genesis commits.
    pub fn from_genesis(config: &GenesisConfig) -> Result<LightClient, LightError> {
        if config.protocol_version != PROTOCOL_VERSION {
            return Err(LightError::Genesis(format!(
                "protocol version {}, this client checks version {PROTOCOL_VERSION}",
                config.protocol_version
            )));
        }
        let delay = config.params.validator_set_delay.max(1);
        if delay > MAX_DELAY {
            return Err(LightError::Genesis(format!(
                "validator set delay {delay} is above the {MAX_DELAY} a light client follows"
            )));
        }
        let genesis_error = |e: ChainError| LightError::Genesis(e.to_string());
        let writes = config
            .genesis()
            .map_err(genesis_error)?
            .writes(&config.params)
            .map_err(genesis_error)?;
        let leaves: Vec<_> = writes
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (keccak(k).0, keccak(v).0)))
            .collect();
        let header = config.header_with_root(H256(root_from_scratch(&leaves)));
        let mut sets = BTreeMap::new();
        for h in 1..=delay {
            let bytes = writes
                .get(&layout::valset_key(h))
                .and_then(Option::as_ref)
                .ok_or_else(|| LightError::Genesis(format!("no validator set of height {h}")))?;
            let set: ValidatorSet = borsh::from_slice(bytes)
                .map_err(|e| LightError::Genesis(format!("validator set of height {h}: {e}")))?;
            sets.insert(h, set);
        }
        Ok(LightClient {
            delay,
            latest: header.clone(),
            headers: BTreeMap::from([(0, header)]),
            sets,
            certificates_checked: 0,
        })
    }

    /// The chain's `validator_set_delay`: how far past a trusted header the client can jump.
    pub fn delay(&self) -> u64 {
        self.delay
    }

    /// The latest trusted header.
    pub fn latest(&self) -> &Header {
        &self.latest
    }

    /// The trusted header at `height`, if the client trusts one there.
    pub fn header(&self, height: u64) -> Option<&Header> {
        self.headers.get(&height)
    }

    /// The hash of the genesis header (the chain's identity).
    pub fn genesis_hash(&self) -> H256 {
        self.headers.get(&0).map(Header::hash).unwrap_or_default()
    }

    /// The set the client trusts for block `height` (heights `latest + 1 ..= latest + delay`).
    pub fn validator_set(&self, height: u64) -> Option<&ValidatorSet> {
        self.sets.get(&height)
    }

    /// How many certificates have been checked and accepted so far.
    pub fn certificates_checked(&self) -> u64 {
        self.certificates_checked
    }

    /// The heights the client can verify a header at now.
    pub fn window(&self) -> std::ops::RangeInclusive<u64> {
        let latest = self.latest().height;
        latest.saturating_add(1)..=latest.saturating_add(self.delay)
    }

    /// Checks one step and, if every check passes, trusts its header and learns the sets its
    /// state holds; on any failure nothing changes. The checks: the height is in
    /// [`LightClient::window`]; the certificate certifies this header's hash at its height
    /// with more than 2/3 of the trusted set's power; the proposer is a member and signed the
    /// header; the parent hash is the trusted header below, when there is one; each set
    /// proof verifies against the header's state root and agrees with a set already trusted
    /// for that height.
    pub fn advance(&mut self, step: &Step) -> Result<&Header, LightError> {
        let header = &step.signed_header.header;
        let height = header.height;
        let window = self.window();
        let Some(set) = self.sets.get(&height).filter(|_| window.contains(&height)) else {
            return Err(LightError::OutsideWindow {
                height,
                from: *window.start(),
                to: *window.end(),
            });
        };
        let hash = header.hash();
        if step.certificate.block_hash != hash {
            return Err(LightError::TamperedHeader {
                height,
                found: hash,
                certified: step.certificate.block_hash,
            });
        }
        step.certificate
            .verify(set, height, &hash)
            .map_err(|source| LightError::Certificate { height, source })?;
        let proposer_ok = set
            .get(&header.proposer)
            .is_some_and(|m| step.signed_header.verify(&m.public_key));
        if !proposer_ok {
            return Err(LightError::ProposerSignature {
                height,
                proposer: hex(header.proposer.as_bytes()),
            });
        }
        if let Some(parent) = self.headers.get(&(height - 1)) {
            let expected = parent.hash();
            if header.parent_hash != expected {
                return Err(LightError::BadParentLink {
                    height,
                    expected,
                    found: header.parent_hash,
                });
            }
        }
        let sets = self.proven_sets(height, &header.state_root, &step.sets)?;
        self.sets = sets;
        self.certificates_checked += 1;
        self.headers.insert(height, header.clone());
        self.latest = header.clone();
        Ok(&self.latest)
    }

    /// The sets of `at + 1 ..= at + delay` from `proofs` against `root` (the state after the
    /// header `at`), each checked against any set already trusted for its height.
    fn proven_sets(
        &self,
        at: u64,
        root: &H256,
        proofs: &[StateProof],
    ) -> Result<BTreeMap<u64, ValidatorSet>, LightError> {
        if proofs.len() as u64 != self.delay {
            return Err(LightError::WrongValidatorSet {
                set_height: at + 1,
                at,
                fault: SetFault::Count {
                    expected: self.delay,
                    found: proofs.len(),
                },
            });
        }
        let mut sets = BTreeMap::new();
        for (set_height, p) in (at + 1..).zip(proofs) {
            let fail = |fault| LightError::WrongValidatorSet {
                set_height,
                at,
                fault,
            };
            let key = layout::valset_key(set_height);
            p.proof
                .verify(&root.0, &key, p.value.as_deref())
                .map_err(|e| fail(SetFault::Proof(e)))?;
            let bytes = p.value.as_deref().ok_or_else(|| fail(SetFault::Absent))?;
            let set: ValidatorSet =
                borsh::from_slice(bytes).map_err(|_| fail(SetFault::Undecodable))?;
            if self
                .sets
                .get(&set_height)
                .is_some_and(|known| *known != set)
            {
                return Err(fail(SetFault::Mismatch));
            }
            sets.insert(set_height, set);
        }
        Ok(sets)
    }

    /// Fetches and checks one step: the header at `height` with its certificate, and the
    /// set proofs at its state.
    pub fn step_to<S: LightSource>(
        &mut self,
        source: &S,
        height: u64,
    ) -> Result<&Header, LightError> {
        let window = self.window();
        if !window.contains(&height) {
            return Err(LightError::OutsideWindow {
                height,
                from: *window.start(),
                to: *window.end(),
            });
        }
        let certified = source
            .certified_header(height)
            .map_err(|e| unavailable(format!("header {height}"), e))?
            .ok_or_else(|| LightError::Source {
                what: format!("header {height}"),
                reason: "the source has no such block".into(),
            })?;
        let found = certified.signed_header.header.height;
        if found != height {
            return Err(LightError::WrongHeight {
                expected: height,
                found,
            });
        }
        let certificate = certified
            .certificate
            .ok_or(LightError::MissingCertificate { height })?;
        let mut sets = Vec::new();
        for h in height.saturating_add(1)..=height.saturating_add(self.delay) {
            let proof = source
                .prove(&layout::valset_key(h), height)
                .map_err(|e| unavailable(format!("validator set {h} at header {height}"), e))?;
            sets.push(proof);
        }
        self.advance(&Step {
            signed_header: certified.signed_header,
            certificate,
            sets,
        })
    }

    /// Follows the chain from the latest trusted header to `target`, `delay` heights per
    /// certificate (the last step shorter; from genesis, block 1 first, so the parent link
    /// to the genesis hash is checked): from genesis `1 + ceil((target - 1) / delay)` headers
    /// are fetched and checked. Returns the number of certificates checked.
    pub fn follow<S: LightSource>(&mut self, source: &S, target: u64) -> Result<u64, LightError> {
        let start = self.certificates_checked;
        let latest = self.latest().height;
        if target < latest && !self.headers.contains_key(&target) {
            return Err(LightError::NotTrusted {
                height: target,
                latest,
            });
        }
        while self.latest().height < target {
            // From genesis the first step is block 1, whose parent link anchors the followed
            // chain to this genesis hash; then `delay` heights per step.
            let from = self.latest().height;
            let jump = if from == 0 { 1 } else { self.delay };
            let next = target.min(from.saturating_add(jump));
            self.step_to(source, next)?;
        }
        Ok(self.certificates_checked - start)
    }

    /// Checks that under the trusted header `height`'s state root, `key` holds `proof.value`
    /// (absent if `None`). The proof's own `root` is ignored.
    pub fn verify_state(
        &self,
        height: u64,
        key: &[u8],
        proof: &StateProof,
    ) -> Result<(), LightError> {
        let header = self.headers.get(&height).ok_or(LightError::NotTrusted {
            height,
            latest: self.latest().height,
        })?;
        proof
            .proof
            .verify(&header.state_root.0, key, proof.value.as_deref())
            .map_err(|source| LightError::StateProof {
                key: hex(key),
                height,
                source,
            })
    }

    /// Fetches `key`'s value at the trusted header `height` and checks its proof: the
    /// value (`None`: proven absent).
    pub fn prove<S: LightSource>(
        &self,
        source: &S,
        key: &[u8],
        height: u64,
    ) -> Result<Option<Vec<u8>>, LightError> {
        if !self.headers.contains_key(&height) {
            return Err(LightError::NotTrusted {
                height,
                latest: self.latest().height,
            });
        }
        let proof = source
            .prove(key, height)
            .map_err(|e| unavailable(format!("proof of key {} at {height}", hex(key)), e))?;
        self.verify_state(height, key, &proof)?;
        Ok(proof.value)
    }
}
