//! The mempool's bounds, ordering and eviction, tested without a node.

use super::*;
use chainvm_runtime::{Keypair, Payload, Transaction};

fn tx(key: &Keypair, nonce: u64, price: u64) -> SignedTransaction {
    let payload = Payload::Transfer {
        to: Address::zero(),
        amount: U256::one(),
    };
    Transaction::new(1, nonce, payload)
        .with_gas_price(price)
        .sign(key)
}

fn funded(nonce: u64) -> Account {
    Account {
        nonce,
        balance: U256::exp10(24),
        ..Account::default()
    }
}

#[test]
fn mempool_orders_by_nonce_per_sender_and_price_across_senders() {
    let (a, b) = (Keypair::derive("a", 0), Keypair::derive("b", 0));
    let now = Instant::now();
    let mut pool = Mempool::default();
    pool.insert(tx(&a, 1, 10), &funded(0), now).unwrap();
    pool.insert(tx(&a, 0, 1), &funded(0), now).unwrap();
    pool.insert(tx(&b, 0, 5), &funded(0), now).unwrap();
    let gapped = pool.insert(tx(&b, 2, 50), &funded(0), now).unwrap();
    assert!(!gapped.ready, "b's nonce 1 is missing");
    assert!(
        pool.insert(tx(&a, 0, 1), &funded(0), now).is_err(),
        "duplicate"
    );
    assert!(
        pool.insert(tx(&a, 5, 1), &funded(6), now).is_err(),
        "nonce too low"
    );
    let picked = pool.select(|_| 0, 10);
    let order: Vec<(Address, u64)> = picked.iter().map(|t| (t.sender(), t.body.nonce)).collect();
    // b's nonce 0 (price 5) beats a's nonce 0 (price 1); then a's 0 and a's 1 in nonce order.
    assert_eq!(
        order,
        vec![(b.address(), 0), (a.address(), 0), (a.address(), 1)]
    );
    assert_eq!(pool.len(), 1, "the gapped transaction stays");
    // A higher price replaces a pending transaction with the same nonce.
    pool.insert(tx(&b, 1, 3), &funded(1), now).unwrap();
    assert!(pool.insert(tx(&b, 1, 2), &funded(1), now).is_err());
    assert!(pool.insert(tx(&b, 1, 4), &funded(1), now).unwrap().ready);
    let picked = pool.select(|_| 1, 10);
    assert_eq!(picked.len(), 2);
    assert_eq!(picked[0].body.gas_price, U256::from(4));
    assert_eq!(picked[1].body.nonce, 2);
    assert_eq!((pool.len(), pool.bytes()), (0, 0));
}

#[test]
fn funds_are_checked_against_everything_the_sender_queued() {
    let k = Keypair::derive("k", 0);
    let now = Instant::now();
    let mut pool = Mempool::default();
    let one = 1_000_000 + 1; // gas limit x price 1, plus the value 1
    let poor = Account {
        balance: U256::from(2 * one),
        ..Account::default()
    };
    pool.insert(tx(&k, 0, 1), &poor, now).unwrap();
    pool.insert(tx(&k, 5, 1), &poor, now).unwrap();
    let err = pool.insert(tx(&k, 1, 1), &poor, now).unwrap_err();
    assert!(err.contains("insufficient funds"), "{err}");
    // Replacing one does not count the replaced one twice.
    pool.insert(
        tx(&k, 5, 2),
        &Account {
            balance: U256::from(3 * one),
            ..poor.clone()
        },
        now,
    )
    .unwrap();
    let nothing = Account::default();
    let err = pool
        .insert(tx(&Keypair::derive("z", 0), 3, 1), &nothing, now)
        .unwrap_err();
    assert!(err.contains("insufficient funds"), "{err}");
    assert_eq!(pool.len(), 2);
}

#[test]
fn unfunded_and_gapped_runs_cannot_keep_a_funded_transfer_out() {
    let limits = PoolLimits {
        count: 200,
        per_sender: 20,
        ..PoolLimits::default()
    };
    let now = Instant::now();
    let mut pool = Mempool::new(limits);
    // Fifty keys without funds try long nonce runs: nothing gets in.
    for i in 0..50 {
        let key = Keypair::derive("sybil", i);
        for n in 0..40 {
            assert!(
                pool.insert(tx(&key, n, 1), &Account::default(), now)
                    .is_err()
            );
        }
    }
    assert_eq!(pool.len(), 0);
    // Funded keys fill the pool with gapped runs (nonce 0 never sent), up to the
    // per-sender cap each.
    for i in 0..10 {
        let key = Keypair::derive("gapper", i);
        for n in 1..=25 {
            let r = pool.insert(tx(&key, n, 1000), &funded(0), now);
            assert_eq!(r.is_ok(), n <= 20, "per-sender cap, nonce {n}");
        }
    }
    assert_eq!(pool.len(), 200);
    // A funded transfer at a low price still gets in: a gapped one makes room.
    let alice = Keypair::derive("alice", 0);
    let ok = pool.insert(tx(&alice, 0, 1), &funded(0), now).unwrap();
    assert!(ok.ready);
    assert_eq!(pool.len(), 200);
    let picked = pool.select(|_| 0, 10);
    assert_eq!(picked.len(), 1);
    assert_eq!(picked[0].sender(), alice.address());
    // Among executable ones, the cheapest goes first; an equal price does not evict.
    let mut full = Mempool::new(PoolLimits {
        count: 3,
        ..PoolLimits::default()
    });
    for (i, price) in [5, 2, 7].into_iter().enumerate() {
        full.insert(
            tx(&Keypair::derive("e", i as u32), 0, price),
            &funded(0),
            now,
        )
        .unwrap();
    }
    let err = full.insert(tx(&alice, 0, 2), &funded(0), now).unwrap_err();
    assert!(err.contains("mempool full"), "{err}");
    assert_eq!(full.len(), 3);
    // Too big to fit even after evicting every cheaper one: refused, and nothing lost.
    let mut tight = Mempool::new(PoolLimits {
        bytes: 2 * tx(&alice, 0, 1).encode().len(),
        ..PoolLimits::default()
    });
    tight
        .insert(tx(&Keypair::derive("t", 0), 0, 1), &funded(0), now)
        .unwrap();
    tight
        .insert(tx(&Keypair::derive("t", 1), 0, 9), &funded(0), now)
        .unwrap();
    let big = Payload::Deploy {
        code: vec![0; 100],
        args: vec![],
    };
    let big = Transaction::new(1, 0, big)
        .with_gas_limit(1_000_000)
        .with_gas_price(5)
        .sign(&alice);
    assert!(tight.insert(big, &funded(0), now).is_err());
    assert_eq!(tight.len(), 2, "the cheaper one was put back");
    full.insert(tx(&alice, 0, 3), &funded(0), now).unwrap();
    let prices: Vec<U256> = full
        .select(|_| 0, 10)
        .iter()
        .map(|t| t.body.gas_price)
        .collect();
    assert_eq!(prices, [7, 5, 3].map(U256::from));
}

#[test]
fn bytes_are_capped_and_gapped_transactions_expire() {
    let size = tx(&Keypair::derive("s", 0), 0, 1).encode().len();
    let mut pool = Mempool::new(PoolLimits {
        bytes: 3 * size,
        ..PoolLimits::default()
    });
    let now = Instant::now();
    let k = Keypair::derive("s", 0);
    for n in 0..3 {
        pool.insert(tx(&k, n, 1), &funded(0), now).unwrap();
    }
    let err = pool.insert(tx(&k, 3, 1), &funded(0), now).unwrap_err();
    assert!(err.contains("mempool full"), "{err}");
    assert_eq!(pool.bytes(), 3 * size);
    let mut pool = Mempool::default();
    pool.insert(tx(&k, 0, 1), &funded(0), now).unwrap();
    pool.insert(tx(&k, 2, 1), &funded(0), now).unwrap();
    pool.expire(now + Duration::from_secs(60));
    assert_eq!(pool.len(), 2, "young");
    pool.expire(now + PoolLimits::default().gapped_lifetime + Duration::from_secs(1));
    assert_eq!(
        pool.len(),
        1,
        "the gapped one expired, the executable one stays"
    );
    assert_eq!(pool.select(|_| 0, 10)[0].body.nonce, 0);
}

#[test]
fn a_requeued_transaction_is_selected_again() {
    let k = Keypair::derive("r", 0);
    let now = Instant::now();
    let mut pool = Mempool::default();
    for n in 0..3 {
        pool.insert(tx(&k, n, 1), &funded(0), now).unwrap();
    }
    let picked = pool.select(|_| 0, 10);
    assert_eq!(pool.len(), 0);
    // The block included only the first; the rest come back.
    pool.included(&picked[0]);
    for t in &picked[1..] {
        pool.requeue(t.clone(), now);
    }
    let again = pool.select(|_| 1, 10);
    assert_eq!(
        again.iter().map(|t| t.body.nonce).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[test]
fn a_block_in_progress_counts_against_admissions_that_read_its_parent_state() {
    let a = Keypair::derive("a", 0);
    let now = Instant::now();
    let mut pool = Mempool::default();
    for n in 0..3 {
        pool.insert(tx(&a, n, 1), &funded(0), now).unwrap();
    }
    let block = pool.select(|_| 0, 10);
    assert_eq!(block.len(), 3);
    pool.begin_block(7, &block);
    // The state at height 7 does not show the block yet: its nonces are used and its cost
    // spent.
    let seen = pool.account_for_admission(&a.address(), funded(0), 7);
    assert_eq!(seen.nonce, 3);
    let spent: U256 = block
        .iter()
        .map(|t| t.body.max_cost().unwrap())
        .fold(U256::zero(), |x, y| x + y);
    assert_eq!(seen.balance, U256::exp10(24) - spent);
    let reused = pool.insert(tx(&a, 2, 5), &seen, now);
    assert!(
        reused.unwrap_err().contains("already used"),
        "a nonce the block uses is refused"
    );
    assert!(pool.insert(tx(&a, 3, 1), &seen, now).unwrap().ready);
    // The state at height 8 already holds the block: nothing is counted twice.
    assert_eq!(
        pool.account_for_admission(&a.address(), funded(3), 8),
        funded(3)
    );
    // Other senders are not affected, and nothing is counted once the block is done.
    let b = Keypair::derive("b", 0);
    assert_eq!(
        pool.account_for_admission(&b.address(), funded(0), 7),
        funded(0)
    );
    pool.end_block();
    assert_eq!(
        pool.account_for_admission(&a.address(), funded(0), 7),
        funded(0)
    );
}

#[test]
fn the_next_nonce_follows_the_account_and_what_the_sender_has_queued() {
    let (a, b) = (Keypair::derive("a", 0), Keypair::derive("b", 0));
    let now = Instant::now();
    let mut pool = Mempool::default();
    assert_eq!(pool.next_nonce(&a.address(), 4), 4, "nothing queued");
    for n in [4, 5, 7] {
        pool.insert(tx(&a, n, 1), &funded(4), now).unwrap();
    }
    assert_eq!(
        pool.next_nonce(&a.address(), 4),
        6,
        "after 4 and 5; 7 is past a gap"
    );
    assert_eq!(pool.next_nonce(&a.address(), 6), 6, "6 is free");
    assert_eq!(
        pool.next_nonce(&a.address(), 7),
        8,
        "up to 6 used by blocks, 7 queued"
    );
    assert_eq!(pool.next_nonce(&b.address(), 0), 0, "another sender");
}

#[test]
fn peek_picks_what_select_takes_and_leaves_the_pool_as_it_was() {
    let (a, b) = (Keypair::derive("a", 0), Keypair::derive("b", 0));
    let now = Instant::now();
    let mut pool = Mempool::default();
    pool.insert(tx(&a, 0, 1), &funded(0), now).unwrap();
    pool.insert(tx(&a, 1, 10), &funded(0), now).unwrap();
    pool.insert(tx(&b, 0, 5), &funded(0), now).unwrap();
    pool.insert(tx(&b, 2, 50), &funded(0), now).unwrap();
    let (len, bytes) = (pool.len(), pool.bytes());
    let peeked = pool.peek(|_| 0, 10);
    assert_eq!((pool.len(), pool.bytes()), (len, bytes));
    assert_eq!(pool.peek(|_| 0, 10), peeked, "a look changes nothing");
    assert_eq!(pool.peek(|_| 0, 2), peeked[..2]);
    assert_eq!(pool.select(|_| 0, 10), peeked);
    assert_eq!(pool.len(), 1, "only the gapped one is left");
}
