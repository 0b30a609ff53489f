//! The block pipeline consensus drives, without a network: four validators, each its own
//! in-memory chain from one genesis, build (the round's proposer), check (everyone else) and
//! commit blocks with certificates; certificates short of 2/3 are refused; a fifth node
//! imports the decided chain and verifies it; and stake changes reach the validator set only
//! after the delay, at most the cap per height, provably in the state.

mod common;

use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::layout;
use chainvm_runtime::staking::Registration;
use chainvm_runtime::{
    BlockMismatch, Certificate, Chain, ChainError, GenesisConfig, Keypair, Payload, ProposedBlock,
    U256, ValidatorSet, VerifyError,
};
use common::decide;

fn tokens(n: u64) -> U256 {
    U256::exp10(18) * n
}

/// Four validators with stakes 40, 30, 20, 10 (tokens) and their four chains.
fn network() -> (Vec<Keypair>, Vec<Chain>, GenesisConfig) {
    let keys: Vec<Keypair> = (0..4).map(|i| Keypair::derive("finality", i)).collect();
    let stakes: Vec<_> = keys
        .iter()
        .zip([40, 30, 20, 10])
        .map(|(k, s)| (k.public(), tokens(s)))
        .collect();
    let config = GenesisConfig::testnet(9, &stakes, 1_000);
    let chains = keys
        .iter()
        .map(|k| {
            let mut c = Chain::in_memory(config.clone(), k).unwrap();
            c.set_time(2_000);
            c
        })
        .collect();
    (keys, chains, config)
}

#[test]
fn four_validators_build_check_and_commit_identical_blocks() {
    let (keys, mut chains, config) = network();
    let dev = dev_keys();
    for h in 0..6u64 {
        let tx = chains[0]
            .next_transaction(
                &dev[0].address(),
                Payload::Transfer {
                    to: dev[1].address(),
                    amount: U256::from(1 + h),
                },
            )
            .unwrap()
            .sign(&dev[0]);
        // 80 or 90 of 100 (a little more with rewards): a quorum without one validator.
        let signers: &[usize] = if h % 2 == 0 { &[0, 1, 2] } else { &[0, 1, 3] };
        decide(&keys, &mut chains, signers, &[tx]);
    }
    let root = chains[0].state_root().unwrap();
    for c in &chains {
        assert_eq!(c.height().unwrap(), 6);
        assert_eq!(c.state_root().unwrap(), root);
        for h in 1..=6 {
            assert_eq!(
                c.header(h).unwrap(),
                chains[0].header(h).unwrap(),
                "height {h}"
            );
            assert_eq!(c.certificate(h).unwrap(), chains[0].certificate(h).unwrap());
        }
        c.verify().unwrap();
    }
    // Proposers rotate by stake: more than one validator proposed.
    let proposers: std::collections::BTreeSet<_> = (1..=6)
        .map(|h| chains[0].header(h).unwrap().unwrap().header.proposer)
        .collect();
    assert!(proposers.len() > 1, "{proposers:?}");

    // A new full node (no validator key in the set) imports the decided chain from genesis
    // and verifies every block and certificate.
    let mut full = Chain::in_memory(config, &Keypair::derive("full node", 0)).unwrap();
    for h in 1..=6 {
        let b = chains[1].block(h).unwrap().unwrap();
        let block = ProposedBlock {
            signed_header: b.signed_header,
            txs: b.txs.into_iter().map(|t| t.transaction).collect(),
        };
        full.import_block(&block, b.certificate.unwrap()).unwrap();
    }
    assert_eq!(full.state_root().unwrap(), root);
    assert_eq!(full.verify().unwrap().blocks, 7);
}

#[test]
fn no_block_is_final_without_more_than_two_thirds() {
    let (keys, chains, _) = network();
    let mut chains = chains;
    let height = 1;
    let set = chains[0].validator_set(height).unwrap().unwrap();
    let parent = chains[0].header(0).unwrap().unwrap().header.hash();
    let p = keys
        .iter()
        .position(|k| Some(k.address()) == set.proposer(&parent, 0).map(|m| m.address))
        .unwrap();
    // The wrong round's proposer cannot build.
    let other = (p + 1) % 4;
    assert!(matches!(
        chains[other].propose_block(&[], 0),
        Err(ChainError::NotProposer { .. })
    ));
    let built = chains[p].propose_block(&[], 0).unwrap();
    let hash = built.hash;
    // 30 + 20 + 10 = 60 of 100, and exactly 2/3 is no better: refused, nothing committed.
    for short in [&[1usize, 2, 3][..], &[3][..]] {
        let signers: Vec<&Keypair> = short.iter().map(|i| &keys[*i]).collect();
        let pending = chains[p].propose_block(&[], 0).unwrap();
        let err = chains[p]
            .commit_block(pending, Certificate::sign(height, 0, hash, &signers))
            .unwrap_err();
        assert!(
            matches!(
                err,
                ChainError::Invalid(VerifyError {
                    mismatch: BlockMismatch::Certificate(_),
                    ..
                })
            ),
            "{err}"
        );
        assert_eq!(chains[p].height().unwrap(), 0);
    }
    // A block whose state root the proposer edited and re-signed is refused by the others.
    let mut forged = built.block.clone();
    forged.signed_header.header.state_root.0[0] ^= 1;
    forged.signed_header =
        chainvm_runtime::block::SignedHeader::sign(forged.signed_header.header, &keys[p]);
    let err = chains[other].check_proposal(&forged, 0).unwrap_err();
    assert!(matches!(
        err,
        ChainError::Invalid(VerifyError {
            mismatch: BlockMismatch::StateRoot { .. },
            ..
        })
    ));
    // The real one, certified by 70 %, commits.
    let cert = Certificate::sign(height, 0, hash, &[&keys[0], &keys[1]]);
    chains[p].commit_block(built, cert.clone()).unwrap();
    // Committing it again (or anything at a height already decided) is refused.
    let again = chains[other].check_proposal(&forged, 0);
    assert!(again.is_err());
    let stale = chains[p].propose_block(&[], 0);
    if let Ok(stale) = stale {
        chains[other].check_proposal(&stale.block, 0).unwrap_err();
    }
}

#[test]
fn stake_changes_reach_the_set_after_the_delay_within_the_cap_and_are_provable() {
    let validator = Keypair::derive("finality", 9);
    let mut config = GenesisConfig::dev(7, &validator, 1_000);
    config.params.registration = Registration::Permissionless;
    let delay = config.params.validator_set_delay;
    assert_eq!(delay, 2);
    let keys = dev_keys();
    let newcomer = keys[3].clone();
    // Two nodes: the genesis validator, and the newcomer's (it will propose some blocks).
    let validators = [validator.clone(), newcomer.clone()];
    let mut chains: Vec<Chain> = validators
        .iter()
        .map(|k| {
            let mut c = Chain::in_memory(config.clone(), k).unwrap();
            c.set_time(2_000);
            c
        })
        .collect();
    let genesis_set = chains[0].validator_set(1).unwrap().unwrap();
    assert_eq!(genesis_set.members.len(), 1);
    let total = genesis_set.total_power();
    // Registering with half the whole set's stake: more than the 25 % cap per height.
    let bond = U256::exp10(24) / 2;
    let tx = chains[0]
        .next_transaction(
            &newcomer.address(),
            Payload::RegisterValidator {
                public_key: newcomer.public(),
                commission_bps: 500,
                amount: bond,
            },
        )
        .unwrap()
        .sign(&newcomer);
    decide(&validators, &mut chains, &[0, 1], &[tx]);
    let receipt = chains[0].block(1).unwrap().unwrap().txs[0].receipt.clone();
    assert!(receipt.is_success(), "{:?}", receipt.error);
    let h = chains[0].height().unwrap();
    // The sets of the next `delay - 1` heights were fixed before: unchanged.
    for later in h + 1..h + delay {
        let set = chains[0].validator_set(later).unwrap().unwrap();
        assert_eq!(set.get(&newcomer.address()), None, "height {later}");
    }
    let first = chains[0].validator_set(h + delay).unwrap().unwrap();
    let power = first.get(&newcomer.address()).unwrap().power;
    let target = chainvm_runtime::valset::power_of(bond);
    assert!(power < target, "capped: {power} < {target}");
    let moved = power + total.abs_diff(first.get(&validator.address()).unwrap().power);
    assert!(moved <= total / 4 + 1, "moved {moved} of {total}");
    // Later heights keep moving it, without any further transaction, until it arrives.
    let mut last = power;
    for _ in 0..12 {
        decide(&validators, &mut chains, &[0, 1], &[]);
        let h = chains[0].height().unwrap();
        let set = chains[0].validator_set(h + delay).unwrap().unwrap();
        let p = set.get(&newcomer.address()).unwrap().power;
        assert!(p >= last);
        last = p;
    }
    // Its own pool also compounds the rewards of the blocks it proposed.
    assert!(last >= target, "{last} < {target}");
    // The set is in the Merkle state: provable against the header's root.
    let chain = &chains[1];
    let h = chain.height().unwrap();
    let key = layout::valset_key(h + delay);
    let proof = chain.prove(&key, None).unwrap();
    let root = chain.header(h).unwrap().unwrap().header.state_root;
    let value = proof.value.clone().unwrap();
    proof.proof.verify(&root.0, &key, Some(&value)).unwrap();
    assert_eq!(proof.root, root);
    let set: ValidatorSet = borsh::from_slice(&value).unwrap();
    assert_eq!(set, chain.validator_set(h + delay).unwrap().unwrap());
    chain.verify().unwrap();
}
