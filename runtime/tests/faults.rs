//! Node faults are reported as typed faults: a stored block whose transaction, receipt or header
//! is damaged in the database surfaces as [`ChainError::Corrupt`] naming the record and its
//! height (not as text, and not as a verification mismatch), from queries, `verify` and block
//! production alike.

use chainvm_runtime::error::{Damage, Record};
use chainvm_runtime::state::store::DB_FILE;
use chainvm_runtime::{Chain, ChainError, H256, U256};
use redb::TableDefinition;
use std::path::Path;

// The store's tables, as `state/store.rs` defines them.
const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
const TXS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("transactions");
const RECEIPTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("receipts");

/// A chain in `home` whose latest block (returned with its one transaction's hash) holds one
/// transfer.
fn chain_with_a_transfer(home: &Path) -> (u64, H256) {
    let (mut chain, keys) = Chain::builder().dev_accounts().init(home).unwrap();
    let receipt = chain
        .transfer(&keys[0], keys[1].address(), U256::from(5))
        .unwrap();
    assert!(receipt.is_success());
    let height = chain.height().unwrap();
    let block = chain.block(height).unwrap().unwrap();
    assert_eq!(block.txs.len(), 1);
    (height, block.txs[0].transaction.hash())
}

/// Runs `edit` on the chain's database while no chain holds it.
fn tamper(home: &Path, edit: impl FnOnce(&redb::WriteTransaction)) {
    let db = redb::Database::open(home.join(DB_FILE)).unwrap();
    let w = db.begin_write().unwrap();
    edit(&w);
    w.commit().unwrap();
}

fn corrupt(e: ChainError) -> (Record, u64, Damage) {
    match e {
        ChainError::Corrupt {
            record,
            height,
            damage,
        } => (record, height, damage),
        other => panic!("expected a corrupt-record fault, got {other:?}"),
    }
}

#[test]
fn an_undecodable_stored_receipt_is_a_corrupt_record_fault() {
    let dir = tempfile::tempdir().unwrap();
    let (height, tx) = chain_with_a_transfer(dir.path());
    tamper(dir.path(), |w| {
        let mut t = w.open_table(RECEIPTS).unwrap();
        t.insert((height, 0), b"not a receipt".as_slice()).unwrap();
    });
    let chain = Chain::open(dir.path()).unwrap();

    let err = chain.block(height).unwrap_err();
    let message = err.to_string();
    let (record, at, damage) = corrupt(err);
    assert_eq!((record, at), (Record::Receipt(0), height));
    assert!(matches!(damage, Damage::Undecodable(_)), "{damage:?}");
    assert!(
        message.starts_with(&format!(
            "node fault: stored receipt 0 at height {height} does not decode: "
        )),
        "{message}"
    );
    // The decoder's error is kept as the source, not flattened into text.
    let source = std::error::Error::source(&damage).expect("a source");
    assert!(source.downcast_ref::<std::io::Error>().is_some());

    let (record, at, _) = corrupt(chain.transaction(&tx).unwrap_err());
    assert_eq!((record, at), (Record::Receipt(0), height));
    // Verification reads the stored block first: a fault, not a block mismatch.
    let (record, at, _) = corrupt(chain.verify().unwrap_err());
    assert_eq!((record, at), (Record::Receipt(0), height));
    // Earlier blocks are untouched.
    assert!(chain.block(height - 1).unwrap().is_some());
}

#[test]
fn an_undecodable_stored_transaction_or_header_is_a_corrupt_record_fault() {
    let dir = tempfile::tempdir().unwrap();
    let (height, _) = chain_with_a_transfer(dir.path());
    tamper(dir.path(), |w| {
        let mut t = w.open_table(TXS).unwrap();
        t.insert((height, 0), [0xffu8; 3].as_slice()).unwrap();
    });
    let err = Chain::open(dir.path()).unwrap().block(height).unwrap_err();
    let (record, at, damage) = corrupt(err);
    assert_eq!((record, at), (Record::Transaction(0), height));
    assert!(matches!(damage, Damage::Undecodable(_)));

    tamper(dir.path(), |w| {
        let mut t = w.open_table(HEADERS).unwrap();
        t.insert(height, b"garbage".as_slice()).unwrap();
    });
    let chain = Chain::open(dir.path()).unwrap();
    let (record, at, damage) = corrupt(chain.header(height).unwrap_err());
    assert_eq!((record, at), (Record::Header, height));
    assert!(matches!(damage, Damage::Undecodable(_)));
}

#[test]
fn missing_stored_records_are_corrupt_record_faults() {
    let dir = tempfile::tempdir().unwrap();
    let (height, tx) = chain_with_a_transfer(dir.path());
    // The transaction index still points at a transaction the block no longer holds.
    tamper(dir.path(), |w| {
        w.open_table(TXS).unwrap().remove((height, 0)).unwrap();
    });
    let chain = Chain::open(dir.path()).unwrap();
    let (record, at, damage) = corrupt(chain.transaction(&tx).unwrap_err());
    assert_eq!((record, at), (Record::Transaction(0), height));
    assert!(matches!(damage, Damage::Missing));
    drop(chain);

    // The latest header is gone: the block it indexes is missing, and no block can be
    // produced on top of it.
    tamper(dir.path(), |w| {
        w.open_table(HEADERS).unwrap().remove(height).unwrap();
    });
    let mut chain = Chain::open(dir.path()).unwrap();
    let (record, at, damage) = corrupt(chain.transaction(&tx).unwrap_err());
    assert_eq!((record, at), (Record::Block, height));
    assert!(matches!(damage, Damage::Missing));
    let err = chain.produce_block(&[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("node fault: stored header at height {height} is missing")
    );
    let (record, at, _) = corrupt(err);
    assert_eq!((record, at), (Record::Header, height));
}
