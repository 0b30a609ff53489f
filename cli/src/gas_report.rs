//! `chainvm gas-report <scenario.json>`: runs a scenario of deploys and calls on a fresh
//! in-memory chain and prints, per contract, each method's gas (min / avg / median / max and
//! call count), like `forge test --gas-report`.
//!
//! Scenario format (paths relative to the scenario file; `"@3"` is dev account 3's address,
//! `"@escrow"` the address of the contract deployed as `escrow`):
//!
//! ```json
//! { "contracts": { "escrow": "escrow.wasm" },
//!   "steps": [ { "deploy": "escrow" },
//!              { "call": "escrow", "method": "create", "from": 1, "value": "1000",
//!                "args": { "seller": "@2", "deadline_blocks": 5 } },
//!              { "advance": 3 } ] }
//! ```

use crate::util::{CliError, Res, emit, fail};
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, Chain, U256};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
struct Scenario {
    contracts: BTreeMap<String, String>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Step {
    Deploy {
        deploy: String,
        #[serde(default)]
        args: Value,
        #[serde(default)]
        from: usize,
    },
    Call {
        call: String,
        method: String,
        #[serde(default)]
        args: Value,
        #[serde(default)]
        from: usize,
        #[serde(default)]
        value: Option<String>,
    },
    Advance {
        advance: u64,
    },
}

/// Replaces `"@N"` and `"@name"` strings with addresses.
fn substitute(v: &Value, accounts: &[Address], deployed: &BTreeMap<String, Address>) -> Res<Value> {
    Ok(match v {
        Value::String(s) if s.starts_with('@') => {
            let name = &s[1..];
            let a = match name.parse::<usize>() {
                Ok(i) => *accounts
                    .get(i)
                    .ok_or_else(|| CliError(format!("{s}: no dev account {i}")))?,
                Err(_) => *deployed
                    .get(name)
                    .ok_or_else(|| CliError(format!("{s}: no contract deployed as `{name}`")))?,
            };
            Value::String(hex(a.as_bytes()))
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, accounts, deployed))
                .collect::<Res<_>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), substitute(x, accounts, deployed)?)))
                .collect::<Res<_>>()?,
        ),
        other => other.clone(),
    })
}

struct Stats {
    gas: Vec<u64>,
    failed: u64,
}

/// Runs the command.
pub fn run(file: &Path, j: bool) -> Res<()> {
    let text =
        std::fs::read_to_string(file).map_err(|e| CliError(format!("{}: {e}", file.display())))?;
    let scenario: Scenario = serde_json::from_str(&text)
        .map_err(|e| CliError(format!("{}: not a scenario: {e}", file.display())))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let (mut chain, keys) = Chain::builder().dev_accounts().in_memory()?;
    let accounts: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let key = |i: usize| {
        keys.get(i)
            .ok_or_else(|| CliError(format!("no dev account {i}")))
    };
    let mut deployed: BTreeMap<String, Address> = BTreeMap::new();
    let mut deploys: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut stats: BTreeMap<(String, String), Stats> = BTreeMap::new();
    for (n, step) in scenario.steps.iter().enumerate() {
        let at = |e: String| CliError(format!("step {}: {e}", n + 1));
        match step {
            Step::Deploy { deploy, args, from } => {
                let path = scenario
                    .contracts
                    .get(deploy)
                    .ok_or_else(|| at(format!("`{deploy}` is not in `contracts`")))?;
                let code =
                    std::fs::read(base.join(path)).map_err(|e| at(format!("{path}: {e}")))?;
                let args = substitute(args, &accounts, &deployed)?;
                let d = chain
                    .deploy(key(*from)?, &code, args)
                    .map_err(|e| at(e.to_string()))?;
                deploys.insert(deploy.clone(), (d.receipt.gas_used, code.len()));
                deployed.insert(deploy.clone(), d.address);
            }
            Step::Call {
                call,
                method,
                args,
                from,
                value,
            } => {
                let address = *deployed
                    .get(call)
                    .ok_or_else(|| at(format!("`{call}` was not deployed")))?;
                let args = substitute(args, &accounts, &deployed)?;
                let value = match value {
                    Some(v) => U256::from_dec_str(v).map_err(|_| at(format!("bad value {v}")))?,
                    None => U256::zero(),
                };
                let r = chain
                    .call(key(*from)?, address, method, args, value)
                    .map_err(|e| at(e.to_string()))?;
                let s = stats
                    .entry((call.clone(), method.clone()))
                    .or_insert(Stats {
                        gas: Vec::new(),
                        failed: 0,
                    });
                s.gas.push(r.receipt.gas_used);
                if !r.receipt.is_success() {
                    s.failed += 1;
                }
            }
            Step::Advance { advance } => chain.advance_blocks(*advance)?,
        }
    }
    if stats.is_empty() && deploys.is_empty() {
        return fail("the scenario ran no deploy and no call");
    }
    let mut human = String::new();
    let mut out = serde_json::Map::new();
    for (contract, (gas, size)) in &deploys {
        human += &format!(
            "{contract} contract\n  deployment gas {gas}, size {size} bytes\n  {:<22} {:>10} {:>10} {:>10} {:>10} {:>6} {:>6}\n",
            "method", "min", "avg", "median", "max", "calls", "failed"
        );
        let mut methods = serde_json::Map::new();
        for ((c, m), s) in stats.iter().filter(|((c, _), _)| c == contract) {
            let _ = c;
            let mut sorted = s.gas.clone();
            sorted.sort_unstable();
            let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
            let avg = sorted.iter().sum::<u64>() / sorted.len() as u64;
            let median = sorted[sorted.len() / 2];
            human += &format!(
                "  {m:<22} {min:>10} {avg:>10} {median:>10} {max:>10} {:>6} {:>6}\n",
                sorted.len(),
                s.failed
            );
            methods.insert(
                m.clone(),
                json!({"min": min, "avg": avg, "median": median, "max": max, "calls": sorted.len(), "failed": s.failed}),
            );
        }
        out.insert(
            contract.clone(),
            json!({"deployment_gas": gas, "size": size, "methods": methods}),
        );
    }
    emit(j, human.trim_end(), &Value::Object(out));
    Ok(())
}
