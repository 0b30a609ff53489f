//! The commands that only read the chain: dev accounts, balances, blocks, transactions,
//! events, proofs and `verify`. They work on the home or, except `verify`, through `--node`.

use crate::commands::{open, receipt_json};
use crate::util::{CliError, Res, contract_abi, emit, fail, parse_hex, resolve};
use chainvm_node::json::{header_json, logged_event_json, merged, tx_summary_json};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::executor::CONSTRUCTOR;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, H256, Payload, StateProof, TxLocation};
use serde_json::{Value, json};
use std::path::Path;

pub(crate) fn accounts(home: &Path, j: bool) -> Res<()> {
    let chain = open(home)?;
    let mut rows = Vec::new();
    let mut human = String::new();
    for (i, k) in dev_keys().iter().enumerate() {
        let a = chain.account(&k.address())?;
        human += &format!(
            "({i}) {}  balance {}  nonce {}\n",
            hex(k.address().as_bytes()),
            a.balance,
            a.nonce
        );
        rows.push(json!({"index": i, "address": hex(k.address().as_bytes()), "private_key": hex(&k.secret()),
                         "balance": a.balance.to_string(), "nonce": a.nonce}));
    }
    emit(j, human.trim_end(), &Value::Array(rows));
    Ok(())
}

pub(crate) fn balance(home: &Path, who: &str, j: bool) -> Res<()> {
    let chain = open(home)?;
    let a = resolve(home, who)?;
    let acct = chain.account(&a)?;
    emit(
        j,
        &format!(
            "{}  balance {}  nonce {}",
            hex(a.as_bytes()),
            acct.balance,
            acct.nonce
        ),
        &json!({"address": hex(a.as_bytes()), "balance": acct.balance.to_string(), "nonce": acct.nonce,
                "code_hash": acct.code_hash.map(|h| format!("{h:?}"))}),
    );
    Ok(())
}

pub(crate) fn block(home: &Path, which: &str, j: bool) -> Res<()> {
    let chain = open(home)?;
    let height = if which == "latest" {
        chain.height()?
    } else {
        which
            .parse()
            .or_else(|_| fail(format!("`{which}` is not a block height or `latest`")))?
    };
    let Some(b) = chain.block(height)? else {
        return fail(format!("no block {height} (latest is {})", chain.height()?));
    };
    let h = &b.signed_header.header;
    let txs: Vec<Value> = b.txs.iter().map(|t| tx_summary_json(&t.receipt)).collect();
    let v = merged(
        header_json(h, &h.hash()),
        json!({
            "parent_hash": format!("{:?}", h.parent_hash), "txs_root": format!("{:?}", h.txs_root),
            "receipts_root": format!("{:?}", h.receipts_root), "proposer": hex(h.proposer.as_bytes()),
            "signature": hex(&b.signed_header.signature), "transactions": txs,
        }),
    );
    let mut human = format!(
        "block {}  hash {:?}\n  parent   {:?}\n  time     {}\n  state    {:?}\n  txs root {:?}\n  receipts {:?}\n  gas used {}\n  proposer {}",
        h.height,
        h.hash(),
        h.parent_hash,
        h.timestamp,
        h.state_root,
        h.txs_root,
        h.receipts_root,
        h.gas_used,
        hex(h.proposer.as_bytes())
    );
    for t in &txs {
        human += &format!(
            "\n  tx {} {} gas {}",
            t["hash"].as_str().unwrap_or(""),
            t["status"].as_str().unwrap_or(""),
            t["gas_used"]
        );
    }
    emit(j, &human, &v);
    Ok(())
}

pub(crate) fn tx_cmd(home: &Path, hash: &str, j: bool) -> Res<()> {
    let chain = open(home)?;
    let bytes = parse_hex(hash)
        .filter(|b| b.len() == 32)
        .ok_or_else(|| CliError(format!("`{hash}` is not a 32-byte hex hash")))?;
    let Some(TxLocation {
        height,
        index,
        transaction: tx,
        receipt,
    }) = chain.transaction(&H256::from_slice(&bytes))?
    else {
        return fail(format!("no transaction {hash}"));
    };
    let (abi, method) = match &tx.body.payload {
        Payload::Call {
            contract, method, ..
        } => (contract_abi(&chain, contract).ok(), Some(method.clone())),
        Payload::Deploy { code, .. } => (
            ContractAbi::from_wasm(code).ok(),
            Some(CONSTRUCTOR.to_string()),
        ),
        _ => (None, None),
    };
    let method = method.filter(|m| abi.as_ref().is_some_and(|a| a.method(m).is_ok()));
    let mut v = receipt_json(&chain, &receipt, &tx, abi.as_ref(), method.as_deref());
    v["index"] = json!(index);
    v["from"] = json!(hex(tx.sender().as_bytes()));
    v["nonce"] = json!(tx.body.nonce);
    let human = format!(
        "tx {hash}\n  block  {height} #{index}\n  from   {}\n  status {}\n  gas    {}\n  return {}\n  error  {}",
        hex(tx.sender().as_bytes()),
        if receipt.is_success() {
            "success"
        } else {
            "failed"
        },
        receipt.gas_used,
        v["return"],
        receipt
            .error
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "-".into())
    );
    emit(j, &human, &v);
    Ok(())
}

pub(crate) fn events(
    home: &Path,
    contract: Option<&str>,
    topic: Option<&str>,
    from: Option<u64>,
    to: Option<u64>,
    j: bool,
) -> Res<()> {
    let chain = open(home)?;
    let contract = contract.map(|c| resolve(home, c)).transpose()?;
    let latest = chain.height()?;
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(latest).min(latest));
    let mut abis: std::collections::BTreeMap<Address, Option<ContractAbi>> = Default::default();
    let mut out = Vec::new();
    let mut human = String::new();
    for h in from..=to {
        let Some(b) = chain.block(h)? else { continue };
        for included in &b.txs {
            let tx = &included.transaction;
            for e in &included.receipt.events {
                if contract.is_some_and(|c| c != e.contract)
                    || topic.is_some_and(|t| t.as_bytes() != e.topic.as_slice())
                {
                    continue;
                }
                let abi = abis.entry(e.contract).or_insert_with(|| {
                    contract_abi(&chain, &e.contract)
                        .inspect_err(|err| {
                            let c = hex(e.contract.as_bytes());
                            eprintln!("warning: events of {c} shown as raw hex: {err}");
                        })
                        .ok()
                });
                let data = match abi.as_ref().map(|a| a.decode_event(&e.topic, &e.data)) {
                    Some(Ok(Some((_, d)))) => Some(d),
                    Some(Err(err)) => {
                        eprintln!("warning: event in block {h} shown as raw hex: {err}");
                        None
                    }
                    _ => None,
                };
                let v = logged_event_json(h, &tx.hash(), e, data);
                human += &format!(
                    "block {h} {:?} {} {} {}{}\n",
                    tx.hash(),
                    hex(e.contract.as_bytes()),
                    String::from_utf8_lossy(&e.topic),
                    v["data"],
                    if e.reverted { " (reverted)" } else { "" }
                );
                out.push(v);
            }
        }
    }
    emit(
        j,
        if human.is_empty() {
            "no events"
        } else {
            human.trim_end()
        },
        &Value::Array(out),
    );
    Ok(())
}

/// The raw state key `key` names: `account:`, `validator:`, `storage:` or `0x` hex.
pub(crate) fn state_key(home: &Path, key: &str) -> Res<Vec<u8>> {
    use chainvm_runtime::layout;
    let addr = |s: &str| resolve(home, s);
    Ok(if let Some(a) = key.strip_prefix("account:") {
        layout::account_key(&addr(a)?)
    } else if let Some(a) = key.strip_prefix("validator:") {
        layout::validator_key(&addr(a)?)
    } else if let Some(rest) = key.strip_prefix("storage:") {
        let (c, k) = rest
            .split_once(':')
            .ok_or_else(|| CliError("storage keys are storage:<contract>:<hex key>".into()))?;
        let k = parse_hex(k).ok_or_else(|| CliError(format!("`{k}` is not hex")))?;
        layout::storage_key(&addr(c)?, &k)
    } else {
        parse_hex(key).ok_or_else(|| CliError(format!("`{key}` is not a key: use account:<addr>, storage:<contract>:<hex>, validator:<addr> or 0x<hex>")))?
    })
}

pub(crate) fn proof(home: &Path, key: &str, height: Option<u64>, j: bool) -> Res<()> {
    let chain = open(home)?;
    let raw = state_key(home, key)?;
    let StateProof { value, proof, root } = chain.prove(&raw, height)?;
    let verified = proof.verify(&root.0, &raw, value.as_deref()).is_ok();
    let v = json!({"key": hex(&raw), "value": value.as_ref().map(|v| hex(v)), "state_root": format!("{root:?}"),
                   "height": height.unwrap_or(chain.height()?), "proof": hex(&proof.encode()), "siblings": proof.siblings.len(),
                   "verified": verified});
    let human = format!(
        "key       {}\nvalue     {}\nroot      {root:?}\nproof     {} siblings, {} bytes\nverified  {}",
        hex(&raw),
        value
            .as_ref()
            .map(|v| hex(v))
            .unwrap_or_else(|| "(absent: proof of absence)".into()),
        proof.siblings.len(),
        proof.encode().len(),
        if verified { "yes" } else { "NO" }
    );
    emit(j, &human, &v);
    if verified {
        Ok(())
    } else {
        fail("the proof did not verify against the state root")
    }
}

pub(crate) fn verify(home: &Path, j: bool) -> Res<()> {
    let backend = open(home)?;
    let r = backend.local("verify")?.verify()?;
    emit(
        j,
        &format!(
            "verified {} blocks ({} transactions re-executed); state root {:?}",
            r.blocks, r.transactions, r.state_root
        ),
        &serde_json::to_value(&r)?,
    );
    Ok(())
}
