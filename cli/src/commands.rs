//! The commands.

use crate::backend::Backend;
use crate::contract::{call, deploy, view};
use crate::json::receipt_events_json;
use crate::util::{
    CliError, Res, emit, fail, gas_table, generate_validator_key, init_dev_chain_with,
    parse_amount, resolve, retention, signer,
};
use crate::{Cli, Command, TxOpts, build, demo, query};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::embed::decode_outcome;
use chainvm_runtime::genesis::{DEV_SEED, dev_keys};
use chainvm_runtime::types::hex;
use chainvm_runtime::{
    Address, ErrorCode, ErrorDetail, Keypair, Payload, Receipt, SignedTransaction, Transaction,
};
use serde_json::{Value, json};
use std::path::Path;

/// The `--node` URL of this invocation (set once in [`run`]).
static NODE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();

/// Opens the chain the way this invocation asked: the home, or the node.
pub(crate) fn open(home: &Path) -> Res<Backend> {
    Backend::open(home, NODE.get().and_then(|n| n.as_deref()))
}

/// Dispatches a parsed command line.
pub fn run(cli: &Cli) -> Res<()> {
    let _ = NODE.set(cli.node.clone());
    let home = cli.home.as_path();
    let j = cli.json;
    match &cli.command {
        Command::Init {
            chain_id,
            force,
            prune,
        } => init(home, *chain_id, *force, *prune, j),
        Command::Accounts => query::accounts(home, j),
        Command::Build { dir } => build::build_cmd(dir, j),
        Command::New { name, dir, sdk } => {
            crate::new::new_cmd(name, dir.as_deref(), sdk.as_deref(), j)
        }
        Command::Deploy {
            file,
            args,
            alias,
            tx,
        } => deploy(home, file, args.as_deref(), alias.as_deref(), tx, j),
        Command::Call {
            contract,
            method,
            args,
            value,
            gas_report,
            gas_profile,
            names,
            tx,
        } => call(
            home,
            contract,
            method,
            args.as_deref(),
            value,
            *gas_report,
            gas_profile.as_deref().map(|svg| (svg, names.as_deref())),
            tx,
            j,
        ),
        Command::View {
            contract,
            method,
            args,
            from,
        } => view(home, contract, method, args.as_deref(), from, j),
        Command::Transfer { to, amount, tx } => {
            let to = resolve(home, to)?;
            let amount = parse_amount(amount)?;
            simple_tx(home, Payload::Transfer { to, amount }, tx, "transferred", j)
        }
        Command::Balance { who } => query::balance(home, who.as_deref().unwrap_or("0"), j),
        Command::Stake {
            amount,
            validator,
            tx,
        }
        | Command::Unstake {
            amount,
            validator,
            tx,
        } => {
            let validator = pick_validator(home, validator.as_deref())?;
            let amount = parse_amount(amount)?;
            let (payload, what) = match cli.command {
                Command::Stake { .. } => (Payload::Stake { validator, amount }, "delegated"),
                _ => (Payload::Unstake { validator, amount }, "unbonding"),
            };
            simple_tx(home, payload, tx, what, j)
        }
        Command::RegisterValidator {
            amount,
            commission_bps,
            tx,
        } => {
            let payload = Payload::RegisterValidator {
                public_key: signer(&tx.from)?.public(),
                commission_bps: *commission_bps,
                amount: parse_amount(amount)?,
            };
            simple_tx(home, payload, tx, "registered as a validator", j)
        }
        Command::Block { which } => query::block(home, which, j),
        Command::Tx { hash } => query::tx_cmd(home, hash, j),
        Command::Events {
            contract,
            topic,
            from_block,
            to_block,
        } => query::events(
            home,
            contract.as_deref(),
            topic.as_deref(),
            *from_block,
            *to_block,
            j,
        ),
        Command::Proof {
            light: false,
            genesis: Some(_),
            ..
        } => fail("--genesis is the trust root of a light client: add --light"),
        Command::Proof {
            key,
            height,
            light: false,
            genesis: None,
        } => query::proof(home, key, *height, j),
        Command::Proof {
            key,
            height,
            light: true,
            genesis,
        } => crate::light::proof(
            home,
            cli.node.as_deref(),
            genesis.as_deref(),
            key,
            *height,
            j,
        ),
        Command::Verify => query::verify(home, j),
        Command::GasReport { scenario } => crate::gas_report::run(scenario, j),
        Command::Node {
            rpc,
            block_time,
            manual,
            max_view_gas,
            max_concurrent_views,
            prune,
            cors,
        } => {
            let settings = chainvm_node::Settings {
                max_view_gas: *max_view_gas,
                max_concurrent_views: *max_concurrent_views,
                prune: *prune,
                cors: cors.clone().unwrap_or_default(),
            };
            let networked = chainvm_node::testnet::NetworkConfig::read(home)?.is_some();
            let mode = match (block_time, manual) {
                (_, true) => chainvm_node::Mode::Manual,
                (Some(ms), _) => chainvm_node::Mode::Interval(*ms),
                _ => {
                    if networked {
                        network_logs();
                    }
                    return Ok(chainvm_node::run_home(home, rpc.as_deref(), settings)?);
                }
            };
            if networked {
                return fail(
                    "this home is a network validator (network.json): its blocks are decided by \
                     consensus, so --block-time and --manual do not apply",
                );
            }
            let rpc = rpc.as_deref().unwrap_or("127.0.0.1:8545");
            Ok(chainvm_node::run(home, rpc, mode, settings)?)
        }
        Command::Demo { keep } => demo::run(*keep, j),
        Command::Testnet { command } => testnet(command, j),
    }
}

/// A network node logs to stderr what consensus does (commits, WAL recovery, warnings):
/// `RUST_LOG` if set, else the node's info and the engine's warnings (peer discovery's
/// connection churn only when it fails).
fn network_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "warn,arc_malachitebft_discovery=error,chainvm_node=info",
        )
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .try_init();
}

fn testnet(command: &crate::TestnetCommand, j: bool) -> Res<()> {
    use chainvm_node::testnet;
    match command {
        crate::TestnetCommand::Init {
            validators,
            dir,
            base_port,
            stakes,
            full_nodes,
            chain_id,
        } => {
            let stakes = match (stakes, validators) {
                (Some(s), Some(n)) if s.len() != *n => {
                    return Err(CliError(format!(
                        "--stakes gives {} stakes for --validators {n}",
                        s.len()
                    )));
                }
                (Some(s), _) => s.clone(),
                (None, n) => vec![100; n.unwrap_or(4)],
            };
            let nodes = testnet::init(dir, *chain_id, &stakes, *full_nodes, *base_port)?;
            let (voting, following) = nodes.split_at(stakes.len().min(nodes.len()));
            let mut human = format!(
                "Initialized a testnet of {} validators{} (chain {chain_id}) in {}\n",
                voting.len(),
                if following.is_empty() {
                    String::new()
                } else {
                    format!(" and {} full nodes", following.len())
                },
                dir.display()
            );
            for (n, s) in voting.iter().zip(&stakes) {
                human += &format!(
                    "  {}  rpc {}  p2p {}  stake {} tokens\n",
                    n.home.display(),
                    n.rpc,
                    n.p2p,
                    u128::from(*s) * 10_000
                );
            }
            for n in following {
                human += &format!(
                    "  {}  rpc {}  p2p {}  full node\n",
                    n.home.display(),
                    n.rpc,
                    n.p2p
                );
            }
            human += &format!("Run all: chainvm testnet run --dir {}", dir.display());
            emit(
                j,
                &human,
                &json!({ "validators": voting, "full_nodes": following }),
            );
            Ok(())
        }
        crate::TestnetCommand::Run { dir } => {
            let exe = std::env::current_exe()?;
            chainvm_node::launcher::run(&exe, dir, |urls| {
                for (home, url) in urls {
                    println!("{}  {url}", home.display());
                }
                println!("testnet running ({} nodes); Ctrl-C stops them", urls.len());
            })?;
            println!("testnet stopped");
            Ok(())
        }
    }
}

fn init(home: &Path, chain_id: u64, force: bool, prune: Option<u64>, j: bool) -> Res<()> {
    if force && home.exists() {
        // Only ever remove what a chain home holds.
        for f in [
            "chain.redb",
            "genesis.json",
            "validator.key",
            "aliases.json",
        ] {
            let p = home.join(f);
            if p.exists() {
                std::fs::remove_file(&p)?;
            }
        }
        let cache = home.join("cache");
        if cache.exists() {
            std::fs::remove_dir_all(cache)?;
        }
    }
    // The validator key signs blocks and evidence can slash it: it must be secret (written
    // owner-only), unlike the dev accounts' keys.
    let validator = generate_validator_key()?;
    let chain = init_dev_chain_with(home, chain_id, &validator, retention(prune))?;
    let accounts: Vec<Value> = dev_keys()
        .iter()
        .enumerate()
        .map(|(i, k)| {
            json!({"index": i, "address": hex(k.address().as_bytes()), "private_key": hex(&k.secret()),
                   "balance": chain.account(&k.address()).map(|a| a.balance.to_string()).unwrap_or_default()})
        })
        .collect();
    let mut human = format!(
        "Initialized chain {chain_id} in {}\nValidator {} (stake 10^24; its secret key is in validator.key, owner-only)\nDev accounts (seed \"{DEV_SEED}\"):\n",
        home.display(),
        hex(validator.address().as_bytes())
    );
    for a in &accounts {
        human += &format!(
            "  ({}) {}  key {}  balance {}\n",
            a["index"],
            a["address"].as_str().unwrap_or(""),
            a["private_key"].as_str().unwrap_or(""),
            a["balance"].as_str().unwrap_or("")
        );
    }
    human += &format!("State root {:?}", chain.state_root()?);
    emit(
        j,
        &human,
        &json!({"chain_id": chain_id, "home": home.display().to_string(), "validator": hex(validator.address().as_bytes()),
                "accounts": accounts, "state_root": format!("{:?}", chain.state_root()?)}),
    );
    Ok(())
}

/// Signs and submits `payload` from the `--from` account with `gas` (default: the default of
/// the payload's kind); one block.
/// Signs `payload` from `key` at its next nonce (with `gas` as the limit, or the default of
/// the payload's kind).
pub fn sign_tx(
    chain: &Backend,
    key: &Keypair,
    payload: Payload,
    gas: Option<u64>,
) -> Res<SignedTransaction> {
    let mut tx = Transaction::new(
        chain.chain_id()?,
        chain.account(&key.address())?.nonce,
        payload,
    );
    if let Some(gas) = gas {
        tx = tx.with_gas_limit(gas);
    }
    Ok(tx.sign(key))
}

/// Signs and submits `payload`; returns the transaction and its receipt.
pub fn send(
    chain: &mut Backend,
    key: &Keypair,
    payload: Payload,
    gas: Option<u64>,
) -> Res<(SignedTransaction, Receipt)> {
    let tx = sign_tx(chain, key, payload, gas)?;
    let receipt = chain.submit(&tx)?;
    Ok((tx, receipt))
}

/// JSON of a receipt, with return value, typed error and events decoded where an ABI is known.
pub fn receipt_json(
    chain: &Backend,
    receipt: &Receipt,
    tx: &SignedTransaction,
    abi: Option<&ContractAbi>,
    method: Option<&str>,
) -> Value {
    let decoded = abi
        .zip(method)
        .and_then(|(a, m)| decode_outcome(a, m, receipt));
    let height = chain
        .transaction(&tx.hash())
        .ok()
        .flatten()
        .map(|found| found.height);
    json!({
        "tx_hash": format!("{:?}", tx.hash()),
        "block": height,
        "status": receipt.status,
        "gas_used": receipt.gas_used,
        "gas": receipt.gas,
        "return": decoded.unwrap_or_else(|| if receipt.return_data.is_empty() { Value::Null } else { Value::String(hex(&receipt.return_data)) }),
        "events": receipt_events_json(receipt, abi),
        "contract_address": receipt.contract_address.map(|a| hex(a.as_bytes())),
        "error": receipt.error,
    })
}

/// The one-line error of a failed receipt; `abi` (if known) lists the contract's methods
/// when the one called does not exist.
pub fn receipt_failure(
    receipt: &Receipt,
    gas_limit: u64,
    decoded: &Value,
    abi: Option<&ContractAbi>,
) -> CliError {
    let Some(e) = &receipt.error else {
        return CliError("transaction failed".into());
    };
    let at = match &e.detail {
        ErrorDetail::Panic {
            location: Some(l), ..
        } => format!(" at {l}"),
        _ => String::new(),
    };
    CliError(match e.code {
        ErrorCode::OutOfGas => format!(
            "out of gas: used {} of the {} gas limit (raise it with --gas)",
            receipt.gas_used, gas_limit
        ),
        ErrorCode::ContractPanic if !decoded.is_null() => {
            format!("contract returned error {decoded}{at}")
        }
        ErrorCode::ContractPanic => format!("contract panicked: {e}"),
        ErrorCode::Trap => format!("contract trapped: {e}"),
        _ => {
            let methods: Vec<String> = abi
                .map(|a| a.methods.iter().map(|m| m.name.clone()).collect())
                .unwrap_or_default();
            e.describe_with_methods(&methods)
        }
    })
}

/// How to print a receipt.
pub(crate) struct Show<'a> {
    /// The line above the receipt.
    pub title: &'a str,
    /// Print the gas breakdown as a table.
    pub gas_report: bool,
    /// Print JSON instead.
    pub json: bool,
}

pub(crate) fn print_receipt(
    chain: &Backend,
    tx: &SignedTransaction,
    receipt: &Receipt,
    abi: Option<&ContractAbi>,
    method: Option<&str>,
    show: Show<'_>,
) -> Res<()> {
    let v = receipt_json(chain, receipt, tx, abi, method);
    let (title, gas_report, j) = (show.title, show.gas_report, show.json);
    let mut human = format!(
        "{title}\n  tx     {}\n  block  {}\n  status {}\n  gas    {}",
        v["tx_hash"].as_str().unwrap_or(""),
        v["block"],
        if receipt.is_success() {
            "success"
        } else {
            "failed"
        },
        receipt.gas_used
    );
    if let Some(a) = receipt.contract_address {
        human += &format!("\n  address {}", hex(a.as_bytes()));
    }
    if !v["return"].is_null() && receipt.is_success() {
        human += &format!("\n  return {}", v["return"]);
    }
    for e in v["events"].as_array().into_iter().flatten() {
        let name = e
            .get("event")
            .or_else(|| e.get("topic"))
            .cloned()
            .unwrap_or(Value::Null);
        let rev = if e["reverted"] == json!(true) {
            " (reverted)"
        } else {
            ""
        };
        human += &format!(
            "\n  event  {} {}{rev}",
            name.as_str().unwrap_or(""),
            e["data"]
        );
    }
    if gas_report {
        human += &format!("\n{}", gas_table(&receipt.gas));
    }
    emit(j, &human, &v);
    if receipt.is_success() {
        Ok(())
    } else {
        Err(receipt_failure(
            receipt,
            tx.body.gas_limit,
            &v["return"],
            abi,
        ))
    }
}

/// The validator named by `--validator`, or the only registered one.
fn pick_validator(home: &Path, named: Option<&str>) -> Res<Address> {
    if let Some(v) = named {
        return resolve(home, v);
    }
    match open(home)?.validators()?.as_slice() {
        [only] => Ok(*only),
        [] => fail("the chain has no validator to delegate to"),
        many => fail(format!(
            "the chain has {} validators: pick one with --validator",
            many.len()
        )),
    }
}

fn simple_tx(home: &Path, payload: Payload, opts: &TxOpts, what: &str, j: bool) -> Res<()> {
    let mut chain = open(home)?;
    let key = signer(&opts.from)?;
    let (tx, receipt) = send(&mut chain, &key, payload, opts.gas)?;
    print_receipt(
        &chain,
        &tx,
        &receipt,
        None,
        None,
        Show {
            title: &format!("{} ({what})", hex(key.address().as_bytes())),
            gas_report: false,
            json: j,
        },
    )
}
