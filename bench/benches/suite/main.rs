//! The chainvm benchmark suite: every workload side by side with what users would otherwise
//! pick, measured in one run. `cargo bench -p chainvm-bench` runs all sections; name some to
//! run only those: `cargo bench -p chainvm-bench -- token peers`.
//!
//! Sections: token, peers, node, network, flows, compute, storage, state, cold, startup, calibrate.
//! Every run writes its headline figures to `target/bench-summary.json` ([`summary`]).

mod calibrate;
mod cold;
mod compute;
mod flows;
mod network;
mod node;
mod peers;
mod state;
mod storage;
mod summary;
mod token;
mod util;

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // Contract execution wants a deep native stack (see vm::Vm::execute); run everything on
    // a thread that has one, as the node does.
    let worker = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || suite(&args))
        .expect("spawn the benchmark thread");
    if worker.join().is_err() {
        std::process::exit(1);
    }
}

fn suite(args: &[String]) {
    let want = |s: &str| args.is_empty() || args.iter().any(|a| a == s);
    let started = Instant::now();
    println!("# chainvm benchmark suite\n");
    println!("Machine: {}", util::machine());
    let command = format!(
        "cargo bench -p chainvm-bench{}",
        if args.is_empty() {
            String::new()
        } else {
            format!(" -- {}", args.join(" "))
        }
    );
    println!("Command: {command}");
    let mut headline = summary::Summary::default();
    let contracts = ["token", "escrow", "voting"].map(|n| (n, chainvm_tests::contract_wasm(n)));
    let (token, escrow, voting) = (&contracts[0].1, &contracts[1].1, &contracts[2].1);
    let mut summary = Vec::new();
    if want("token") {
        let n = token::run(token);
        summary.push(format!(
            "token transfer end to end, blocks of 1,000: {} tx/s (signature ceiling on all cores {} tx/s, runtime execution alone {} tx/s per core)",
            util::group(n.end_to_end_1000),
            util::group(n.sig_strict_all_cores),
            util::group(n.execution_only)
        ));
        headline.record(
            "block_vs_sig_ceiling",
            n.end_to_end_1000 / n.sig_strict_all_cores,
        );
    }
    if want("peers") {
        let p = peers::run(token);
        headline.record("transfer_vs_revm", p.transfer_vs_revm);
        headline.record("transfer_vs_wasmi", p.transfer_vs_wasmi);
    }
    if want("node") {
        let n = node::run();
        headline.record("node_vs_sig_ceiling", n.vs_sig_ceiling);
    }
    if want("network") {
        let n = network::run();
        headline.record("network_4_vs_1_validator_tps", n.four_vs_one);
        headline.record("network_p50_finality_ms", n.p50_ms);
    }
    if want("flows") {
        flows::run(escrow, voting);
    }
    if want("compute") {
        compute::run();
    }
    if want("storage") {
        storage::run();
    }
    if want("state") {
        let s = state::run();
        headline.record("commit_growth_1e6_vs_1e4", s.commit_growth_1e6_vs_1e4);
        headline.record(
            "root_update_growth_1e6_vs_1e4",
            s.root_update_growth_1e6_vs_1e4,
        );
    }
    if (want("cold") || want("startup"))
        && let Some(d) = cold::run(&contracts, token, want("startup"))
    {
        headline.record(
            "pruned_bytes_per_empty_block",
            d.pruned_bytes_per_empty_block,
        );
    }
    if want("calibrate") {
        let flagged = calibrate::run();
        summary.push(format!("under-priced patterns: {}", flagged.len()));
    }
    if !summary.is_empty() {
        println!("\n### Summary\n");
        for s in summary {
            println!("- {s}");
        }
    }
    headline.write(&command);
    println!(
        "\nSuite finished in {:.0} s.",
        started.elapsed().as_secs_f64()
    );
}
