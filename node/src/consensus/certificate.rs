//! Conversions between Malachite's commit certificates and the runtime's [`Certificate`]: the
//! certificate the runtime stores with a block is the one consensus decided with.

use malachitebft_app_channel::app::types::core::{
    CommitCertificate, ExtendedCommitCertificate, ExtendedCommitSignature, Round,
};

use super::context::ChainvmContext;
use super::rt::finality::{Certificate, CommitSignature};
use super::types::{BlockId, Height, Signature, ValidatorAddress};

/// A decided certificate whose round is nil (Malachite never decides in one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a commit certificate at height {0} has no round")]
pub struct NilRoundCertificate(pub u64);

/// The runtime's certificate for a certificate Malachite decided with (signatures in its order).
pub fn to_runtime(
    cert: &CommitCertificate<ChainvmContext>,
) -> Result<Certificate, NilRoundCertificate> {
    let round = cert
        .round
        .as_u32()
        .ok_or(NilRoundCertificate(cert.height.0))?;
    Ok(Certificate {
        height: cert.height.0,
        round,
        block_hash: cert.value_id.0,
        signatures: cert
            .commit_signatures
            .iter()
            .map(|s| CommitSignature {
                validator: s.address.0,
                signature: s.signature.0,
            })
            .collect(),
    })
}

/// The certificate a syncing peer receives for a stored block (no vote extensions).
pub fn to_malachite(cert: &Certificate) -> ExtendedCommitCertificate<ChainvmContext> {
    ExtendedCommitCertificate {
        height: Height(cert.height),
        round: Round::new(cert.round),
        value_id: BlockId(cert.block_hash),
        commit_signatures: cert
            .signatures
            .iter()
            .map(|s| {
                ExtendedCommitSignature::new(
                    ValidatorAddress(s.validator),
                    Signature(s.signature),
                    None,
                )
            })
            .collect(),
    }
}
