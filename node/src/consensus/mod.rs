//! BFT consensus among validators on Malachite 0.8.2 (Tendermint): chainvm's `Context` and
//! types, the wire codec, ed25519 signing over the runtime's vote bytes, the application loop
//! that drives the chain's propose / check / commit steps, and the engine start-up.
//!
//! | file | holds |
//! |---|---|
//! | `types.rs` | heights, addresses, keys, the validator set (with the parent hash that seeds the proposer draw), the value (a block id), votes, proposals, proposal parts |
//! | `context.rs` | `ChainvmContext`, Malachite's `Context` |
//! | `signing.rs` | the signing scheme, signed bytes per message, `Signer`/`Verifier` |
//! | `wire.rs`, `codec.rs` | borsh wire shapes; `WireCodec` with size caps and typed errors |
//! | `streaming.rs` | a block as Init/Data/Fin parts; reassembly of peers' streams |
//! | `store.rs` | undecided proposals on disk (crash recovery) |
//! | `certificate.rs` | Malachite's commit certificate <-> the runtime's |
//! | `evidence.rs` | vote equivocations reported by the engine, as the runtime's `DoubleVote` evidence |
//! | `ledger.rs` | `Ledger`: the chain steps consensus drives; `TxSource` (transactions in, equivocations out) |
//! | `chain_ledger.rs` | `Ledger` for the runtime's `Chain` |
//! | `app.rs` | the `AppMsg` loop; `app_sync.rs`: serving decided blocks to peers and checking synced ones |
//! | `engine.rs` | `start`, `ConsensusOptions`, `ConsensusHandle` |
//! | `equivocate.rs` | TEST ONLY: a signer that double-signs the node's votes at chosen heights |

mod app;
mod certificate;
mod codec;
mod context;
mod engine;
mod equivocate;
mod evidence;
mod ledger;
mod signing;
mod store;
mod streaming;
mod types;
mod wire;

mod chain_ledger;

/// The runtime's consensus API, under one short name.
mod rt {
    pub use chainvm_runtime::{PendingBlock, ProposedBlock, finality, valset};
}

pub use app::AppError;
pub use certificate::{NilRoundCertificate, to_malachite, to_runtime};
pub use codec::{CodecError, WireCodec};
pub use context::ChainvmContext;
pub use engine::{ConsensusHandle, ConsensusOptions, StartError, start};
pub use evidence::{EquivocatingVote, EvidenceLog, VoteEquivocation};
pub use ledger::{Ledger, NoTxs, TxSource};
/// libp2p addresses of validators (listen and peers).
pub use malachitebft_app_channel::app::net::Multiaddr;
pub use signing::{Ed25519Scheme, Ed25519Signer, Ed25519Verifier};
pub use store::{ProposalStore, StoreError};
pub use streaming::BlockParts;
pub use types::{BlockId, Height, ValidatorAddress, ValidatorSet};
