//! The rules around a block's transactions: begin-block, the block's gas, end-block.
//!
//! Begin-block releases the unbonding due at this height and mints the block reward (the
//! proposer's commission to its account, the rest into its pool) and counts it in the supply.
//! Each transaction must fit in the gas left in the block, and pays its fee to the proposer's
//! account. End-block moves those fees, less commission, into the proposer's pool and fixes
//! the validator set `delay` heights ahead ([`crate::valset`]). Block
//! production and verification both run blocks through [`BlockExecution`].

use super::{AdmissionError, ApplyError, Executor};
use crate::host::BlockContext;
use crate::params::ChainParams;
use crate::receipt::Receipt;
use crate::staking;
use crate::tx::SignedTransaction;
use crate::types::U256;
use chainvm_state::{Overlay, StateReader};
use chainvm_vm::Vm;

/// A block being executed: begin-block has run, transactions are applied in order within the
/// block's gas, and [`BlockExecution::end_block`] closes it.
pub struct BlockExecution<'a> {
    executor: Executor<'a>,
    params: &'a ChainParams,
    block: &'a BlockContext,
    /// Gas the block can still hold.
    gas_left: u64,
    /// Fees of the transactions applied so far (what end-block shares).
    fees: U256,
}

impl<'a> BlockExecution<'a> {
    /// Begin-block: releases the unbonding due at `block.height`, mints the block reward to
    /// the proposer (commission to its account, the rest into its pool) and adds it to the
    /// supply's minted counter.
    pub fn begin_block<R: StateReader>(
        vm: &'a Vm,
        params: &'a ChainParams,
        state: &mut Overlay<R>,
        block: &'a BlockContext,
    ) -> Result<Self, ApplyError> {
        staking::release_unbonded(state, block.height)?;
        let reward = U256::from(params.block_reward);
        staking::distribute_reward(state, &block.proposer, reward)?;
        let mut supply = staking::supply(&*state)?;
        supply.minted += reward;
        staking::set_supply(state, &supply);
        Ok(BlockExecution {
            executor: Executor::new(vm, params),
            params,
            block,
            gas_left: params.block_gas_limit,
            fees: U256::zero(),
        })
    }

    /// Applies the block's next transaction ([`Executor::apply_checked`]) if its gas limit
    /// fits in the gas left; its gas used and fee count toward the block.
    pub fn apply<R: StateReader>(
        &mut self,
        state: &mut Overlay<R>,
        tx: &SignedTransaction,
        check_signature: bool,
    ) -> Result<Receipt, ApplyError> {
        if tx.body.gas_limit > self.gas_left {
            return Err(AdmissionError::GasLimitTooHigh {
                limit: tx.body.gas_limit,
                max: self.gas_left,
            }
            .into());
        }
        let receipt = self
            .executor
            .apply_checked(state, self.block, tx, check_signature)?;
        self.gas_left -= receipt.gas_used;
        let fee = tx
            .body
            .gas_price
            .saturating_mul(U256::from(receipt.gas_used));
        self.fees = self.fees.saturating_add(fee);
        Ok(receipt)
    }

    /// End-block: the fees, less commission, go from the proposer's account into its pool
    /// (shared by its delegators); then the validator set of `height + delay` is fixed from
    /// the staking records (see [`crate::valset`]).
    pub fn end_block<R: StateReader>(self, state: &mut Overlay<R>) -> Result<(), ApplyError> {
        staking::share_fees(state, &self.block.proposer, self.fees)?;
        crate::valset::advance(state, self.block.height, self.params)?;
        Ok(())
    }
}
