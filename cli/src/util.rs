//! Shared pieces of the CLI: the one-line error type, argument parsing, aliases and output.

use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::production::unix_time;
use chainvm_runtime::state::Retention;
use chainvm_runtime::types::hex;
pub use chainvm_runtime::types::parse_hex;
use chainvm_runtime::{Address, Chain, ChainError, GenesisConfig, Keypair, U256};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A failure, printed as one line.
#[derive(Debug)]
pub struct CliError(pub String);

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! from_display {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError(e.to_string())
            }
        }
    )*};
}
from_display!(
    chainvm_runtime::ChainError,
    chainvm_node::NodeError,
    chainvm_node::testnet::TestnetError,
    chainvm_runtime::abi::AbiError,
    chainvm_runtime::state::StoreError,
    chainvm_runtime::vm::VmError,
    std::io::Error,
    serde_json::Error
);

/// Result of a CLI step.
pub type Res<T> = Result<T, CliError>;

/// Returns an error with this message.
pub fn fail<T>(msg: impl Into<String>) -> Res<T> {
    Err(CliError(msg.into()))
}

/// Parses a 20-byte `0x` hex address.
pub fn parse_address(s: &str) -> Option<Address> {
    s.starts_with("0x")
        .then(|| parse_hex(s))
        .flatten()
        .filter(|b| b.len() == 20)
        .map(|b| Address::from_slice(&b))
}

/// Parses a decimal amount.
pub fn parse_amount(s: &str) -> Res<U256> {
    U256::from_dec_str(s).or_else(|_| {
        fail(format!(
            "`{s}` is not an amount (a non-negative decimal integer)"
        ))
    })
}

/// The dev key for `--from`: an index 0-9 or the address of a dev account.
pub fn signer(from: &str) -> Res<Keypair> {
    let keys = dev_keys();
    if let Ok(i) = from.parse::<usize>() {
        return keys.get(i).cloned().ok_or_else(|| {
            CliError(format!(
                "--from {i}: there are {} dev accounts (0-{})",
                keys.len(),
                keys.len() - 1
            ))
        });
    }
    let a = parse_address(from).ok_or_else(|| {
        CliError(format!(
            "--from `{from}`: expected a dev account index or address"
        ))
    })?;
    keys.into_iter()
        .find(|k| k.address() == a)
        .ok_or_else(|| CliError(format!("--from {from}: not a dev account (no key for it)")))
}

/// A new random validator key, for a chain that outlives the command: it signs blocks and
/// evidence can slash it, so it is secret (unlike the dev accounts' keys).
pub fn generate_validator_key() -> Res<Keypair> {
    Ok(Keypair::generate().map_err(ChainError::KeyGeneration)?)
}

/// A new dev chain in `home`: the ten funded dev accounts, `validator` staked, genesis time
/// now.
pub fn init_dev_chain(home: &Path, chain_id: u64, validator: &Keypair) -> Res<Chain> {
    init_dev_chain_with(home, chain_id, validator, Retention::Archive)
}

/// [`init_dev_chain`] keeping the state versions `retention` says.
pub fn init_dev_chain_with(
    home: &Path,
    chain_id: u64,
    validator: &Keypair,
    retention: Retention,
) -> Res<Chain> {
    let genesis = GenesisConfig::dev(chain_id, validator, unix_time());
    Ok(Chain::init_with(home, genesis, validator, retention)?)
}

/// The retention `--prune N` asks for: the last N versions, or an archive without it.
pub fn retention(prune: Option<u64>) -> Retention {
    prune.map_or(Retention::Archive, Retention::Recent)
}

const ALIASES: &str = "aliases.json";

/// Contract aliases saved in the home.
pub fn aliases(home: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(home.join(ALIASES))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

/// Saves an alias.
pub fn save_alias(home: &Path, name: &str, address: &Address) -> Res<()> {
    let mut all = aliases(home);
    all.insert(name.to_string(), hex(address.as_bytes()));
    std::fs::write(home.join(ALIASES), serde_json::to_string_pretty(&all)?)?;
    Ok(())
}

/// Resolves an address, alias or dev account index.
pub fn resolve(home: &Path, who: &str) -> Res<Address> {
    if let Some(a) = parse_address(who) {
        return Ok(a);
    }
    if let Some(a) = aliases(home).get(who).and_then(|a| parse_address(a)) {
        return Ok(a);
    }
    if let Ok(i) = who.parse::<usize>()
        && let Some(k) = dev_keys().get(i)
    {
        return Ok(k.address());
    }
    fail(format!(
        "`{who}` is not an address (0x + 40 hex digits), a known alias, or a dev account index"
    ))
}

/// The ABI of the contract at `address`.
pub fn contract_abi(chain: &crate::backend::Backend, address: &Address) -> Res<ContractAbi> {
    let Some(code) = chain.code(address)? else {
        return fail(format!("no contract at {}", hex(address.as_bytes())));
    };
    Ok(ContractAbi::from_wasm(&code)?)
}

/// Parses optional JSON arguments.
pub fn parse_args(args: Option<&str>) -> Res<Value> {
    match args {
        None => Ok(Value::Null),
        Some(s) => {
            serde_json::from_str(s).or_else(|e| fail(format!("arguments are not valid JSON: {e}")))
        }
    }
}

/// Prints `value` as JSON, or `human` for people.
pub fn emit(json_mode: bool, human: &str, value: &Value) {
    if json_mode {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{human}");
    }
}

/// The gas breakdown as a human table.
pub fn gas_table(g: &chainvm_runtime::GasReport) -> String {
    let mut rows = vec![
        ("intrinsic".to_string(), String::new(), g.intrinsic),
        ("loading".to_string(), String::new(), g.loading),
        ("memory".to_string(), String::new(), g.memory),
        ("wasm".to_string(), String::new(), g.wasm),
    ];
    for (name, h) in &g.host {
        rows.push((format!("host {name}"), h.calls.to_string(), h.gas));
    }
    let mut s = format!("{:<24} {:>7} {:>14}\n", "category", "calls", "gas");
    for (name, calls, gas) in rows {
        s += &format!("{name:<24} {calls:>7} {gas:>14}\n");
    }
    s += &format!("{:<24} {:>7} {:>14}\n", "total", "", g.total);
    s += &format!(
        "storage bytes read {} / written {}",
        g.storage_bytes_read, g.storage_bytes_written
    );
    s
}
