//! The genesis: its configuration (`genesis.json`: protocol version, parameters, accounts,
//! validators, time), the dev accounts, and the state it writes (funded accounts, validators
//! with their self-bond, the supply counters).

use crate::block::{Header, list_root};
use crate::crypto::Keypair;
use crate::error::ChainError;
use crate::layout::{account, set_account};
use crate::params::ChainParams;
use crate::staking::{self, Registration, Supply};
use crate::types::{Address, H256, U256, address_of};
use crate::types::{hex, parse_hex};
use crate::valset::{SetMember, ValidatorSet, power_of};
use chainvm_state::{Overlay, StateWrites};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the chain starts with.
#[derive(Debug, Clone, Default)]
pub struct Genesis {
    /// Funded accounts.
    pub accounts: Vec<(Address, U256)>,
    /// Validators bonded at genesis; their stake is part of the supply.
    pub validators: Vec<InitialValidator>,
}

/// A validator bonded at genesis, its key decoded and checked ([`GenesisValidator`] is the
/// form `genesis.json` holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialValidator {
    /// The validator's address: the address of `public_key`.
    pub address: Address,
    /// Its consensus key.
    pub public_key: [u8; 32],
    /// The self-bond.
    pub stake: U256,
    /// Commission on rewards and fees, in basis points.
    pub commission_bps: u32,
}

impl Genesis {
    /// The state writes of the genesis block (the validator sets of the first heights take
    /// `params`' delay).
    pub fn writes(&self, params: &ChainParams) -> Result<StateWrites, ChainError> {
        let empty: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut o = Overlay::new(&empty);
        let mut total = U256::zero();
        for (a, amount) in &self.accounts {
            let mut acct = account(&o, a)?;
            acct.balance += *amount;
            set_account(&mut o, a, &acct);
            total += *amount;
        }
        for v in &self.validators {
            // Credit, then bond, so the stake goes through the same path as a transaction.
            let mut acct = account(&o, &v.address)?;
            acct.balance += v.stake;
            set_account(&mut o, &v.address, &acct);
            total += v.stake;
            staking::bond_new(&mut o, &v.address, v.public_key, v.commission_bps, v.stake)?
                .map_err(|refusal| ChainError::GenesisValidator {
                    address: v.address,
                    refusal,
                })?;
        }
        staking::set_supply(
            &mut o,
            &Supply {
                genesis: total,
                ..Supply::default()
            },
        );
        let set = ValidatorSet::new(self.validators.iter().map(|v| SetMember {
            address: v.address,
            public_key: v.public_key,
            power: power_of(v.stake),
        }));
        crate::valset::write_genesis(&mut o, &set, params);
        Ok(o.into_writes())
    }
}

/// Seed phrase of the dev accounts every `chainvm init` creates (like anvil's mnemonic).
pub const DEV_SEED: &str = "chainvm dev accounts";
/// Number of dev accounts.
pub const DEV_ACCOUNTS: u32 = 10;
/// Balance of each dev account: 10^24.
pub fn dev_balance() -> U256 {
    U256::exp10(24)
}

/// Version of the execution rules outside the VM (state layout, staking, block rules). A home
/// created under another version is refused with a clear error instead of misread. The gas
/// schedule has its own version in the VM.
///
/// - 1: the first chain.
/// - 2: validator registration and delegation by pool shares, unbonding keyed by release height.
/// - 3: validator sets per height in the state (delayed, capped), commit certificates stored
///   with every block.
pub const PROTOCOL_VERSION: u32 = 3;

/// The chain's genesis: parameters, initial accounts and validators, and time. Stored as
/// `genesis.json` in the home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisConfig {
    /// The [`PROTOCOL_VERSION`] the chain was created with.
    pub protocol_version: u32,
    /// Chain parameters.
    pub params: ChainParams,
    /// Genesis timestamp (seconds).
    pub timestamp: u64,
    /// Funded accounts.
    pub accounts: Vec<(Address, U256)>,
    /// Validators registered at genesis.
    pub validators: Vec<GenesisValidator>,
}

/// A validator registered at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisValidator {
    /// Its address: the address of its public key.
    pub address: Address,
    /// Its ed25519 consensus key (hex).
    pub public_key: String,
    /// Its self-bond.
    pub stake: U256,
    /// Share of block rewards it keeps before delegators are paid, in basis points.
    pub commission_bps: u32,
}

/// Commission of the dev chain's validator: 10 %.
pub const DEV_COMMISSION_BPS: u32 = 1_000;

impl GenesisConfig {
    /// A dev chain: the ten dev accounts funded, one validator with stake, and registration
    /// permitted to that validator only (so no dev account can become a proposer the node
    /// has no key for; staking from them is delegation).
    pub fn dev(chain_id: u64, validator: &Keypair, timestamp: u64) -> GenesisConfig {
        let params = ChainParams {
            chain_id,
            registration: Registration::Permissioned(vec![validator.address()]),
            ..ChainParams::default()
        };
        GenesisConfig {
            protocol_version: PROTOCOL_VERSION,
            params,
            timestamp,
            accounts: dev_keys()
                .iter()
                .map(|k| (k.address(), dev_balance()))
                .collect(),
            validators: vec![GenesisValidator {
                address: validator.address(),
                public_key: hex(&validator.public()),
                stake: U256::exp10(24),
                commission_bps: DEV_COMMISSION_BPS,
            }],
        }
    }

    /// A network of validators: the ten dev accounts funded as on a dev chain, each of
    /// `validators` (consensus key, self-bond) bonded with the dev commission and its own
    /// account funded (so it can send evidence and staking transactions), and registration
    /// permitted to these validators only.
    pub fn testnet(
        chain_id: u64,
        validators: &[([u8; 32], U256)],
        timestamp: u64,
    ) -> GenesisConfig {
        let addresses: Vec<Address> = validators.iter().map(|(k, _)| address_of(k)).collect();
        let mut accounts: Vec<(Address, U256)> = dev_keys()
            .iter()
            .map(|k| (k.address(), dev_balance()))
            .collect();
        accounts.extend(addresses.iter().map(|a| (*a, dev_balance())));
        GenesisConfig {
            protocol_version: PROTOCOL_VERSION,
            params: ChainParams {
                chain_id,
                registration: Registration::Permissioned(addresses),
                ..ChainParams::default()
            },
            timestamp,
            accounts,
            validators: validators
                .iter()
                .map(|(key, stake)| GenesisValidator {
                    address: address_of(key),
                    public_key: hex(key),
                    stake: *stake,
                    commission_bps: DEV_COMMISSION_BPS,
                })
                .collect(),
        }
    }

    /// The genesis header over `state_root` (the root of [`Genesis::writes`]): the one place
    /// its fields are chosen, for the chain that commits it and the light client that
    /// recomputes it from this config.
    pub(crate) fn header_with_root(&self, state_root: H256) -> Header {
        Header {
            parent_hash: H256::zero(),
            height: 0,
            timestamp: self.timestamp,
            state_root,
            txs_root: list_root(&[]),
            receipts_root: list_root(&[]),
            gas_used: 0,
            proposer: Address::zero(),
        }
    }

    pub(crate) fn genesis(&self) -> Result<Genesis, ChainError> {
        let validators = self
            .validators
            .iter()
            .map(|v| {
                let pk: [u8; 32] = parse_hex(&v.public_key)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| {
                        ChainError::Config(format!("bad validator key {}", v.public_key))
                    })?;
                if address_of(&pk) != v.address {
                    return Err(ChainError::Config(format!(
                        "validator {:?} is not the address of its key {}",
                        v.address, v.public_key
                    )));
                }
                if v.commission_bps > staking::BPS {
                    return Err(ChainError::Config(format!(
                        "validator {:?}: commission {} bps is above 10000",
                        v.address, v.commission_bps
                    )));
                }
                Ok(InitialValidator {
                    address: v.address,
                    public_key: pk,
                    stake: v.stake,
                    commission_bps: v.commission_bps,
                })
            })
            .collect::<Result<_, ChainError>>()?;
        Ok(Genesis {
            accounts: self.accounts.clone(),
            validators,
        })
    }
}

/// The dev account keys, derived from [`DEV_SEED`].
pub fn dev_keys() -> Vec<Keypair> {
    (0..DEV_ACCOUNTS)
        .map(|i| Keypair::derive(DEV_SEED, i))
        .collect()
}
