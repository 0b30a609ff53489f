//! Value sync on the application side: serving this node's decided blocks with their
//! certificates to peers that lag, and checking a block a peer synced to this node (a
//! `check_proposal` of the certificate's round; the commit follows on `Decided`).

use super::{App, Ctx, MAX_SYNC_BATCH, Undecided};
use crate::consensus::certificate::to_malachite;
use crate::consensus::ledger::Ledger;
use crate::consensus::rt::ProposedBlock;
use crate::consensus::types::{BlockId, Height, ValidatorAddress};
use malachitebft_app_channel::app::engine::host::SyncedValueOutcome;
use malachitebft_app_channel::app::types::ProposedValue;
use malachitebft_app_channel::app::types::core::{Round, Validity};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use tracing::{debug, warn};

impl<L: Ledger> App<L> {
    /// The decided blocks `start..=end` (at most [`MAX_SYNC_BATCH`]) with their certificates,
    /// for a peer that syncs; the list stops at the first height not stored.
    pub(super) async fn decided_values(&self, start: u64, end: u64) -> Vec<RawDecidedValue<Ctx>> {
        let end = end.min(start.saturating_add(MAX_SYNC_BATCH - 1));
        let fetched = self
            .with_ledger(move |l| {
                let mut out = Vec::new();
                for h in start..=end {
                    match l.decided(h)? {
                        Some(d) => out.push(d),
                        None => break,
                    }
                }
                Ok(out)
            })
            .await;
        match fetched {
            Ok(list) => list
                .into_iter()
                .map(|(block, cert)| {
                    RawDecidedValue::new(block.encode().into(), to_malachite(&cert))
                })
                .collect(),
            Err(e) => {
                warn!(%e, "cannot serve decided values");
                Vec::new()
            }
        }
    }

    /// Checks a block a peer synced for the current height and keeps it for `Decided`.
    pub(super) async fn synced(
        &mut self,
        height: Height,
        round: Round,
        proposer: ValidatorAddress,
        bytes: &[u8],
    ) -> SyncedValueOutcome<Ctx> {
        let Ok(block) = ProposedBlock::decode(bytes) else {
            return SyncedValueOutcome::PeerFault;
        };
        let id = BlockId(block.hash());
        if height != self.height {
            return SyncedValueOutcome::LocalTransientError;
        }
        debug!(%height, block = %id, "checking a synced block");
        let Some(r) = round.as_u32() else {
            return SyncedValueOutcome::PeerFault;
        };
        let checked = self.with_ledger(move |l| l.check_proposal(&block, r)).await;
        let (validity, pending) = match checked {
            Ok(p) => (Validity::Valid, Some(p)),
            Err(e) => {
                warn!(%height, block = %id, %e, "synced block fails re-execution");
                (Validity::Invalid, None)
            }
        };
        let value = ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer,
            value: id,
            validity,
        };
        if let Some(pending) = pending {
            self.undecided.insert(
                (height, id),
                Undecided {
                    parts: None,
                    pending: Some(pending),
                    value: value.clone(),
                },
            );
        }
        SyncedValueOutcome::Verdict(value)
    }
}
