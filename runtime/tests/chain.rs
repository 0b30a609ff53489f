//! The chain: blocks link and verify, rewards and fees reach the proposer, unbonding
//! releases, double signing is slashed, and the whole chain re-executes to the same roots.

use chainvm_runtime::block::{DoubleSign, SignedHeader};
use chainvm_runtime::genesis::{DEV_ACCOUNTS, dev_balance, dev_keys};
use chainvm_runtime::{
    AdmissionError, Chain, ChainError, ErrorCode, GenesisConfig, Keypair, Payload, Transaction,
    U256,
};

mod common;

fn dev_chain() -> (Chain, Vec<Keypair>, Keypair) {
    (common::dev_chain(), dev_keys(), common::dev_validator())
}

/// A transaction of `payload` from `key` at its next nonce, gas limit 1e9 at price 2.
fn unsigned(chain: &Chain, key: &Keypair, payload: Payload) -> Transaction {
    chain
        .next_transaction(&key.address(), payload)
        .unwrap()
        .with_gas_limit(1_000_000_000)
        .with_gas_price(2)
}

fn tx(chain: &Chain, key: &Keypair, payload: Payload) -> chainvm_runtime::SignedTransaction {
    unsigned(chain, key, payload).sign(key)
}

fn total_value(chain: &Chain) -> U256 {
    chainvm_runtime::staking::total_value(&chain.latest_state().unwrap()).unwrap()
}

fn stake_of(chain: &Chain, v: &chainvm_runtime::Address) -> U256 {
    chainvm_runtime::staking::validator(&chain.latest_state().unwrap(), v)
        .unwrap()
        .map_or(U256::zero(), |v| v.stake)
}

#[test]
fn blocks_link_carry_roots_and_pay_reward_and_fees_to_the_proposer() {
    let (mut chain, keys, validator) = dev_chain();
    assert_eq!(keys.len(), DEV_ACCOUNTS as usize);
    assert_eq!(
        chain.account(&keys[3].address()).unwrap().balance,
        dev_balance()
    );
    let before = chain.account(&validator.address()).unwrap().balance;
    let stake_before = stake_of(&chain, &validator.address());
    let t = tx(
        &chain,
        &keys[0],
        Payload::Transfer {
            to: keys[1].address(),
            amount: U256::from(5),
        },
    );
    let r = chain.submit(&t).unwrap();
    assert!(r.is_success());
    // The commission part of the reward and of the fees reaches the proposer's account; the
    // rest of both compounds into its pool, shared with its delegators.
    let reward = U256::from(chain.params().block_reward);
    let fees = U256::from(r.gas_used) * U256::from(2u8);
    let bps = U256::from(chainvm_runtime::genesis::DEV_COMMISSION_BPS);
    let commission = reward * bps / U256::from(10_000);
    let fee_commission = fees * bps / U256::from(10_000);
    assert!(!commission.is_zero() && !fee_commission.is_zero());
    assert_eq!(
        chain.account(&validator.address()).unwrap().balance,
        before + commission + fee_commission
    );
    assert_eq!(
        stake_of(&chain, &validator.address()),
        stake_before + reward - commission + fees - fee_commission
    );
    let b1 = chain.block(1).unwrap().unwrap();
    let genesis = chain.header(0).unwrap().unwrap();
    assert_eq!(b1.signed_header.header.parent_hash, genesis.header.hash());
    assert_eq!(b1.signed_header.header.proposer, validator.address());
    assert!(b1.signed_header.verify(&validator.public()));
    assert_eq!(
        b1.signed_header.header.state_root,
        chain.state_root().unwrap()
    );
    assert_eq!(b1.signed_header.header.gas_used, r.gas_used);
    assert_eq!(b1.signed_header.header.timestamp, 2_000);
    assert_eq!(b1.txs.len(), 1);
    let found = chain.transaction(&t.hash()).unwrap().unwrap();
    assert_eq!((found.height, found.index), (1, 0));
    assert_eq!(found.transaction, t);
    assert_eq!(found.receipt, r);
    // Timestamps strictly increase even if the clock stands still.
    chain.produce_block(&[]).unwrap();
    assert_eq!(chain.header(2).unwrap().unwrap().header.timestamp, 2_001);
    // Value: genesis + minted rewards, nothing lost.
    let supply = chainvm_runtime::staking::supply(&chain.latest_state().unwrap()).unwrap();
    assert_eq!(supply.minted, reward * 2);
    assert_eq!(
        total_value(&chain),
        supply.genesis + supply.minted - supply.slashed
    );
}

#[test]
fn refused_transactions_produce_no_block() {
    let (mut chain, keys, _) = dev_chain();
    let mut t = unsigned(
        &chain,
        &keys[0],
        Payload::Transfer {
            to: keys[1].address(),
            amount: U256::one(),
        },
    );
    t.nonce = 9;
    assert!(matches!(
        chain.submit(&t.sign(&keys[0])),
        Err(ChainError::Rejected(_))
    ));
    assert_eq!(chain.height().unwrap(), 0);
}

#[test]
fn a_blocks_signatures_are_checked_in_parallel_with_the_sequential_outcome() {
    let (mut chain, keys, _) = dev_chain();
    // 40 transfers, sender-minor: index = round * 10 + sender, nonces 0..4 per sender.
    let mut txs = Vec::new();
    for round in 0..4u64 {
        for key in &keys {
            let mut t = unsigned(
                &chain,
                key,
                Payload::Transfer {
                    to: keys[0].address(),
                    amount: U256::from(1 + round),
                },
            );
            t.nonce = round;
            txs.push(t.sign(key));
        }
    }
    // The last transaction of two senders: a forged signature, and a forged signature on a
    // transaction for another chain (the executor's order names the chain id first).
    txs[35].signature[0] ^= 1;
    txs[38].body.chain_id += 1;
    let block = chain.produce_block(&txs).unwrap();
    for (i, r) in block.results.iter().enumerate() {
        match i {
            35 => assert!(matches!(r, Err(AdmissionError::BadSignature)), "{r:?}"),
            38 => assert!(
                matches!(r, Err(AdmissionError::WrongChainId { .. })),
                "{r:?}"
            ),
            _ => assert!(r.as_ref().is_ok_and(|r| r.is_success()), "{i}: {r:?}"),
        }
    }
    assert_eq!(chain.block(1).unwrap().unwrap().txs.len(), 38);
    // Replay checks every signature again, in order, and agrees.
    chain.verify().unwrap();
}

#[test]
fn unstake_releases_after_the_unbonding_period() {
    let (mut chain, keys, validator) = dev_chain();
    let k = &keys[2];
    assert!(
        chain
            .submit(&tx(
                &chain,
                k,
                Payload::Stake {
                    validator: validator.address(),
                    amount: U256::from(1_000)
                }
            ))
            .unwrap()
            .is_success()
    );
    let r = chain
        .submit(&tx(
            &chain,
            k,
            Payload::Unstake {
                validator: validator.address(),
                amount: U256::from(600),
            },
        ))
        .unwrap();
    assert!(r.is_success());
    let unstaked_at = chain.height().unwrap();
    let period = chain.params().unbonding_period;
    let balance = chain.account(&k.address()).unwrap().balance;
    while chain.height().unwrap() < unstaked_at + period - 1 {
        chain.produce_block(&[]).unwrap();
    }
    assert_eq!(
        chain.account(&k.address()).unwrap().balance,
        balance,
        "not yet"
    );
    chain.produce_block(&[]).unwrap();
    assert_eq!(chain.account(&k.address()).unwrap().balance, balance + 600);
    let snap = chain.latest_state().unwrap();
    assert!(
        chainvm_runtime::staking::unbonding(&snap)
            .unwrap()
            .is_empty()
    );
    // What is left is a delegation, not a validator: 400, within the rounding of one base unit
    // per operation (shares are minted and burnt rounding in the pool's favour) plus its tiny
    // part of the rewards compounded meanwhile.
    assert!(
        chainvm_runtime::staking::validator(&snap, &k.address())
            .unwrap()
            .is_none()
    );
    let left = chainvm_runtime::staking::delegated_stake(&snap, &validator.address(), &k.address())
        .unwrap();
    assert!(left >= U256::from(398) && left <= U256::from(401), "{left}");
}

#[test]
fn double_signing_is_slashed_once() {
    let (mut chain, keys, validator) = dev_chain();
    chain.produce_block(&[]).unwrap();
    let real = chain.header(1).unwrap().unwrap();
    let mut forged = real.header.clone();
    forged.timestamp += 1;
    let evidence = DoubleSign {
        a: real.clone(),
        b: SignedHeader::sign(forged, &validator),
    };
    let snap = chain.latest_state().unwrap();
    let stake_before = chainvm_runtime::staking::validator(&snap, &validator.address())
        .unwrap()
        .unwrap()
        .stake;
    drop(snap);
    let report = |chain: &Chain, ev: DoubleSign| {
        tx(
            chain,
            &keys[4],
            Payload::ReportDoubleSign {
                evidence: Box::new(ev),
            },
        )
    };
    let r = chain.submit(&report(&chain, evidence.clone())).unwrap();
    assert!(r.is_success(), "{:?}", r.error);
    let snap = chain.latest_state().unwrap();
    let stake = chainvm_runtime::staking::validator(&snap, &validator.address())
        .unwrap()
        .unwrap()
        .stake;
    // The report's block first compounds its reward (less commission) into the pool; the
    // slash then takes its fraction of that pool; at the end the block's fees (less
    // commission) join the pool.
    let bps = U256::from(chainvm_runtime::genesis::DEV_COMMISSION_BPS);
    let after_commission = |x: U256| x - x * bps / U256::from(10_000);
    let pool = stake_before + after_commission(U256::from(chain.params().block_reward));
    let slashed = pool * U256::from(chain.params().slash_bps) / U256::from(10_000);
    let fees = U256::from(r.gas_used) * U256::from(2u8);
    assert_eq!(stake, pool - slashed + after_commission(fees));
    let supply = chainvm_runtime::staking::supply(&snap).unwrap();
    assert_eq!(supply.slashed, slashed);
    drop(snap);
    assert_eq!(
        total_value(&chain),
        supply.genesis + supply.minted - supply.slashed
    );
    // The same evidence again, and forged evidence, are refused.
    let r = chain.submit(&report(&chain, evidence)).unwrap();
    assert_eq!(r.error.unwrap().code, ErrorCode::InvalidEvidence);
    let other = Keypair::derive("not the validator", 0);
    let mut h2 = real.header.clone();
    h2.gas_used = 99;
    let fake = DoubleSign {
        a: real.clone(),
        b: SignedHeader::sign(h2, &other),
    };
    let r = chain.submit(&report(&chain, fake)).unwrap();
    assert_eq!(r.error.unwrap().code, ErrorCode::InvalidEvidence);
}

#[test]
fn only_the_selected_proposer_can_produce() {
    let validator = Keypair::derive("validator", 0);
    let stranger = Keypair::derive("stranger", 0);
    let config = GenesisConfig::dev(7, &validator, 1_000);
    let mut chain = Chain::in_memory(config, &stranger).unwrap();
    assert!(matches!(
        chain.produce_block(&[]),
        Err(ChainError::NotProposer { .. })
    ));
}

#[test]
fn verify_re_executes_the_whole_chain() {
    let (mut chain, keys, validator) = dev_chain();
    for i in 0..4 {
        let t = tx(
            &chain,
            &keys[i],
            Payload::Transfer {
                to: keys[i + 1].address(),
                amount: U256::from(10 + i),
            },
        );
        chain.submit(&t).unwrap();
        chain
            .submit(&tx(
                &chain,
                &keys[i],
                Payload::Stake {
                    validator: validator.address(),
                    amount: U256::from(100),
                },
            ))
            .unwrap();
    }
    chain
        .submit(&tx(
            &chain,
            &keys[0],
            Payload::Unstake {
                validator: validator.address(),
                amount: U256::from(50),
            },
        ))
        .unwrap();
    for _ in 0..12 {
        chain.produce_block(&[]).unwrap();
    }
    let report = chain.verify().unwrap();
    assert_eq!(report.blocks, chain.height().unwrap() + 1);
    assert_eq!(report.transactions, 9);
    assert_eq!(report.state_root, chain.state_root().unwrap());
}

#[test]
fn a_chain_persists_across_reopen_and_verify_detects_a_changed_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let validator = Keypair::derive("validator", 0);
    let keys = dev_keys();
    {
        let mut chain =
            Chain::init(&home, GenesisConfig::dev(9, &validator, 10), &validator).unwrap();
        let t = tx(
            &chain,
            &keys[0],
            Payload::Transfer {
                to: keys[1].address(),
                amount: U256::from(77),
            },
        );
        chain.submit(&t).unwrap();
        assert!(matches!(
            Chain::init(&home, GenesisConfig::dev(9, &validator, 10), &validator),
            Err(ChainError::Config(_))
        ));
    }
    let chain = Chain::open(&home).unwrap();
    assert_eq!(chain.height().unwrap(), 1);
    assert_eq!(chain.account(&keys[0].address()).unwrap().nonce, 1);
    chain.verify().unwrap();
    drop(chain);
    // Tamper with genesis.json: re-execution no longer matches.
    let path = home.join("genesis.json");
    let mut g: GenesisConfig =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    g.accounts[0].1 += U256::one();
    std::fs::write(&path, serde_json::to_string(&g).unwrap()).unwrap();
    let err = Chain::open(&home).unwrap().verify().unwrap_err();
    assert!(err.to_string().contains("genesis state differs"), "{err}");
}

#[test]
fn a_home_of_another_protocol_version_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let validator = Keypair::derive("validator", 0);
    drop(Chain::init(&home, GenesisConfig::dev(9, &validator, 10), &validator).unwrap());
    let path = home.join("genesis.json");
    let mut g: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    g.as_object_mut().unwrap().remove("protocol_version");
    std::fs::write(&path, g.to_string()).unwrap();
    let err = Chain::open(&home).err().expect("refused").to_string();
    assert!(err.contains("protocol version 1"), "{err}");
    assert!(err.contains("chainvm init --force"), "{err}");
}
