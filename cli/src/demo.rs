//! `chainvm demo`: the main job end to end on a fresh chain.

use crate::build;
use crate::util::{CliError, Res, emit, fail, generate_validator_key, init_dev_chain};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, Chain, Keypair, U256};
use serde_json::{Value, json};
use std::path::PathBuf;

struct Step {
    what: String,
    gas: u64,
    result: Value,
}

struct Demo {
    chain: Chain,
    keys: Vec<Keypair>,
    steps: Vec<Step>,
}

impl Demo {
    /// Calls `method` through the embedding API (ABI-encoded arguments, decoded result and
    /// events) and records the step; a failed call ends the demo.
    fn call(
        &mut self,
        from: usize,
        contract: Address,
        abi: &ContractAbi,
        method: &str,
        args: Value,
        value: u128,
    ) -> Res<Value> {
        let called =
            self.chain
                .call(&self.keys[from], contract, method, args, U256::from(value))?;
        let r = &called.receipt;
        if !r.is_success() {
            return fail(format!(
                "demo step {method} failed: {}",
                r.error.as_ref().map(|e| e.to_string()).unwrap_or_default()
            ));
        }
        let events: Vec<&str> = called.events.iter().map(|(n, _)| n.as_str()).collect();
        self.steps.push(Step {
            what: format!(
                "{}.{method} by account {from}{}",
                abi.contract.to_lowercase(),
                if events.is_empty() {
                    String::new()
                } else {
                    format!(" -> {}", events.join(", "))
                }
            ),
            gas: r.gas_used,
            result: called.value.clone(),
        });
        Ok(called.value)
    }

    fn deploy(&mut self, path: &std::path::Path) -> Res<(Address, ContractAbi)> {
        let code = std::fs::read(path)?;
        let d = self.chain.deploy(&self.keys[0], &code, Value::Null)?;
        self.steps.push(Step {
            what: format!(
                "deploy {} ({} bytes) at {}",
                d.abi.contract.to_lowercase(),
                code.len(),
                hex(d.address.as_bytes())
            ),
            gas: d.receipt.gas_used,
            result: Value::Null,
        });
        Ok((d.address, d.abi))
    }
}

/// Runs the demo.
pub fn run(keep: bool, j: bool) -> Res<()> {
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts");
    if !contracts.join("Cargo.toml").is_file() {
        return fail(
            "the demo builds the sample contracts from the chainvm source tree, which is not next to this binary",
        );
    }
    let home_dir = tempfile::Builder::new().prefix("chainvm-demo-").tempdir()?;
    let home = if keep {
        home_dir.keep()
    } else {
        home_dir.path().to_path_buf()
    };
    // A chain that is deleted at exit uses the fixed demo validator key, so the final state
    // root is the same on every run (a regression anchor for refactors). With `--keep` the
    // chain outlives the demo: it gets a secret key, like `chainvm init`.
    let validator = if keep {
        generate_validator_key()?
    } else {
        Keypair::derive("chainvm demo validator", 0)
    };
    let chain = init_dev_chain(&home, 1337, &validator)?;
    if !j {
        println!(
            "chain initialised in {}; building contracts from source...",
            home.display()
        );
    }
    let built = build::build(&contracts)?;
    let find = |name: &str| {
        built
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.wasm.clone())
            .ok_or_else(|| CliError(format!("{name}.wasm was not built")))
    };
    let mut d = Demo {
        chain,
        keys: dev_keys(),
        steps: Vec::new(),
    };
    let addr = |d: &Demo, i: usize| json!(hex(d.keys[i].address().as_bytes()));

    // Escrow: buyer 1 pays seller 2 through the contract, arbiter 3 on standby.
    let (escrow, eabi) = d.deploy(&find("escrow")?)?;
    let args = json!({"seller": addr(&d, 2), "arbiter": addr(&d, 3), "deadline_blocks": 50});
    let id = d.call(1, escrow, &eabi, "create", args, 1_000_000)?;
    d.call(2, escrow, &eabi, "mark_delivered", json!({"id": id}), 0)?;
    d.call(1, escrow, &eabi, "confirm", json!({"id": id}), 0)?;

    // Voting: a proposal, four voters, finalize after the window.
    let (voting, vabi) = d.deploy(&find("voting")?)?;
    let start = d.chain.height()? + 1;
    let end = start + 6;
    let args = json!({"title": "Next feature", "options": ["gas reports", "node", "benchmarks"], "start": start, "end": end});
    let pid = d.call(0, voting, &vabi, "create_proposal", args, 0)?;
    for (voter, option) in [(1, 1), (2, 0), (3, 1), (4, 2)] {
        d.call(
            voter,
            voting,
            &vabi,
            "vote",
            json!({"id": pid, "option": option}),
            0,
        )?;
    }
    while d.chain.height()? <= end {
        d.chain.produce_block(&[])?;
    }
    d.call(0, voting, &vabi, "finalize", json!({"id": pid}), 0)?;

    let report = d.chain.verify()?;
    let root = d.chain.state_root()?;
    let mut human = format!("{:<4} {:<72} {:>12}  result\n", "#", "step", "gas");
    for (i, s) in d.steps.iter().enumerate() {
        human += &format!("{:<4} {:<72} {:>12}  {}\n", i + 1, s.what, s.gas, s.result);
    }
    human += &format!(
        "blocks {}  transactions {}  verified by re-execution\nfinal state root {root:?}",
        report.blocks, report.transactions
    );
    if keep {
        human += &format!("\nhome kept at {}", home.display());
    }
    let steps: Vec<Value> = d
        .steps
        .iter()
        .map(|s| json!({"step": s.what, "gas_used": s.gas, "result": s.result}))
        .collect();
    emit(
        j,
        &human,
        &json!({"steps": steps, "blocks": report.blocks, "state_root": format!("{root:?}"), "home": keep.then(|| home.display().to_string())}),
    );
    Ok(())
}
