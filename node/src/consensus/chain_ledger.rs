//! [`Ledger`] for the runtime's [`Chain`]: each step is the chain's own (`propose_block`,
//! `check_proposal`, `commit_block`), and sync serves stored blocks with their certificates.

use super::ledger::Ledger;
use super::rt::finality::Certificate;
use super::rt::valset::ValidatorSet;
use super::rt::{PendingBlock, ProposedBlock};
use chainvm_runtime::error::{Damage, Record};
use chainvm_runtime::{Chain, ChainError, H256, Keypair, SignedTransaction};

impl Ledger for Chain {
    type Error = ChainError;

    fn tip(&self) -> Result<(u64, H256), ChainError> {
        let height = self.height()?;
        let header = self.header(height)?.ok_or(ChainError::Corrupt {
            record: Record::Header,
            height,
            damage: Damage::Missing,
        })?;
        Ok((height, header.header.hash()))
    }

    fn validator_set(&self, height: u64) -> Result<Option<ValidatorSet>, ChainError> {
        Chain::validator_set(self, height)
    }

    fn local_key(&self) -> Keypair {
        self.validator_key().clone()
    }

    fn propose_block(
        &self,
        txs: &[SignedTransaction],
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        Chain::propose_block(self, txs, round)
    }

    fn check_proposal(
        &self,
        block: &ProposedBlock,
        round: u32,
    ) -> Result<PendingBlock, ChainError> {
        Chain::check_proposal(self, block, round)
    }

    fn commit_block(
        &mut self,
        pending: PendingBlock,
        certificate: Certificate,
    ) -> Result<(), ChainError> {
        Chain::commit_block(self, pending, certificate).map(|_| ())
    }

    fn decided(&self, height: u64) -> Result<Option<(ProposedBlock, Certificate)>, ChainError> {
        let Some(stored) = self.block(height)? else {
            return Ok(None);
        };
        let Some(certificate) = stored.certificate else {
            // Genesis: trusted by configuration, never synced.
            return Ok(None);
        };
        let block = ProposedBlock {
            signed_header: stored.signed_header,
            txs: stored.txs.into_iter().map(|t| t.transaction).collect(),
        };
        Ok(Some((block, certificate)))
    }

    fn history_min_height(&self) -> Result<u64, ChainError> {
        // Every block and certificate is kept (retention prunes state versions, not blocks).
        Ok(1)
    }
}
