//! Verification against re-execution: a stored block whose header is edited and re-signed
//! with the proposer's own key (and certified by it) is refused, one field at a time, with the
//! field named; a refused block leaves the replay where it was. Certificates short of 2/3 or
//! for another block are refused.

mod common;

use chainvm_runtime::block::SignedHeader;
use chainvm_runtime::block::StoredBlock;
use chainvm_runtime::finality::CertificateError;
use chainvm_runtime::genesis::dev_keys;
use chainvm_runtime::{
    BlockMismatch, Certificate, Chain, ChainError, Keypair, Payload, Replay, U256, VerifyError,
};

/// A dev chain with three blocks of 1, 2 and 3 transfers.
fn chain_with_blocks() -> Chain {
    let mut chain = common::dev_chain();
    let keys = dev_keys();
    for round in 0..3u64 {
        let txs: Vec<_> = keys[..round as usize + 1]
            .iter()
            .map(|k| {
                let payload = Payload::Transfer {
                    to: keys[9].address(),
                    amount: U256::from(10 + round),
                };
                let tx = chain.next_transaction(&k.address(), payload).unwrap();
                tx.with_gas_price(2).sign(k)
            })
            .collect();
        let b = chain.produce_block(&txs).unwrap();
        assert!(
            b.results
                .iter()
                .all(|r| r.as_ref().is_ok_and(|r| r.is_success()))
        );
    }
    chain
}

/// A replay that has checked every block below `height`.
fn replay_below(chain: &Chain, height: u64) -> Replay {
    let mut replay = Replay::new(chain.genesis_config()).unwrap();
    for h in 0..height {
        replay.check(&chain.block(h).unwrap().unwrap()).unwrap();
    }
    replay
}

/// `block` with its header changed by `edit` and signed again with `key`.
fn re_signed(
    block: &StoredBlock,
    key: &Keypair,
    edit: impl FnOnce(&mut SignedHeader),
) -> StoredBlock {
    let mut header = block.signed_header.clone();
    edit(&mut header);
    let signed_header = SignedHeader::sign(header.header, key);
    // The validator holds all the power, so it can certify any forgery too: only
    // re-execution can tell.
    let certificate = Certificate::sign(
        signed_header.header.height,
        0,
        signed_header.header.hash(),
        &[&common::dev_validator()],
    );
    StoredBlock {
        signed_header,
        certificate: Some(certificate),
        txs: block.txs.clone(),
    }
}

/// A tampered block: what was changed, the block, and the refusal it must get.
type Case = (&'static str, StoredBlock, fn(&BlockMismatch) -> bool);

fn mismatch(err: ChainError) -> (u64, BlockMismatch) {
    match err {
        ChainError::Invalid(VerifyError { height, mismatch }) => (height, mismatch),
        other => panic!("not a verification failure: {other}"),
    }
}

#[test]
fn a_header_with_edited_gas_used_re_signed_by_the_validator_is_refused() {
    let chain = chain_with_blocks();
    let validator = common::dev_validator();
    let latest = chain.height().unwrap();
    let real = chain.block(latest).unwrap().unwrap();
    assert_eq!(real.txs.len(), 3);
    let real_gas = real.signed_header.header.gas_used;
    assert!(real_gas > 0);
    let forged = re_signed(&real, &validator, |h| h.header.gas_used += 1);
    // The forgery is signed correctly by the chosen proposer: only re-execution can tell.
    assert!(forged.signed_header.verify(&validator.public()));
    assert_ne!(
        forged.signed_header.header.hash(),
        real.signed_header.header.hash()
    );

    let mut replay = replay_below(&chain, latest);
    let err = replay.check(&forged).unwrap_err();
    let text = err.to_string();
    assert_eq!(
        mismatch(err),
        (
            latest,
            BlockMismatch::GasUsed {
                expected: real_gas,
                found: real_gas + 1
            }
        )
    );
    assert_eq!(
        text,
        format!(
            "block {latest}: header gas_used {} differs from the re-executed receipts' total {real_gas}",
            real_gas + 1
        )
    );
    // Lower gas is refused the same way.
    let under = re_signed(&real, &validator, |h| h.header.gas_used -= 1);
    assert!(matches!(
        mismatch(replay.check(&under).unwrap_err()).1,
        BlockMismatch::GasUsed { .. }
    ));
    // A refused block changes nothing: the real one still checks, and the replay ends on
    // the chain's own root.
    assert_eq!(replay.report().blocks, latest);
    replay.check(&real).unwrap();
    assert_eq!(replay.report().blocks, latest + 1);
    assert_eq!(replay.report().transactions, 6);
    assert_eq!(replay.report().state_root, chain.state_root().unwrap());
    // And the whole stored chain verifies.
    chain.verify().unwrap();
}

#[test]
fn every_header_field_and_receipt_is_checked_against_re_execution() {
    let chain = chain_with_blocks();
    let validator = common::dev_validator();
    let latest = chain.height().unwrap();
    let real = chain.block(latest).unwrap().unwrap();
    let parent = chain.header(latest - 1).unwrap().unwrap();
    let stranger = Keypair::derive("stranger", 0);

    let cases: Vec<Case> = vec![
        (
            "height",
            re_signed(&real, &validator, |h| h.header.height += 1),
            |m| matches!(m, BlockMismatch::Height { .. }),
        ),
        (
            "parent hash",
            re_signed(&real, &validator, |h| h.header.parent_hash.0[0] ^= 1),
            |m| matches!(m, BlockMismatch::ParentHash { .. }),
        ),
        (
            "timestamp",
            re_signed(&real, &validator, |h| {
                h.header.timestamp = parent.header.timestamp - 1
            }),
            |m| matches!(m, BlockMismatch::Timestamp { .. }),
        ),
        (
            "proposer",
            re_signed(&real, &stranger, |h| h.header.proposer = stranger.address()),
            |m| matches!(m, BlockMismatch::Proposer { .. }),
        ),
        (
            "signature by another key",
            re_signed(&real, &stranger, |_| {}),
            |m| matches!(m, BlockMismatch::Signature),
        ),
        (
            "state root",
            re_signed(&real, &validator, |h| h.header.state_root.0[0] ^= 1),
            |m| matches!(m, BlockMismatch::StateRoot { .. }),
        ),
        (
            "transactions root",
            re_signed(&real, &validator, |h| h.header.txs_root.0[31] ^= 1),
            |m| matches!(m, BlockMismatch::TxsRoot { .. }),
        ),
        (
            "receipts root",
            re_signed(&real, &validator, |h| h.header.receipts_root.0[31] ^= 1),
            |m| matches!(m, BlockMismatch::ReceiptsRoot { .. }),
        ),
        (
            "gas used",
            re_signed(&real, &validator, |h| h.header.gas_used = 0),
            |m| matches!(m, BlockMismatch::GasUsed { .. }),
        ),
        (
            "no certificate",
            StoredBlock {
                certificate: None,
                ..real.clone()
            },
            |m| matches!(m, BlockMismatch::NoCertificate),
        ),
        (
            "a certificate by a key outside the set",
            StoredBlock {
                certificate: Some(Certificate::sign(
                    latest,
                    0,
                    real.signed_header.header.hash(),
                    &[&stranger],
                )),
                ..real.clone()
            },
            |m| {
                matches!(
                    m,
                    BlockMismatch::Certificate(CertificateError::UnknownValidator(_))
                )
            },
        ),
        (
            "a certificate with no signature",
            StoredBlock {
                certificate: Some(Certificate::sign(
                    latest,
                    0,
                    real.signed_header.header.hash(),
                    &[],
                )),
                ..real.clone()
            },
            |m| {
                matches!(
                    m,
                    BlockMismatch::Certificate(CertificateError::NoQuorum { signed: 0, .. })
                )
            },
        ),
        (
            "the parent's certificate",
            StoredBlock {
                certificate: chain.certificate(latest - 1).unwrap(),
                ..real.clone()
            },
            |m| {
                matches!(
                    m,
                    BlockMismatch::Certificate(CertificateError::WrongBlock { .. })
                )
            },
        ),
        (
            "a stored receipt",
            {
                let mut b = real.clone();
                b.txs[1].receipt.gas_used += 1;
                b
            },
            |m| matches!(m, BlockMismatch::Receipt { index: 1 }),
        ),
    ];
    let mut replay = replay_below(&chain, latest);
    for (what, block, expected) in cases {
        let (height, m) = mismatch(replay.check(&block).unwrap_err());
        assert_eq!(height, latest, "{what}");
        assert!(expected(&m), "{what}: refused for another reason: {m}");
    }
    // A transaction missing from the body (header re-signed over the shorter list, roots
    // left as they were) is caught by the transactions root.
    let mut short = re_signed(&real, &validator, |_| {});
    short.txs.pop();
    assert!(matches!(
        mismatch(replay.check(&short).unwrap_err()).1,
        BlockMismatch::TxsRoot { .. }
    ));
    replay.check(&real).unwrap();
    // Genesis is checked against genesis.json too.
    let mut fresh = Replay::new(chain.genesis_config()).unwrap();
    let genesis = chain.block(0).unwrap().unwrap();
    let mut moved = genesis.clone();
    moved.signed_header.header.timestamp += 1;
    assert_eq!(
        mismatch(fresh.check(&moved).unwrap_err()),
        (0, BlockMismatch::GenesisHeader)
    );
    fresh.check(&genesis).unwrap();
    assert_eq!(fresh.parent().map(|h| h.header.height), Some(0));
}
