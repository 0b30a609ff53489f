//! The redb store: versions stay readable and provable, a block commits whole, and bad data
//! directories give typed errors.

use chainvm_state::tree::keccak;
use chainvm_state::{BlockRecord, StateReader, StateWrites, Store, StoreError};
use std::collections::BTreeMap;

fn writes(pairs: &[(&str, Option<&str>)]) -> StateWrites {
    pairs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
        .collect()
}

fn block(height: u64, ntx: u32) -> BlockRecord {
    BlockRecord {
        height,
        hash: keccak(format!("block {height}").as_bytes()),
        header: format!("header {height}").into_bytes(),
        txs: (0..ntx)
            .map(|i| {
                (
                    keccak(format!("tx {height}/{i}").as_bytes()),
                    format!("tx {height}/{i}").into_bytes(),
                )
            })
            .collect(),
        receipts: (0..ntx)
            .map(|i| format!("receipt {height}/{i}").into_bytes())
            .collect(),
    }
}

fn commit(store: &Store, height: u64, w: StateWrites) -> [u8; 32] {
    let staged = store.stage(w).unwrap();
    let root = staged.root;
    store.commit(staged, &block(height, 2)).unwrap();
    root
}

#[test]
fn every_version_stays_readable_and_provable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path()).unwrap();
    assert_eq!(store.latest().unwrap(), None);
    let r0 = commit(
        &store,
        0,
        writes(&[("alice", Some("100")), ("bob", Some("5"))]),
    );
    let r1 = commit(
        &store,
        1,
        writes(&[("alice", Some("90")), ("carol", Some("10"))]),
    );
    let r2 = commit(&store, 2, writes(&[("bob", None), ("alice", Some("80"))]));
    assert_eq!(store.latest().unwrap(), Some((2, r2)));
    assert!(r0 != r1 && r1 != r2);

    let snap = store.snapshot().unwrap();
    type Expected<'a> = (u64, [u8; 32], BTreeMap<&'a str, Option<&'a str>>);
    let expect: [Expected; 3] = [
        (
            0,
            r0,
            BTreeMap::from([("alice", Some("100")), ("bob", Some("5")), ("carol", None)]),
        ),
        (
            1,
            r1,
            BTreeMap::from([
                ("alice", Some("90")),
                ("bob", Some("5")),
                ("carol", Some("10")),
            ]),
        ),
        (
            2,
            r2,
            BTreeMap::from([("alice", Some("80")), ("bob", None), ("carol", Some("10"))]),
        ),
    ];
    for (v, root, map) in &expect {
        assert_eq!(snap.root_at(*v).unwrap(), *root);
        assert_eq!(snap.recompute_root(*v).unwrap().0, *root);
        for (k, want) in map {
            let want = want.map(|s| s.as_bytes().to_vec());
            assert_eq!(snap.get_at(*v, k.as_bytes()).unwrap(), want, "v{v} {k}");
            let (value, proof) = snap.prove(*v, k.as_bytes()).unwrap();
            assert_eq!(value, want);
            proof.verify(root, k.as_bytes(), value.as_deref()).unwrap();
            // A proof from one version does not verify against another version's root.
            for (other, other_root, other_map) in &expect {
                if other != v && other_map[k] != map[k] {
                    assert!(
                        proof
                            .verify(other_root, k.as_bytes(), value.as_deref())
                            .is_err()
                    );
                }
            }
        }
    }
    // The latest-state table agrees with the tree.
    assert_eq!(snap.get(b"alice").unwrap(), Some(b"80".to_vec()));
    assert_eq!(snap.get(b"bob").unwrap(), None);
    assert_eq!(snap.entries().unwrap().len(), 2);
    assert!(matches!(
        snap.root_at(3),
        Err(StoreError::UnknownVersion(3))
    ));

    // Blocks, transactions and receipts landed with their state.
    assert_eq!(store.header(1).unwrap(), Some(b"header 1".to_vec()));
    assert_eq!(store.height_of(&keccak(b"block 2")).unwrap(), Some(2));
    assert_eq!(store.tx_location(&keccak(b"tx 1/1")).unwrap(), Some((1, 1)));
    let body = store.block_body(1).unwrap();
    assert_eq!(body.len(), 2);
    assert_eq!(body[1], (b"tx 1/1".to_vec(), b"receipt 1/1".to_vec()));
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let root = {
        let store = Store::create(dir.path()).unwrap();
        commit(&store, 0, writes(&[("k", Some("v"))]))
    };
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest().unwrap(), Some((0, root)));
    assert_eq!(
        store.snapshot().unwrap().get(b"k").unwrap(),
        Some(b"v".to_vec())
    );
}

#[test]
fn a_block_staged_on_an_old_version_is_refused() {
    let store = Store::in_memory().unwrap();
    commit(&store, 0, writes(&[("a", Some("1"))]));
    let first = store.stage(writes(&[("a", Some("2"))])).unwrap();
    let second = store.stage(writes(&[("a", Some("3"))])).unwrap();
    store.commit(first, &block(1, 0)).unwrap();
    match store.commit(second, &block(1, 0)) {
        Err(StoreError::Conflict {
            staged: Some(0),
            latest: Some(1),
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.snapshot().unwrap().get(b"a").unwrap(),
        Some(b"2".to_vec())
    );
    // Heights must follow the base; receipts must match transactions.
    let staged = store.stage(writes(&[("a", Some("4"))])).unwrap();
    assert!(store.commit(staged.clone(), &block(5, 0)).is_err());
    let mut bad = block(2, 2);
    bad.receipts.pop();
    assert!(store.commit(staged, &bad).is_err());
    assert_eq!(store.latest().unwrap().unwrap().0, 1);
}

#[test]
fn missing_locked_and_corrupt_data_dirs_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Store::open(&missing).err().unwrap();
    assert!(matches!(err, StoreError::Missing(_)));
    assert!(err.to_string().contains("chainvm init"), "{err}");

    let home = dir.path().join("home");
    let store = Store::create(&home).unwrap();
    let err = Store::open(&home).err().unwrap();
    assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
    assert!(Store::create(&home).is_err(), "create refuses to overwrite");
    drop(store);
    Store::open(&home).unwrap();

    let garbage = dir.path().join("garbage");
    std::fs::create_dir_all(&garbage).unwrap();
    std::fs::write(garbage.join("chain.redb"), vec![0x5a; 10_000]).unwrap();
    let err = Store::open(&garbage).err().unwrap();
    // redb's read error is kept as the source.
    assert!(
        matches!(&err, StoreError::CorruptFile { source, .. }
            if source.kind() == std::io::ErrorKind::InvalidData),
        "{err:?}"
    );
    assert!(err.to_string().contains("is corrupt"), "{err}");

    // A valid redb file that is not a chainvm store.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    drop(redb::Database::create(foreign.join("chain.redb")).unwrap());
    let err = Store::open(&foreign).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");

    // A file truncated in the middle.
    let trunc = dir.path().join("trunc");
    {
        let s = Store::create(&trunc).unwrap();
        for h in 0..20 {
            commit(&s, h, writes(&[("k", Some(&format!("{h}")))]));
        }
    }
    let f = trunc.join("chain.redb");
    let len = std::fs::metadata(&f).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
    file.set_len(len / 3).unwrap();
    drop(file);
    match Store::open(&trunc) {
        Err(
            StoreError::Corrupt { .. } | StoreError::CorruptFile { .. } | StoreError::Database(_),
        ) => {}
        Ok(s) => {
            // redb may repair a truncated file; whatever it kept must be whole.
            if let Some((v, root)) = s.latest().unwrap() {
                assert_eq!(s.snapshot().unwrap().recompute_root(v).unwrap().0, root);
            }
        }
        Err(other) => panic!("{other:?}"),
    }
}
