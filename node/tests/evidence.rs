//! Issue 17, must-show 5 (equivocation): four validators from `testnet init` homes run as
//! nodes (`start_home`), one of them double-signing its votes at one height (the home's
//! TEST ONLY `equivocate` setting: made-up conflicting prevotes for that height gossiped a
//! height ahead, and a conflicting vote next to each real one). The honest nodes see the equivocation when the height
//! finalizes, each signs a `ReportDoubleVote` with its validator key and admits it; a block
//! takes one, which slashes the offender's pool by exactly the slash fraction, once: every
//! other report of that height is refused as already slashed. All nodes hold the same
//! blocks and every home's chain verifies.

use std::path::Path;
use std::time::{Duration, Instant};

use chainvm_node::Settings;
use chainvm_node::testnet::{self, NetworkConfig};
use chainvm_runtime::failure::EvidenceFault;
use chainvm_runtime::staking::{self, BPS, Validator};
use chainvm_runtime::types::parse_hex;
use chainvm_runtime::{
    Address, Chain, ErrorDetail, Payload, Receipt, SignedTransaction, U256, layout,
};
use serde_json::{Value, json};

mod common;

/// The one height the offender double-signs at (past start-up, when every link is up).
const EQUIVOCATION_HEIGHT: u64 = 3;
/// The offender among v0..v3.
const OFFENDER: usize = 2;
const WAIT: Duration = Duration::from_secs(60);

/// A first port with `testnet init`'s 8 ports (RPC and P2P of 4 validators) all free.
fn free_base() -> u16 {
    let start = (std::process::id() % 3_000) * 8;
    (0..400u32)
        .map(|k| 30_000 + ((start + k * 8) % 30_000) as u16)
        .find(|base| (0..8).all(|p| std::net::TcpListener::bind(("127.0.0.1", base + p)).is_ok()))
        .expect("no free ports")
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let r = common::raw_post(url, &body.to_string());
    assert!(r.get("error").is_none(), "{method}: {r}");
    r["result"].clone()
}

fn decode<T>(v: &Value, f: impl Fn(&[u8]) -> Result<T, std::io::Error>) -> T {
    f(&parse_hex(v.as_str().expect("hex")).expect("hex")).expect("decodes")
}

/// The double-vote reports of the block at `height` on the node at `url`, with receipts.
fn reports_at(url: &str, height: u64) -> Vec<(SignedTransaction, Receipt)> {
    let block = rpc(url, "chainvm_getBlockByNumber", json!({ "height": height }));
    block["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| {
            (
                decode(&t["tx_raw"], SignedTransaction::decode),
                decode(&t["receipt_raw"], Receipt::decode),
            )
        })
        .filter(|(t, _)| matches!(t.body.payload, Payload::ReportDoubleVote { .. }))
        .collect()
}

fn validator_at(chain: &Chain, who: &Address, height: u64) -> Validator {
    let value = chain
        .prove(&layout::validator_key(who), Some(height))
        .expect("state at height")
        .value
        .expect("a validator");
    borsh::from_slice(&value).expect("validator record")
}

fn slashed_at(chain: &Chain, height: u64) -> U256 {
    chain
        .prove(&layout::supply_key(), Some(height))
        .expect("state at height")
        .value
        .map_or(U256::zero(), |v| {
            borsh::from_slice::<staking::Supply>(&v)
                .expect("supply")
                .slashed
        })
}

#[test]
fn an_equivocating_validator_is_reported_by_its_peers_and_slashed_once() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("tempdir");
    let homes = testnet::init(&dir.path().join("net"), 7, &[100; 4], 0, free_base()).expect("init");
    let offender_home = &homes[OFFENDER].home;
    let mut cfg = NetworkConfig::read(offender_home)
        .expect("read")
        .expect("network file");
    cfg.equivocate = Some(EQUIVOCATION_HEIGHT..=EQUIVOCATION_HEIGHT);
    cfg.write(offender_home).expect("write");
    let nodes: Vec<_> = homes
        .iter()
        .map(|h| chainvm_node::start_home(&h.home, None, Settings::default()).expect("starts"))
        .collect();
    let url = format!("http://{}/", nodes[0].addr());

    // Wait for a block holding a successful report, then two more blocks for the others.
    let deadline = Instant::now() + WAIT;
    let mut seen = 0;
    let mut landed = None;
    loop {
        assert!(
            Instant::now() < deadline,
            "no successful ReportDoubleVote by height {seen}"
        );
        let tip = rpc(&url, "chainvm_blockNumber", json!({}))
            .as_u64()
            .expect("height");
        for h in seen + 1..=tip {
            if landed.is_none() && reports_at(&url, h).iter().any(|(_, r)| r.is_success()) {
                landed = Some(h);
            }
        }
        seen = tip;
        if landed.is_some_and(|b| tip >= b + 2) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let block = landed.expect("landed");
    for n in nodes {
        n.stop().expect("stops");
    }

    let chains: Vec<Chain> = homes
        .iter()
        .map(|h| Chain::open(&h.home).expect("open"))
        .collect();
    let offender = chains[OFFENDER].validator();
    let honest: Vec<Address> = (0..4)
        .filter(|i| *i != OFFENDER)
        .map(|i| chains[i].validator())
        .collect();
    // Every node holds the same blocks.
    let upto = chains
        .iter()
        .map(|c| c.height().expect("height"))
        .min()
        .expect("4");
    assert!(upto >= block + 2, "node stopped at {upto}");
    for h in 1..=upto {
        let hash = chains[0]
            .header(h)
            .expect("read")
            .expect("header")
            .header
            .hash();
        for c in &chains[1..] {
            assert_eq!(
                c.header(h).expect("read").expect("header").header.hash(),
                hash
            );
        }
    }

    // Every report names the offender at the equivocation height and comes from an honest
    // validator; exactly one succeeded, the rest were refused as already slashed.
    let chain = &chains[0];
    let mut successes = Vec::new();
    for h in 1..=chain.height().expect("height") {
        let stored = chain.block(h).expect("read").expect("block");
        for t in stored.txs {
            let Payload::ReportDoubleVote { evidence } = &t.transaction.body.payload else {
                continue;
            };
            assert_eq!(evidence.offender(), offender);
            assert_eq!(evidence.height(), EQUIVOCATION_HEIGHT);
            assert_ne!(evidence.a.block, evidence.b.block);
            assert!(honest.contains(&t.transaction.sender()));
            if t.receipt.is_success() {
                successes.push(h);
            } else {
                let e = t.receipt.error.expect("failed");
                assert_eq!(
                    e.detail,
                    ErrorDetail::InvalidEvidence(EvidenceFault::AlreadySlashed)
                );
                assert!(h >= block);
            }
        }
    }
    assert_eq!(successes, vec![block], "slashed once");

    // The slash took exactly the slash fraction of the offender's pool as it stood when the
    // report ran: the parent state's, plus the block's reward (less commission) if the
    // offender proposed it (rewards compound at begin-block; fees only at end-block).
    let params = chain.params().clone();
    let before = validator_at(chain, &offender, block - 1);
    let proposer = chain
        .header(block)
        .expect("read")
        .expect("header")
        .header
        .proposer;
    let reward = U256::from(params.block_reward);
    let compounded = if proposer == offender {
        reward - reward * U256::from(before.commission_bps) / U256::from(BPS)
    } else {
        U256::zero()
    };
    let pool = before.stake + compounded;
    let cut = pool * U256::from(params.slash_bps) / U256::from(BPS);
    assert!(!cut.is_zero());
    assert_eq!(slashed_at(chain, block - 1), U256::zero());
    assert_eq!(slashed_at(chain, block), cut);
    assert_eq!(slashed_at(chain, upto), cut, "no second slash");
    let after = validator_at(chain, &offender, block).stake;
    if proposer == offender {
        assert!(after >= pool - cut, "its shared fees join after the slash");
    } else {
        assert_eq!(after, pool - cut);
    }
    let marker = layout::slashed_key(&offender, EQUIVOCATION_HEIGHT);
    assert!(
        chain
            .prove(&marker, Some(block))
            .expect("proof")
            .value
            .is_some()
    );
    // Honest validators were not slashed.
    for v in &honest {
        assert!(validator_at(chain, v, upto).stake >= validator_at(chain, v, 0).stake);
    }

    drop(chains);
    for h in &homes {
        verify(&h.home);
    }
}

fn verify(home: &Path) {
    let report = Chain::open(home).expect("open").verify();
    assert!(report.is_ok(), "{}: {report:?}", home.display());
}
