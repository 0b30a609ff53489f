//! The home directory of an on-disk chain: which files it holds and how they are written and
//! read back.
//!
//! - `genesis.json`: the [`GenesisConfig`] (its `protocol_version` is checked on open);
//! - `validator.key`: the local validator's secret seed in hex, created `0600` and never
//!   overwritten;
//! - `chain.redb`: the store ([`chainvm_state::Store`]);
//! - `cache/`: compiled contract modules (a cache: safe to delete).

use crate::crypto::Keypair;
use crate::error::ChainError;
use crate::genesis::{GenesisConfig, PROTOCOL_VERSION};
use crate::types::{hex, parse_hex};
use std::path::{Path, PathBuf};

/// The genesis configuration file.
pub const GENESIS_FILE: &str = "genesis.json";
/// The local validator's secret key file.
pub const VALIDATOR_KEY_FILE: &str = "validator.key";

/// Where the VM keeps compiled modules for the chain in `home`.
pub fn cache_dir(home: &Path) -> PathBuf {
    home.join("cache")
}

/// Whether `home` already holds a chain's store.
pub fn holds_chain(home: &Path) -> bool {
    home.join(chainvm_state::store::DB_FILE).exists()
}

/// Creates `home` (if needed) and writes the genesis file and the validator key into it.
/// Refuses a directory that already holds a chain.
pub fn write(home: &Path, config: &GenesisConfig, validator: &Keypair) -> Result<(), ChainError> {
    if holds_chain(home) {
        return Err(ChainError::Config(format!(
            "{} already holds a chain (remove it or use another --home)",
            home.display()
        )));
    }
    std::fs::create_dir_all(home).map_err(io(home))?;
    let genesis = home.join(GENESIS_FILE);
    let text = serde_json::to_string_pretty(config).map_err(json(&genesis))?;
    std::fs::write(&genesis, text.as_bytes()).map_err(io(&genesis))?;
    let key = home.join(VALIDATOR_KEY_FILE);
    write_secret(&key, hex(&validator.secret()).as_bytes()).map_err(io(&key))
}

/// Maps an I/O error on `path` to [`ChainError::Io`].
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ChainError + '_ {
    move |source| ChainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Maps a JSON error in `path` to [`ChainError::Json`].
fn json(path: &Path) -> impl FnOnce(serde_json::Error) -> ChainError + '_ {
    move |source| ChainError::Json {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the genesis configuration and the validator key of the chain in `home`. A genesis
/// file of another protocol version is refused with what to do about it.
pub fn read(home: &Path) -> Result<(GenesisConfig, Keypair), ChainError> {
    let read = |path: &Path| std::fs::read_to_string(path).map_err(io(path));
    let config = parse_genesis(&home.join(GENESIS_FILE), |found| {
        format!(
            "{} was created by chainvm protocol version {found}; this chainvm runs version \
             {PROTOCOL_VERSION}: start a new chain with `chainvm init --force`",
            home.display()
        )
    })?;
    let seed: [u8; 32] = parse_hex(&read(&home.join(VALIDATOR_KEY_FILE))?)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ChainError::Config(format!("{VALIDATOR_KEY_FILE} is not a 32-byte hex key"))
        })?;
    Ok((config, Keypair::from_seed(&seed)))
}

/// Reads a `genesis.json` file (a home's, or one given to a light client as its trust root),
/// refusing one of another protocol version.
pub fn read_genesis(path: &Path) -> Result<GenesisConfig, ChainError> {
    parse_genesis(path, |found| {
        format!(
            "{} is a genesis of chainvm protocol version {found}; this chainvm runs version \
             {PROTOCOL_VERSION}",
            path.display()
        )
    })
}

/// Parses the genesis file at `path`; another protocol version is refused with
/// `refusal(found version)`.
fn parse_genesis(
    path: &Path,
    refusal: impl FnOnce(u64) -> String,
) -> Result<GenesisConfig, ChainError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(json(path))?;
    let version = value.get("protocol_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(PROTOCOL_VERSION)) {
        return Err(ChainError::Config(refusal(version.unwrap_or(1))));
    }
    serde_json::from_value(value).map_err(json(path))
}

/// Writes a file only its owner can read or write (created so: never world-readable, not even
/// for an instant), refusing to overwrite one.
fn write_secret(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}
