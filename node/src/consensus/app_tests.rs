//! The checks a received stream goes through before consensus sees its block.

use super::*;
use crate::consensus::ledger::NoTxs;
use crate::consensus::types::ValidatorAddress;
use chainvm_runtime::{Chain, GenesisConfig, Keypair, SignedTransaction, U256};

fn keys() -> Vec<Keypair> {
    (0..4).map(|i| Keypair::derive("app-test", i)).collect()
}

fn chain(key: &Keypair) -> Chain {
    let bonds: Vec<([u8; 32], U256)> = keys()
        .iter()
        .map(|k| (k.public(), U256::exp10(24)))
        .collect();
    Chain::in_memory(GenesisConfig::testnet(7, &bonds, 1_700_000_000), key).expect("chain")
}

/// An app at height 1 over `key`'s chain, and the key of the proposer of round 0.
async fn app_at_1(key: &Keypair, home: &std::path::Path) -> (App<Chain>, Keypair) {
    let ledger = Arc::new(Mutex::new(chain(key)));
    let (tip, _) = watch::channel(0);
    let mut app = App::new(
        ledger,
        key.clone(),
        Box::new(NoTxs),
        ProposalStore::open(home).expect("store"),
        LinearTimeouts::default(),
        tip,
        EvidenceLog::default(),
    );
    let (_, hash) = app.with_ledger(|l| l.tip()).await.expect("tip");
    let params = app.params(1, hash).await.expect("params");
    let proposer = params.validator_set.proposer(Round::new(0)).address;
    app.enter_height(Height(1), &params);
    let proposer_key = keys()
        .into_iter()
        .find(|k| k.address() == proposer.0)
        .expect("a member");
    (app, proposer_key)
}

fn proposed(by: &Keypair) -> ProposedBlock {
    let txs: [SignedTransaction; 0] = [];
    chain(by).propose_block(&txs, 0).expect("proposer").block
}

fn parts(signer: &Keypair, height: u64, bytes: &[u8]) -> BlockParts {
    BlockParts::sign(
        &Ed25519Signer::new(signer.clone()),
        Height(height),
        Round::new(0),
        Round::Nil,
        bytes,
    )
    .expect("parts")
}

#[tokio::test]
async fn only_the_rounds_proposer_with_a_valid_signature_gets_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (proposer, others): (Vec<Keypair>, Vec<Keypair>) = {
        let (_, p) = app_at_1(&keys()[0], dir.path()).await;
        keys().into_iter().partition(|k| k.address() == p.address())
    };
    let proposer = &proposer[0];
    let me = &others[0];
    let (mut app, _) = app_at_1(me, dir.path()).await;
    let block = proposed(proposer);
    let bytes = block.encode();

    // Streamed by a validator that is not the round's proposer.
    assert!(app.received(parts(&others[1], 1, &bytes)).await.is_none());

    // Claims the proposer, signed by someone else.
    let mut forged = parts(&others[1], 1, &bytes);
    forged.init.proposer = ValidatorAddress(proposer.address());
    assert!(app.received(forged).await.is_none());

    // The proposer's signature over bytes that are not a block.
    assert!(
        app.received(parts(proposer, 1, b"not a block"))
            .await
            .is_none()
    );

    // A block the proposer signed the stream of but whose header was edited: invalid.
    let mut edited = block.clone();
    edited.signed_header.header.timestamp += 1;
    let verdict = app.received(parts(proposer, 1, &edited.encode())).await;
    let verdict = verdict.expect("a verdict");
    assert_eq!(verdict.validity, Validity::Invalid);
    assert_eq!(verdict.value, BlockId(edited.hash()));

    // The real thing: valid, kept with its checked pending block, and stored for recovery.
    let verdict = app
        .received(parts(proposer, 1, &bytes))
        .await
        .expect("a verdict");
    assert_eq!(verdict.validity, Validity::Valid);
    assert_eq!(verdict.value, BlockId(block.hash()));
    assert_eq!(verdict.proposer, ValidatorAddress(proposer.address()));
    let kept = app
        .undecided
        .get(&(Height(1), BlockId(block.hash())))
        .expect("kept");
    assert!(kept.pending.is_some());
    assert_eq!(app.store.load(1).unwrap().len(), 1);
}

#[tokio::test]
async fn streams_for_later_heights_wait_and_older_ones_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, proposer) = app_at_1(&keys()[0], dir.path()).await;
    let bytes = proposed(&proposer).encode();
    assert!(app.received(parts(&proposer, 3, &bytes)).await.is_none());
    assert_eq!(app.future.len(), 1);
    assert!(
        app.received(parts(&proposer, 3 + MAX_FUTURE_HEIGHTS, &bytes))
            .await
            .is_none()
    );
    assert_eq!(app.future.len(), 1, "too far ahead: not kept");
    assert!(app.received(parts(&proposer, 0, &bytes)).await.is_none());
    assert!(app.undecided.is_empty());
}
