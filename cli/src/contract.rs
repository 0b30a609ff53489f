//! The contract commands: `deploy` (a wasm file, or a crate directory built first), `call`
//! (optionally with a gas profile) and `view`.

use crate::TxOpts;
use crate::build;
use crate::commands::{Show, open, print_receipt, send, sign_tx};
use crate::util::{
    CliError, Res, contract_abi, emit, fail, parse_amount, parse_args, resolve, save_alias, signer,
};
use chainvm_runtime::Payload;
use chainvm_runtime::abi::{AbiError, ContractAbi};
use chainvm_runtime::executor::CONSTRUCTOR;
use chainvm_runtime::tx::default_gas;
use serde_json::json;
use std::path::{Path, PathBuf};

pub(crate) fn deploy(
    home: &Path,
    file: &Path,
    args: Option<&str>,
    alias: Option<&str>,
    opts: &TxOpts,
    j: bool,
) -> Res<()> {
    let mut chain = open(home)?;
    let (file, names) = &deployable(file)?;
    let code = std::fs::read(file).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    if !code.starts_with(b"\0asm") {
        return fail(format!("{} is not a wasm module", file.display()));
    }
    if let Some(w) = build::memory_warning(&code) {
        eprintln!("warning: {}: {w}", file.display());
    }
    // The same deploy-time rules the chain applies, checked here for a precise message.
    chainvm_vm::validate::validate(&code, &Default::default())
        .map_err(|e| CliError(format!("{}: invalid contract: {e}", file.display())))?;
    let abi = match ContractAbi::from_wasm(&code) {
        Ok(a) => Some(a),
        Err(AbiError::NoAbi) => None,
        Err(e) => {
            eprintln!("warning: {}: ABI not used: {e}", file.display());
            None
        }
    };
    let args = parse_args(args)?;
    let encoded = match &abi {
        Some(a) if a.method(CONSTRUCTOR).is_ok() => a.encode_args(CONSTRUCTOR, &args)?,
        _ if args.is_null() => Vec::new(),
        _ => return fail("--args given but the contract has no `init` constructor in its ABI"),
    };
    let key = signer(&opts.from)?;
    let twin = names
        .as_deref()
        .and_then(|n| crate::profile::twin_of(&code, n));
    let (tx, receipt) = send(
        &mut chain,
        &key,
        Payload::Deploy {
            code,
            args: encoded,
        },
        opts.gas,
    )?;
    if let (Some(name), Some(addr)) = (alias, receipt.contract_address) {
        save_alias(home, name, &addr)?;
    }
    if receipt.is_success()
        && let Some(twin) = twin
    {
        twin.remember(home);
    }
    let title = format!(
        "Deployed {}{}",
        file.display(),
        alias.map(|a| format!(" as `{a}`")).unwrap_or_default()
    );
    print_receipt(
        &chain,
        &tx,
        &receipt,
        abi.as_ref(),
        Some(CONSTRUCTOR).filter(|_| abi.as_ref().is_some_and(|a| a.method(CONSTRUCTOR).is_ok())),
        Show {
            title: &title,
            gas_report: false,
            json: j,
        },
    )
}

/// The wasm to deploy for `path`, and its named twin if there is one: a crate directory is
/// built first (it must hold one contract); a file is taken as it is, with the
/// `<name>.names.wasm` beside it that `chainvm build` writes.
fn deployable(path: &Path) -> Res<(PathBuf, Option<PathBuf>)> {
    if !path.is_dir() {
        let twin = path.with_extension("names.wasm");
        return Ok((path.to_path_buf(), twin.is_file().then_some(twin)));
    }
    let mut built = build::build(path)?;
    match built.len() {
        1 => {
            let b = built.remove(0);
            Ok((b.wasm, Some(b.names)))
        }
        _ => {
            let names: Vec<String> = built.into_iter().map(|b| b.name).collect();
            fail(format!(
                "{} builds {} contracts ({}): deploy one crate's directory or one .wasm file",
                path.display(),
                names.len(),
                names.join(", ")
            ))
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn call(
    home: &Path,
    contract: &str,
    method: &str,
    args: Option<&str>,
    value: &str,
    gas_report: bool,
    gas_profile: Option<(&Path, Option<&Path>)>,
    opts: &TxOpts,
    j: bool,
) -> Res<()> {
    let mut chain = open(home)?;
    let address = resolve(home, contract)?;
    let abi = contract_abi(&chain, &address)?;
    let encoded = abi.encode_args(method, &parse_args(args)?)?;
    let key = signer(&opts.from)?;
    let payload = Payload::Call {
        contract: address,
        method: method.into(),
        args: encoded,
        value: parse_amount(value)?,
    };
    let (tx, receipt) = match gas_profile {
        None => send(&mut chain, &key, payload, opts.gas)?,
        Some((svg, names)) => {
            let tx = sign_tx(&chain, &key, payload, opts.gas)?;
            // The profile comes from a dry run of this very transaction on the state it is
            // about to meet; the receipt then shows whether the block charged the same.
            let (_, profile) = chain.simulate_profiled(&tx)?;
            let receipt = chain.submit(&tx)?;
            let code = chain.code(&address)?.unwrap_or_default();
            let root = format!("{contract}.{method}");
            let written = crate::profile::write(home, &code, names, &profile, &root, svg)?;
            if profile.total() != receipt.gas.total {
                eprintln!(
                    "warning: the block charged {} gas, the profiled dry run {}: the state changed in between",
                    receipt.gas.total,
                    profile.total()
                );
            }
            if !j {
                eprintln!("{written}");
            }
            (tx, receipt)
        }
    };
    print_receipt(
        &chain,
        &tx,
        &receipt,
        Some(&abi),
        Some(method),
        Show {
            title: &format!("Called {contract}.{method}"),
            gas_report,
            json: j,
        },
    )
}

pub(crate) fn view(
    home: &Path,
    contract: &str,
    method: &str,
    args: Option<&str>,
    from: &str,
    j: bool,
) -> Res<()> {
    let chain = open(home)?;
    let address = resolve(home, contract)?;
    let abi = contract_abi(&chain, &address)?;
    let encoded = abi.encode_args(method, &parse_args(args)?)?;
    let caller = resolve(home, from)?;
    let outcome = chain.view(caller, address, method, &encoded, default_gas::CALL)?;
    match outcome.result {
        Ok(data) => {
            let v = abi.decode_return(method, &data)?;
            emit(
                j,
                &v.to_string(),
                &json!({"return": v, "gas": outcome.gas.total}),
            );
            Ok(())
        }
        Err(e) => fail(format!("view failed: {e}")),
    }
}
