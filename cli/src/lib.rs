//! `chainvm`: a local single-validator proof-of-stake chain for Rust/wasm contracts.
//!
//! Every state-changing command produces a block at once (automine). Output is for people by
//! default and JSON with `--json`; every failure is one line on stderr and a non-zero exit.
//!
//! The binary is [`main`]; the library exists so the binary stays a one-line `main`. The node
//! it runs with `chainvm node` is the `chainvm-node` crate ([`chainvm_node::run`]).
//!
//! Architecture and determinism rules: `docs/design.md` in the repository.

mod backend;
mod build;
mod commands;
mod contract;
mod demo;
mod gas_report;
mod json;
mod light;
mod new;
mod profile;
mod query;
mod util;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Local chain for Rust/wasm smart contracts: deploy, call, inspect, verify.
#[derive(Parser)]
#[command(name = "chainvm", version, about, long_about = None)]
struct Cli {
    /// Chain home directory.
    #[arg(long, global = true, default_value = ".chainvm", env = "CHAINVM_HOME")]
    home: PathBuf,
    /// Print JSON instead of human-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// Talk to a running `chainvm node` at this URL instead of opening the home directory.
    #[arg(long, global = true, env = "CHAINVM_NODE")]
    node: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Options of commands that send a transaction.
#[derive(clap::Args, Clone)]
struct TxOpts {
    /// Sender: dev account index (0-9) or its address.
    #[arg(long, default_value = "0")]
    from: String,
    /// Gas limit.
    #[arg(long)]
    gas: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new chain: genesis, a validator key with stake, and 10 funded dev accounts.
    Init {
        /// Chain id.
        #[arg(long, default_value_t = 1337)]
        chain_id: u64,
        /// Replace an existing chain in the home directory.
        #[arg(long)]
        force: bool,
        /// Keep only the last N state versions (older proofs and `chainvm verify` then need
        /// an archive node; headers and blocks stay). Default: archive, every version. The
        /// mode is stored with the chain; a pruned chain cannot become an archive again.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        prune: Option<u64>,
    },
    /// List the dev accounts with their keys, balances and nonces.
    Accounts,
    /// Build a contract crate (or workspace) with the contract profile and report sizes:
    /// `<target>/chainvm/<name>.wasm` to deploy, `<name>.names.wasm` for gas profiles.
    Build {
        /// Directory holding the contract's Cargo.toml.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Create a contract crate: a small contract, a test on an embedded chain with a gas
    /// snapshot, the pinned toolchain. Builds it once to record the snapshot.
    New {
        /// The crate's name.
        name: String,
        /// Where to create it (default: ./NAME). Must not exist or be empty.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A chainvm checkout (or its contracts/sdk) to take the SDK and the testing crate
        /// from, instead of the sources this CLI was built from.
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Deploy a contract (a .wasm file, or a crate directory, built first); runs its `init`
    /// constructor with --args.
    Deploy {
        /// The contract's .wasm file, or the directory of its crate.
        file: PathBuf,
        /// Constructor arguments as JSON (object by name or array in order).
        #[arg(long)]
        args: Option<String>,
        /// A name to refer to the contract by in later commands.
        #[arg(long)]
        alias: Option<String>,
        #[command(flatten)]
        tx: TxOpts,
    },
    /// Call a contract method in a transaction (a new block).
    Call {
        /// Contract address or alias.
        contract: String,
        /// Method name.
        method: String,
        /// Arguments as JSON (object by name or array in order).
        args: Option<String>,
        /// Value to attach (in base units).
        #[arg(long, default_value = "0")]
        value: String,
        /// Print the gas breakdown as a table.
        #[arg(long)]
        gas_report: bool,
        /// Draw where the call's gas went, by the contract's Rust functions and host calls, as
        /// a flamegraph SVG (folded stacks beside it, in FILE.folded).
        #[arg(long, value_name = "FILE.svg")]
        gas_profile: Option<PathBuf>,
        /// The named build to take function names from (`<name>.names.wasm` from `chainvm
        /// build`); by default the one `chainvm deploy` remembered for the contract's code.
        #[arg(long, value_name = "WASM", requires = "gas_profile")]
        names: Option<PathBuf>,
        #[command(flatten)]
        tx: TxOpts,
    },
    /// Run a method read-only: no transaction, no block, no fee.
    View {
        /// Contract address or alias.
        contract: String,
        /// Method name.
        method: String,
        /// Arguments as JSON.
        args: Option<String>,
        /// Caller the contract sees: dev account index or address.
        #[arg(long, default_value = "0")]
        from: String,
    },
    /// Send value to an address.
    Transfer {
        /// Recipient: address, alias or dev account index.
        to: String,
        /// Amount in base units.
        amount: String,
        #[command(flatten)]
        tx: TxOpts,
    },
    /// Show the balance and nonce of an address, alias or dev account (default: --from 0).
    Balance {
        /// Address, alias or dev account index.
        who: Option<String>,
    },
    /// Delegate stake to a registered validator (default: the only one, on a one-validator
    /// chain). Delegators share the validator's rewards (less its commission) and slashing.
    Stake {
        /// Amount in base units.
        amount: String,
        /// The validator's address (needed when there are several).
        #[arg(long)]
        validator: Option<String>,
        #[command(flatten)]
        tx: TxOpts,
    },
    /// Start unbonding delegated stake (released after the unbonding period).
    Unstake {
        /// Amount in base units.
        amount: String,
        /// The validator's address (needed when there are several).
        #[arg(long)]
        validator: Option<String>,
        #[command(flatten)]
        tx: TxOpts,
    },
    /// Register the --from key as a validator with a self-bond (refused unless the chain's
    /// genesis allows that key to register).
    RegisterValidator {
        /// Self-bond in base units.
        amount: String,
        /// Share of block rewards kept before delegators are paid, in basis points.
        #[arg(long, default_value_t = 1_000)]
        commission_bps: u32,
        #[command(flatten)]
        tx: TxOpts,
    },
    /// Show a block: a height or `latest`.
    Block {
        /// Height, or `latest`.
        #[arg(default_value = "latest")]
        which: String,
    },
    /// Show a transaction and its receipt.
    Tx {
        /// Transaction hash (0x...).
        hash: String,
    },
    /// List events, decoded with the emitting contract's ABI.
    Events {
        /// Only this contract (address or alias).
        #[arg(long)]
        contract: Option<String>,
        /// Only this topic (event name).
        #[arg(long)]
        topic: Option<String>,
        /// First block (default 0).
        #[arg(long)]
        from_block: Option<u64>,
        /// Last block (default latest).
        #[arg(long)]
        to_block: Option<u64>,
    },
    /// Show a state key's value with its Merkle proof, verified against the state root.
    ///
    /// With --light (and --node), the node is not trusted at all: a light client starts from
    /// the chain's genesis, the trust root, and follows the node's commit certificates and
    /// validator-set proofs up to the height, then checks the value's proof against that
    /// certified header.
    Proof {
        /// `account:<address>`, `storage:<contract>:<hex key>`, `validator:<address>`, or a raw
        /// `0x` hex key.
        key: String,
        /// State version (block height); default latest.
        #[arg(long)]
        height: Option<u64>,
        /// Verify the node's answer as a light client: check certificates from the genesis up
        /// to the header the value is proven at. Needs --node.
        #[arg(long)]
        light: bool,
        /// With --light: the chain's genesis.json, the trust root (everything else is checked
        /// against it). Default: the --home's genesis.json.
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
    },
    /// Re-check every block and re-execute the chain from genesis.
    Verify,
    /// Run the validator as a long-running node with JSON-RPC over HTTP and WebSocket
    /// subscriptions. Blocks: on every transaction (default), every --block-time ms, or only
    /// on `chainvm_produceBlock` with --manual. A home written by `chainvm testnet init`
    /// (it has a network.json) runs as a validator of that network: blocks are decided by
    /// Tendermint consensus with its peers.
    Node {
        /// Address to serve JSON-RPC on (default: the home's network.json, else
        /// 127.0.0.1:8545).
        #[arg(long)]
        rpc: Option<String>,
        /// Produce a block every this many milliseconds.
        #[arg(long, conflicts_with = "manual")]
        block_time: Option<u64>,
        /// Produce blocks only on request.
        #[arg(long)]
        manual: bool,
        /// Most gas one view may use (more is capped to it) and the largest gas limit a
        /// simulation accepts, e.g. 5e9. Default: the block gas limit.
        #[arg(long, value_parser = chainvm_node::parse_gas)]
        max_view_gas: Option<u64>,
        /// Most views and simulations running at once; more are refused until one ends.
        /// Default: twice the cores.
        #[arg(long)]
        max_concurrent_views: Option<usize>,
        /// Keep only the last N state versions (older proofs and `chainvm verify` then need
        /// an archive node; headers and blocks stay). Default: the mode the chain has
        /// (set by `chainvm init`); switching an archive to pruned is kept; a pruned chain cannot become an archive again.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        prune: Option<u64>,
        /// Web pages allowed to call the JSON-RPC and open WebSockets (their `Origin`):
        /// `*`, or a comma-separated list such as `https://app.example,http://localhost:5173`
        /// that replaces the default. Default: loopback pages only (localhost, 127.0.0.1,
        /// [::1], any port). Requests without an Origin (curl, scripts) are always served.
        #[arg(long, value_name = "ORIGIN[,ORIGIN...]", value_parser = chainvm_node::Cors::parse)]
        cors: Option<chainvm_node::Cors>,
    },
    /// A local network of validators: write its homes, or run them all.
    Testnet {
        #[command(subcommand)]
        command: TestnetCommand,
    },
    /// Run a scenario file of deploys and calls on a fresh in-memory chain and print each
    /// method's gas (min/avg/median/max, calls), like `forge test --gas-report`.
    GasReport {
        /// Scenario JSON file (see `examples/scenarios/`).
        scenario: PathBuf,
    },
    /// Run the main job end to end in a temporary home: build the escrow and voting contracts,
    /// deploy them, run a full deal and a full vote, print gas and the final state root.
    Demo {
        /// Keep the temporary home and print its path.
        #[arg(long)]
        keep: bool,
    },
}

/// `chainvm testnet` subcommands.
#[derive(Subcommand)]
enum TestnetCommand {
    /// Write N validator homes (DIR/v0 ..) sharing one genesis: the ten dev accounts funded as
    /// by `chainvm init`, each validator with a secret key, loopback RPC and P2P addresses and
    /// the others as peers (and --full-nodes M non-voting homes DIR/f0 ..). Run one with `chainvm --home DIR/v0 node`, or all with `run`.
    Init {
        /// Number of validators (default: as many as --stakes gives, or 4).
        #[arg(long)]
        validators: Option<usize>,
        /// Directory for the homes (must not exist or be empty).
        #[arg(long)]
        dir: PathBuf,
        /// First port: validator i serves RPC on P+2i and P2P on P+2i+1; full nodes come after
        /// the validators.
        #[arg(long, default_value_t = chainvm_node::testnet::DEFAULT_BASE_PORT)]
        base_port: u16,
        /// Each validator's stake in units of 10,000 tokens, e.g. 40,30,20,10 (default: 100
        /// each, 10^6 tokens like a dev chain's validator).
        #[arg(long, value_delimiter = ',')]
        stakes: Option<Vec<u64>>,
        /// Also write this many full-node homes (DIR/f0 ..): same genesis, a key outside the
        /// validator set; they follow the chain (sync, gossip) and serve RPC but never vote.
        #[arg(long, default_value_t = 0)]
        full_nodes: usize,
        /// Chain id.
        #[arg(long, default_value_t = 1337)]
        chain_id: u64,
    },
    /// Start every node home in DIR as a child process, print their RPC URLs, and stop them
    /// all cleanly on Ctrl-C.
    Run {
        /// The directory `testnet init` wrote.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Parses the command line, runs the command, prints one line on failure.
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's first line names the problem; keep failures to one line.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see `chainvm --help`)");
            return ExitCode::from(2);
        }
    };
    match commands::run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Lets a closed pipe end the process quietly, as it does `cat` or `grep`
/// (`chainvm accounts | head -1`). Rust ignores SIGPIPE, so without this every print to a
/// closed pipe would panic with "failed printing to stdout".
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
