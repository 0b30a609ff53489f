//! Full contract flows end to end on an on-disk chain: escrow deals (create, mark_delivered,
//! confirm) and a voting round (create_proposal, votes, finalize), many per block.

use crate::util::{Table, group, keys, note, rate, secs};
use chainvm_runtime::abi::ContractAbi;
use chainvm_runtime::types::hex;
use chainvm_runtime::{Address, Chain, Keypair, Payload, SignedTransaction, U256};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DEALS: usize = 200;
const VOTERS: usize = 1_000;

struct Flow {
    chain: Chain,
    _home: tempfile::TempDir,
}

impl Flow {
    fn new(accounts: &[Keypair]) -> Flow {
        let mut b = Chain::builder().dev_accounts();
        for k in accounts {
            b = b.fund(k.address(), U256::from(10).pow(U256::from(24)));
        }
        let home = tempfile::tempdir().expect("temp dir");
        let (chain, _) = b.init(home.path()).expect("init");
        Flow { chain, _home: home }
    }

    fn tx(
        &self,
        key: &Keypair,
        contract: Address,
        abi: &ContractAbi,
        method: &str,
        args: Value,
        value: u64,
    ) -> SignedTransaction {
        let call = Payload::Call {
            contract,
            method: method.into(),
            args: abi.encode_args(method, &args).expect("args encode"),
            value: U256::from(value),
        };
        self.chain
            .next_transaction(&key.address(), call)
            .expect("account")
            .with_gas_limit(20_000_000)
            .sign(key)
    }

    /// Produces a block of `txs`; all must succeed. Returns the wall time and return values.
    fn block(&mut self, txs: &[SignedTransaction]) -> (Duration, Vec<Vec<u8>>) {
        let start = Instant::now();
        let b = self.chain.produce_block(txs).expect("block");
        let t = start.elapsed();
        let out = b
            .results
            .into_iter()
            .map(|r| {
                let r = r.expect("admitted");
                assert!(r.is_success(), "{:?}", r.error);
                r.return_data
            })
            .collect();
        (t, out)
    }
}

fn addr(k: &Keypair) -> Value {
    json!(hex(k.address().as_bytes()))
}

/// Escrow: `DEALS` buyers each open a deal with their own seller; one block per step.
fn escrow(wasm: &[u8]) -> (usize, Duration) {
    let buyers = keys(2 * DEALS as u32);
    let (buyers, sellers) = buyers.split_at(DEALS);
    let mut f = Flow::new(&[buyers, sellers].concat());
    let dev = chainvm_runtime::genesis::dev_keys();
    let d = f
        .chain
        .deploy(&dev[0], wasm, json!({}))
        .expect("deploy escrow");
    let (escrow, abi) = (d.address, d.abi);
    let mut total = Duration::ZERO;
    let creates: Vec<_> = buyers
        .iter()
        .zip(sellers)
        .map(|(b, s)| {
            let args = json!({"seller": addr(s), "arbiter": addr(&dev[3]), "deadline_blocks": 50});
            f.tx(b, escrow, &abi, "create", args, 1_000_000)
        })
        .collect();
    let (t, out) = f.block(&creates);
    total += t;
    let ids: Vec<Value> = out
        .iter()
        .map(|r| abi.decode_return("create", r).expect("deal id"))
        .collect();
    let step = |f: &Flow, who: &[Keypair], method: &str| -> Vec<SignedTransaction> {
        who.iter()
            .zip(&ids)
            .map(|(k, id)| f.tx(k, escrow, &abi, method, json!({"id": id}), 0))
            .collect()
    };
    let delivered = step(&f, sellers, "mark_delivered");
    total += f.block(&delivered).0;
    let confirms = step(&f, buyers, "confirm");
    total += f.block(&confirms).0;
    (3 * DEALS, total)
}

/// Voting: a proposal, `VOTERS` votes in one block, finalize after the window.
fn voting(wasm: &[u8]) -> (usize, Duration) {
    let voters = keys(VOTERS as u32);
    let mut f = Flow::new(&voters);
    let dev = chainvm_runtime::genesis::dev_keys();
    let d = f
        .chain
        .deploy(&dev[0], wasm, json!({}))
        .expect("deploy voting");
    let (voting, abi) = (d.address, d.abi);
    let h = f.chain.height().expect("height");
    let (start, end) = (h + 2, h + 3);
    let args = json!({"title": "bench", "options": ["a", "b", "c"], "start": start, "end": end});
    let create = f.tx(&dev[0], voting, &abi, "create_proposal", args, 0);
    let (mut total, out) = f.block(&[create]);
    let id = abi
        .decode_return("create_proposal", &out[0])
        .expect("proposal id");
    let votes: Vec<_> = voters
        .iter()
        .enumerate()
        .map(|(i, v)| {
            f.tx(
                v,
                voting,
                &abi,
                "vote",
                json!({"id": id, "option": i % 3}),
                0,
            )
        })
        .collect();
    total += f.block(&votes).0;
    f.chain.produce_block(&[]).expect("empty block");
    f.chain.produce_block(&[]).expect("empty block");
    let fin = f.tx(&dev[0], voting, &abi, "finalize", json!({"id": id}), 0);
    total += f.block(&[fin]).0;
    (VOTERS + 2, total)
}

/// Prints the flows table.
pub fn run(escrow_wasm: &[u8], voting_wasm: &[u8]) {
    let t = Table::new(
        "Contract flows end to end (signed, executed, committed to disk)",
        &["flow", "transactions", "blocks", "time", "transactions/s"],
    );
    let (n, d) = escrow(escrow_wasm);
    t.row(&[
        format!("escrow: {DEALS} deals (create, mark_delivered, confirm)"),
        group(n as f64),
        "3".into(),
        format!("{:.1} ms", secs(d) * 1e3),
        rate(n as f64, d),
    ]);
    let (n, d) = voting(voting_wasm);
    t.row(&[
        format!("voting: proposal, {VOTERS} votes, finalize"),
        group(n as f64),
        "3 (+2 empty, not timed)".into(),
        format!("{:.1} ms", secs(d) * 1e3),
        rate(n as f64, d),
    ]);
    note("Every transaction of a step is in the same block; each step's results are checked.");
}
