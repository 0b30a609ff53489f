//! The token transfer end to end on a chain stored on disk: signature checks, execution,
//! state root and the durable block commit, for blocks of 1, 100 and 1,000 transfers; next
//! to the signature-verification ceiling and runtime execution alone.

use crate::util::{Table, group, keys, note, rate, secs};
use chainvm_runtime::production::BlockTimings;
use chainvm_runtime::state::Overlay;
use chainvm_runtime::{
    Address, BlockContext, Chain, Executor, Keypair, Payload, SignedTransaction, Transaction, U256,
};
use std::time::{Duration, Instant};

/// Senders in the benchmark chain: a block of 1,000 has one transfer from each.
const SENDERS: u32 = 1_000;
const GAS: u64 = 5_000_000;

/// A chain in a temporary home with a deployed token and `SENDERS` funded token holders.
pub struct TokenChain {
    pub chain: Chain,
    _home: tempfile::TempDir,
    pub token: Address,
    senders: Vec<Keypair>,
    nonces: Vec<u64>,
    next: u64,
}

impl TokenChain {
    pub fn new(token_wasm: &[u8]) -> TokenChain {
        let senders = keys(SENDERS);
        let mut builder = Chain::builder().dev_accounts();
        for k in &senders {
            builder = builder.fund(k.address(), U256::from(10).pow(U256::from(24)));
        }
        let home = tempfile::tempdir().expect("temp dir");
        let (mut chain, dev) = builder.init(home.path()).expect("init");
        let deployed = chain
            .deploy(
                &dev[0],
                token_wasm,
                serde_json::json!({"name": "Bench", "symbol": "BEN", "supply": 1_000_000_000_000u64}),
            )
            .expect("deploy token");
        let token = deployed.address;
        // Give every sender tokens, 1,000 transfers a block.
        let mut nonce = chain.account(&dev[0].address()).expect("account").nonce;
        let txs: Vec<_> = senders
            .iter()
            .map(|k| {
                nonce += 1;
                transfer(&chain, &dev[0], nonce - 1, token, k.address(), 1_000_000)
            })
            .collect();
        for block in txs.chunks(1_000) {
            let b = chain.produce_block(block).expect("block");
            assert!(
                b.results
                    .iter()
                    .all(|r| r.as_ref().is_ok_and(|r| r.is_success()))
            );
        }
        TokenChain {
            chain,
            _home: home,
            token,
            senders,
            nonces: vec![0; SENDERS as usize],
            next: 0,
        }
    }

    /// `n` transfers like [`TokenChain::next_transfers`] without using up the nonces, for
    /// measurements that commit nothing.
    pub fn peek_transfers(&mut self, n: usize) -> Vec<SignedTransaction> {
        let (nonces, next) = (self.nonces.clone(), self.next);
        let txs = self.next_transfers(n);
        (self.nonces, self.next) = (nonces, next);
        txs
    }

    /// The next `n` signed transfers, round robin over the senders, each to a new address.
    pub fn next_transfers(&mut self, n: usize) -> Vec<SignedTransaction> {
        (0..n)
            .map(|_| {
                let i = (self.next % SENDERS as u64) as usize;
                self.next += 1;
                let mut to = [0u8; 20];
                to[..8].copy_from_slice(&self.next.to_be_bytes());
                to[19] = 0xee;
                let tx = transfer(
                    &self.chain,
                    &self.senders[i],
                    self.nonces[i],
                    self.token,
                    Address::from(to),
                    1,
                );
                self.nonces[i] += 1;
                tx
            })
            .collect()
    }
}

fn transfer(
    chain: &Chain,
    from: &Keypair,
    nonce: u64,
    token: Address,
    to: Address,
    amount: u128,
) -> SignedTransaction {
    let call = Payload::Call {
        contract: token,
        method: "transfer".into(),
        args: borsh::to_vec(&(to.0, amount)).unwrap_or_default(),
        value: U256::zero(),
    };
    Transaction::new(chain.params().chain_id, nonce, call)
        .with_gas_limit(GAS)
        .sign(from)
}

fn add(a: &mut BlockTimings, b: &BlockTimings) {
    a.signatures += b.signatures;
    a.execution += b.execution;
    a.state_root += b.state_root;
    a.header += b.header;
    a.durable_write += b.durable_write;
}

fn pct(part: Duration, whole: Duration) -> String {
    format!("{:.0}%", 100.0 * secs(part) / secs(whole))
}

/// Signature checks alone on all cores: strict checks by the mechanism blocks use (the
/// scheme blocks use, so its rate is the ceiling blocks are measured against), and
/// ed25519-dalek's batch verification on one chunk per core (the ceiling a batching scheme
/// could reach). Both do the same preparation inside the timed region: building each
/// transaction's signing message (its borsh encoding), decoding the public key (point
/// decompression) and the signature, then verifying.
fn signature_ceiling(txs: &[SignedTransaction]) -> (Duration, Duration, Duration) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = txs.len().div_ceil(threads);
    let one_core = crate::util::median(7, || {
        assert!(txs.iter().all(|t| t.verify_signature()));
    });
    // The chain's scheme (`verify_strict`) on every core, nothing else in the way.
    let strict = crate::util::median(7, || {
        assert!(
            chainvm_runtime::signatures::verify_signatures(txs)
                .iter()
                .all(|ok| *ok)
        );
    });
    let batched = crate::util::median(7, || {
        std::thread::scope(|s| {
            for part in txs.chunks(chunk) {
                s.spawn(move || {
                    let msgs: Vec<Vec<u8>> =
                        part.iter().map(|t| t.body.signing_message()).collect();
                    let msgs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
                    let sigs: Vec<_> = part
                        .iter()
                        .map(|t| ed25519_dalek::Signature::from_bytes(&t.signature))
                        .collect();
                    let keys: Vec<_> = part
                        .iter()
                        .map(|t| {
                            ed25519_dalek::VerifyingKey::from_bytes(&t.public_key)
                                .expect("valid key")
                        })
                        .collect();
                    ed25519_dalek::verify_batch(&msgs, &sigs, &keys).expect("batch verifies");
                });
            }
        })
    });
    (one_core, strict, batched)
}

/// Runtime execution only: the executor over an overlay, signatures skipped, nothing hashed
/// or committed. One core.
fn execution_only(tc: &mut TokenChain, n: usize) -> Duration {
    let txs = tc.peek_transfers(n);
    let snap = tc.chain.latest_state().expect("snapshot");
    let ctx = BlockContext {
        height: tc.chain.height().expect("height") + 1,
        timestamp: u64::MAX / 2,
        proposer: tc.chain.validator(),
    };
    let exec = Executor::new(tc.chain.vm(), tc.chain.params());
    let mut overlay = Overlay::new(&snap);
    let start = Instant::now();
    for tx in &txs {
        let r = exec
            .apply_checked(&mut overlay, &ctx, tx, false)
            .expect("applies");
        assert!(r.is_success());
    }
    start.elapsed()
}

/// Results for the summary table.
pub struct TokenNumbers {
    pub end_to_end_1000: f64,
    pub execution_only: f64,
    pub sig_strict_all_cores: f64,
}

pub fn run(token_wasm: &[u8]) -> TokenNumbers {
    let started = Instant::now();
    let mut tc = TokenChain::new(token_wasm);
    note(&format!(
        "Setup: on-disk chain with {SENDERS} funded token holders in {:.1} s.",
        secs(started.elapsed())
    ));
    let t = Table::new(
        "Token transfer end to end (signature check + execution + state root + roots and signing + durable write)",
        &[
            "block size",
            "blocks",
            "transfers/s",
            "per block",
            "signatures",
            "execution",
            "state root",
            "roots + signing",
            "durable write",
        ],
    );
    let mut e2e_1000 = 0.0;
    for (size, blocks) in [(1usize, 200usize), (100, 20), (1_000, 5)] {
        let mut total = Duration::ZERO;
        let mut stages = BlockTimings::default();
        for _ in 0..blocks {
            let txs = tc.next_transfers(size);
            let start = Instant::now();
            let b = tc.chain.produce_block(&txs).expect("block");
            total += start.elapsed();
            assert!(
                b.results
                    .iter()
                    .all(|r| r.as_ref().is_ok_and(|r| r.is_success())),
                "every transfer succeeds"
            );
            add(&mut stages, &b.timings);
        }
        let n = (size * blocks) as f64;
        if size == 1_000 {
            e2e_1000 = n / secs(total);
        }
        t.row(&[
            size.to_string(),
            blocks.to_string(),
            rate(n, total),
            crate::util::ms(total / blocks as u32),
            pct(stages.signatures, total),
            pct(stages.execution, total),
            pct(stages.state_root, total),
            pct(stages.header, total),
            pct(stages.durable_write, total),
        ]);
    }
    note(
        "Stage shares are of the whole `produce_block` wall time. Signatures are checked ahead \
         of execution by the other cores (the executing thread checks the next chunk itself \
         when the verdict it needs is not ready): the signatures column is only the time the \
         executing thread spent on them, the part execution did not hide. Roots + signing \
         builds the roots of the block's transactions and receipts and the header and signs \
         it; the durable write is the store's one redb write transaction (fsync). The rest is \
         reading the parent header and proposer set. State-root hashing is one pass over the \
         block's sorted dirty keys, so shared paths are hashed once.",
    );

    let sample = tc.peek_transfers(1_000);
    let (one, strict, batched) = signature_ceiling(&sample);
    let exec = execution_only(&mut tc, 1_000);
    let t = Table::new(
        "Token transfer: ceilings measured in the same run (1,000 transactions)",
        &[
            "stage alone",
            "transactions/s",
            "vs end to end (blocks of 1,000)",
        ],
    );
    let row = |name: &str, d: Duration| {
        let r = 1_000.0 / secs(d);
        t.row(&[name.into(), group(r), format!("{:.2}x", r / e2e_1000)]);
        r
    };
    row("signature check, in order, 1 core", one);
    let strict_rate = row("signature check (verify_strict), all cores", strict);
    row("signature check (ed25519 batch), all cores", batched);
    let exec_rate = row(
        "runtime execution only (no signatures, no commit), 1 core",
        exec,
    );
    TokenNumbers {
        end_to_end_1000: e2e_1000,
        execution_only: exec_rate,
        sig_strict_all_cores: strict_rate,
    }
}
