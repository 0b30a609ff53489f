//! Chain parameters: limits and the gas charged outside the VM.

use crate::staking::Registration;
use chainvm_vm::VmConfig;
use serde::{Deserialize, Serialize};

/// Gas charged for a transaction before any code runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrinsicCosts {
    /// Every transaction (signature check, nonce and balance bookkeeping).
    pub base: u64,
    /// Per byte of the encoded transaction.
    pub per_byte: u64,
    /// Per byte of deployed code (validation, instrumentation, compilation, storage).
    pub deploy_per_code_byte: u64,
}

/// Parameters every node of a chain must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainParams {
    /// Chain id carried by every transaction.
    pub chain_id: u64,
    /// Most gas one block may use; also the most one transaction may ask for.
    pub block_gas_limit: u64,
    /// Largest encoded transaction, in bytes.
    pub max_tx_size: usize,
    /// Intrinsic gas.
    pub intrinsic: IntrinsicCosts,
    /// Deepest contract-to-contract call chain (the top-level call is depth 1).
    pub max_call_depth: u32,
    /// Whether a contract already on the call stack may be called again.
    pub allow_reentrancy: bool,
    /// Blocks between `unstake` and the release of the stake.
    pub unbonding_period: u64,
    /// Newly minted reward for the proposer of each block.
    pub block_reward: u128,
    /// Fraction of stake slashed for double signing, in basis points.
    pub slash_bps: u32,
    /// Who may register new validators (genesis validators are registered by genesis).
    #[serde(default)]
    pub registration: Registration,
    /// Most event bytes (topic + data, reverted events included) one transaction may emit;
    /// the emit that would exceed it fails its call with `EventBytesExceeded`. One event is
    /// further capped by the host ABI (`chainvm_abi::limits`: 256-byte topic, 64 KiB data).
    #[serde(default = "default_max_event_bytes_per_tx")]
    pub max_event_bytes_per_tx: u64,
    /// Most event bytes one block may carry, so a block's events always fit the node's
    /// buffers. A transaction may emit at most what is left of it (and its own cap): the
    /// emit that would exceed it fails its call with `EventBytesExceeded` (scope `block`),
    /// so a block never goes over, decided in block order by producer and verifier alike.
    #[serde(default = "default_max_event_bytes_per_block")]
    pub max_event_bytes_per_block: u64,
    /// Heights between a change of stake and its effect on the validator set: the end of
    /// block `h` fixes the set of block `h + delay` (at least 1).
    #[serde(default = "default_validator_set_delay")]
    pub validator_set_delay: u64,
    /// Most voting power the set may change by from one height to the next, in basis points
    /// of the total (below 1/3, so consecutive sets always share a quorum); larger changes
    /// are spread over several heights.
    #[serde(default = "default_max_power_change_bps")]
    pub max_power_change_bps: u32,
}

/// The set of block `h + 2` is fixed at the end of block `h`.
fn default_validator_set_delay() -> u64 {
    2
}

/// A quarter of the voting power per height at most.
fn default_max_power_change_bps() -> u32 {
    2_500
}

/// 1 MiB of events per transaction.
fn default_max_event_bytes_per_tx() -> u64 {
    1 << 20
}

/// 8 MiB of events per block.
fn default_max_event_bytes_per_block() -> u64 {
    8 << 20
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            chain_id: 1337,
            block_gas_limit: 50_000_000_000,
            max_tx_size: 1_200_000,
            intrinsic: IntrinsicCosts {
                base: 200_000,
                per_byte: 100,
                deploy_per_code_byte: 10_000,
            },
            max_call_depth: 8,
            allow_reentrancy: false,
            unbonding_period: 10,
            block_reward: 2_000_000_000_000_000_000,
            slash_bps: 500,
            registration: Registration::Closed,
            max_event_bytes_per_tx: default_max_event_bytes_per_tx(),
            max_event_bytes_per_block: default_max_event_bytes_per_block(),
            validator_set_delay: default_validator_set_delay(),
            max_power_change_bps: default_max_power_change_bps(),
        }
    }
}

impl ChainParams {
    /// The VM configuration for these parameters.
    pub fn vm_config(&self) -> VmConfig {
        let mut c = VmConfig::default();
        c.runtime.max_call_depth = self.max_call_depth;
        c
    }
}
