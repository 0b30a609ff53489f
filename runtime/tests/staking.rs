//! Proof of stake as an attacker meets it: staking from a dev account is delegation (the dev
//! chain keeps producing), registration needs the registered key's signature and the genesis
//! policy's consent, rewards and slashing reach delegators pro rata, and unbonding costs the
//! same however long the queue is.

use chainvm_runtime::block::{DoubleSign, SignedHeader};
use chainvm_runtime::failure::RegistrationRefusal;
use chainvm_runtime::genesis::{DEV_COMMISSION_BPS, dev_keys};
use chainvm_runtime::staking::{self, Registration};
use chainvm_runtime::{
    Address, Chain, ErrorDetail, GenesisConfig, Keypair, Payload, SignedTransaction, Transaction,
    U256,
};

mod common;

fn tx(chain: &Chain, key: &Keypair, nonce: u64, payload: Payload) -> SignedTransaction {
    Transaction::new(chain.params().chain_id, nonce, payload)
        .with_gas_limit(1_000_000_000)
        .sign(key)
}

fn send(chain: &mut Chain, key: &Keypair, payload: Payload) -> chainvm_runtime::Receipt {
    let nonce = chain.account(&key.address()).unwrap().nonce;
    chain.submit(&tx(chain, key, nonce, payload)).unwrap()
}

fn delegated(chain: &Chain, validator: &Address, who: &Address) -> U256 {
    staking::delegated_stake(&chain.latest_state().unwrap(), validator, who).unwrap()
}

fn conserved(chain: &Chain) {
    let snap = chain.latest_state().unwrap();
    let s = staking::supply(&snap).unwrap();
    assert_eq!(
        staking::total_value(&snap).unwrap(),
        s.genesis + s.minted - s.slashed
    );
}

#[test]
fn a_huge_stake_from_a_dev_account_delegates_and_the_chain_keeps_producing() {
    let mut chain = common::dev_chain();
    let validator = common::dev_validator();
    let keys = dev_keys();
    // The attack from issue 14: 9 x 10^23 from account 1 would have made it a validator the
    // node has no key for. Now it is a delegation to the dev chain's one validator.
    let amount = U256::from(9u64) * U256::exp10(23);
    let r = send(
        &mut chain,
        &keys[1],
        Payload::Stake {
            validator: validator.address(),
            amount,
        },
    );
    assert!(r.is_success(), "{:?}", r.error);
    let snap = chain.latest_state().unwrap();
    let set = staking::validators(&snap).unwrap();
    drop(snap);
    assert_eq!(set.len(), 1, "no new validator");
    assert_eq!(set[0].0, validator.address());
    let start = delegated(&chain, &validator.address(), &keys[1].address());
    // Shares are minted rounding in the pool's favour (at most one base unit lost); the
    // block's own fees (less commission) joined the pool after the delegation.
    let stake_fee = U256::from(r.gas_used);
    assert!(
        start + 1 >= amount && start <= amount + stake_fee,
        "{start}"
    );
    for _ in 0..20 {
        chain.produce_block(&[]).unwrap();
    }
    let r = send(
        &mut chain,
        &keys[2],
        Payload::Transfer {
            to: keys[3].address(),
            amount: U256::from(5),
        },
    );
    assert!(r.is_success());
    assert_eq!(chain.height().unwrap(), 22);
    // The delegator earned its part of 21 block rewards and of the transfer's fee, less the
    // commission: its pool share is 0.9 / 1.9 of the pool.
    let after_commission =
        |x: U256| x * U256::from(10_000 - DEV_COMMISSION_BPS) / U256::from(10_000);
    let reward = U256::from(chain.params().block_reward);
    let earned = delegated(&chain, &validator.address(), &keys[1].address()) - start;
    let expected = (after_commission(reward) * U256::from(21u8)
        + after_commission(U256::from(r.gas_used)))
        * U256::from(9u64)
        / U256::from(19u64);
    assert!(
        earned <= expected && earned + U256::from(21) * U256::exp10(18) / 100 >= expected,
        "earned {earned}, expected about {expected}"
    );
    conserved(&chain);
    chain.verify().unwrap();
}

#[test]
fn registration_needs_the_keys_signature_and_the_genesis_policy() {
    let mut chain = common::dev_chain();
    let keys = dev_keys();
    let validator = common::dev_validator();
    let register = |key: &Keypair| Payload::RegisterValidator {
        public_key: key.public(),
        commission_bps: 500,
        amount: U256::exp10(20),
    };
    // Account 1 registering someone else's key (here the dev validator's): refused.
    let r = send(&mut chain, &keys[1], register(&validator));
    assert!(!r.is_success());
    assert_eq!(
        r.error.unwrap().detail,
        ErrorDetail::RegistrationRefused(RegistrationRefusal::KeyMismatch)
    );
    // Its own key: the dev chain is permissioned to its genesis validator only.
    let r = send(&mut chain, &keys[1], register(&keys[1]));
    assert_eq!(
        r.error.unwrap().detail,
        ErrorDetail::RegistrationRefused(RegistrationRefusal::NotPermitted)
    );
    let snap = chain.latest_state().unwrap();
    assert_eq!(staking::validators(&snap).unwrap().len(), 1);
    drop(snap);
    conserved(&chain);
}

#[test]
fn open_registration_adds_a_weighted_validator_and_slashing_is_pro_rata() {
    let validator = common::dev_validator();
    let mut config = GenesisConfig::dev(7, &validator, 1_000);
    config.params.registration = Registration::Permissionless;
    let mut chain = Chain::in_memory(config, &validator).unwrap();
    chain.set_time(2_000);
    let keys = dev_keys();
    let newcomer = &keys[5];
    let bond = U256::exp10(22);
    let r = send(
        &mut chain,
        newcomer,
        Payload::RegisterValidator {
            public_key: newcomer.public(),
            commission_bps: 10_001,
            amount: bond,
        },
    );
    assert_eq!(
        r.error.unwrap().detail,
        ErrorDetail::RegistrationRefused(RegistrationRefusal::CommissionOutOfRange)
    );
    let r = send(
        &mut chain,
        newcomer,
        Payload::RegisterValidator {
            public_key: newcomer.public(),
            commission_bps: 2_000,
            amount: bond,
        },
    );
    assert!(r.is_success(), "{:?}", r.error);
    let r = send(
        &mut chain,
        newcomer,
        Payload::RegisterValidator {
            public_key: newcomer.public(),
            commission_bps: 2_000,
            amount: bond,
        },
    );
    assert_eq!(
        r.error.unwrap().detail,
        ErrorDetail::RegistrationRefused(RegistrationRefusal::AlreadyRegistered)
    );
    // Two delegators with a 1:3 split of the newcomer's delegations.
    for (k, n) in [(&keys[6], 1u64), (&keys[7], 3u64)] {
        let r = send(
            &mut chain,
            k,
            Payload::Stake {
                validator: newcomer.address(),
                amount: U256::exp10(21) * n,
            },
        );
        assert!(r.is_success());
    }
    let snap = chain.latest_state().unwrap();
    let v = staking::validator(&snap, &newcomer.address())
        .unwrap()
        .unwrap();
    assert_eq!(v.stake, bond + U256::exp10(21) * 4);
    assert_eq!(staking::validators(&snap).unwrap().len(), 2);
    drop(snap);
    // The newcomer signs two blocks at one height: evidence slashes its pool, and so every
    // delegation loses the same 5 %.
    let mut h = chain.header(1).unwrap().unwrap().header;
    h.proposer = newcomer.address();
    let a = SignedHeader::sign(h.clone(), newcomer);
    h.timestamp += 1;
    let b = SignedHeader::sign(h, newcomer);
    let before6 = delegated(&chain, &newcomer.address(), &keys[6].address());
    let before7 = delegated(&chain, &newcomer.address(), &keys[7].address());
    let r = send(
        &mut chain,
        &keys[8],
        Payload::ReportDoubleSign {
            evidence: Box::new(DoubleSign { a, b }),
        },
    );
    assert!(r.is_success(), "{:?}", r.error);
    let after6 = delegated(&chain, &newcomer.address(), &keys[6].address());
    let after7 = delegated(&chain, &newcomer.address(), &keys[7].address());
    let bps = U256::from(10_000 - chain.params().slash_bps);
    assert!(after6 <= before6 * bps / 10_000 && after6 + 1 >= before6 * bps / 10_000);
    assert!(after7 <= before7 * bps / 10_000 && after7 + 1 >= before7 * bps / 10_000);
    conserved(&chain);
}

#[test]
fn ten_thousand_unstakes_cost_the_same_and_no_state_value_grows_with_the_queue() {
    let mut chain = common::dev_chain();
    let validator = common::dev_validator().address();
    let who = &dev_keys()[4];
    let r = send(
        &mut chain,
        who,
        Payload::Stake {
            validator,
            amount: U256::exp10(20),
        },
    );
    assert!(r.is_success());
    let first = chain.account(&who.address()).unwrap().nonce;
    let n = 10_000u64;
    let txs: Vec<_> = (0..n)
        .map(|i| {
            tx(
                &chain,
                who,
                first + i,
                Payload::Unstake {
                    validator,
                    amount: U256::one(),
                },
            )
        })
        .collect();
    // All in one block: every entry is due at the same height, the worst case for a queue
    // stored per height.
    let block = chain.produce_block(&txs).unwrap();
    let gas: Vec<u64> = block
        .results
        .iter()
        .map(|r| {
            let r = r.as_ref().unwrap();
            assert!(r.is_success(), "{:?}", r.error);
            r.gas_used
        })
        .collect();
    assert_eq!(gas.len(), n as usize);
    assert!(
        gas.iter().all(|g| *g == gas[0]),
        "gas differs across unstakes"
    );
    let snap = chain.latest_state().unwrap();
    assert_eq!(staking::unbonding(&snap).unwrap().len(), n as usize);
    // Every unbonding record is one small value; none is rewritten as the queue grows.
    let biggest = [0x05u8, 0x09]
        .iter()
        .flat_map(|p| snap.scan_prefix(&[*p]).unwrap())
        .map(|(_, v)| v.len())
        .max()
        .unwrap();
    assert!(biggest <= 80, "an unbonding value of {biggest} bytes");
    drop(snap);
    let balance = chain.account(&who.address()).unwrap().balance;
    let due = chain.height().unwrap() + chain.params().unbonding_period;
    while chain.height().unwrap() < due {
        chain.produce_block(&[]).unwrap();
    }
    assert_eq!(
        chain.account(&who.address()).unwrap().balance,
        balance + U256::from(n)
    );
    let snap = chain.latest_state().unwrap();
    assert!(staking::unbonding(&snap).unwrap().is_empty());
    assert!(snap.scan_prefix(&[0x05]).unwrap().is_empty());
    drop(snap);
    conserved(&chain);
}
