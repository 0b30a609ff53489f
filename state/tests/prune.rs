//! Retention: a pruned store keeps the last N versions readable and provable, answers older
//! ones with a typed error, computes the same roots as an archive, keeps its mode across
//! reopens, and stops growing; reverting deletes exactly the nodes of the undone versions.

use chainvm_state::tree::keccak;
use chainvm_state::{BlockRecord, Retention, StateWrites, Store, StoreError};
use std::collections::BTreeMap;

/// Block `h`'s writes: updates of a small key set, some inserts, some deletes.
fn writes(h: u64) -> StateWrites {
    let mut w = StateWrites::new();
    for i in 0..12u64 {
        let k = (h * 7 + i * 13) % 90;
        w.insert(
            format!("key-{k}").into_bytes(),
            Some(format!("v{h}.{i}").into_bytes()),
        );
    }
    if h % 4 == 3 {
        w.insert(format!("key-{}", (h * 5) % 90).into_bytes(), None);
    }
    w
}

fn block(height: u64) -> BlockRecord {
    BlockRecord {
        height,
        hash: keccak(format!("block {height}").as_bytes()),
        header: format!("header {height}").into_bytes(),
        txs: vec![(keccak(format!("tx {height}").as_bytes()), vec![1; 40])],
        receipts: vec![vec![2; 20]],
    }
}

fn commit(store: &Store, h: u64) -> [u8; 32] {
    let staged = store.stage(writes(h)).unwrap();
    let root = staged.root;
    store.commit(staged, &block(h)).unwrap();
    root
}

/// The key-value map after blocks 0..=h.
fn state_after(h: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for b in 0..=h {
        for (k, v) in writes(b) {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
    }
    map
}

#[test]
fn a_pruned_store_keeps_the_window_and_refuses_older_versions_with_a_typed_error() {
    let archive = Store::in_memory().unwrap();
    let pruned = Store::in_memory_with(Retention::Recent(5)).unwrap();
    for h in 0..40 {
        // Same roots as an archive: pruning never changes what is committed.
        assert_eq!(commit(&archive, h), commit(&pruned, h), "root of block {h}");
    }
    let snap = pruned.snapshot().unwrap();
    assert_eq!(snap.oldest(), 35);
    for v in 35..40 {
        let map = state_after(v);
        assert_eq!(
            snap.root_at(v).unwrap(),
            archive.snapshot().unwrap().root_at(v).unwrap()
        );
        let (root, leaves) = snap.recompute_root(v).unwrap();
        assert_eq!(root, snap.root_at(v).unwrap());
        assert_eq!(leaves, map.len() as u64);
        for k in (0..90).map(|k| format!("key-{k}").into_bytes()) {
            let (value, proof) = snap.prove(v, &k).unwrap();
            assert_eq!(value.as_ref(), map.get(&k), "v{v}");
            proof.verify(&root, &k, value.as_deref()).unwrap();
            assert_eq!(snap.get_at(v, &k).unwrap(), value);
        }
    }
    for v in [0, 10, 34] {
        assert!(matches!(
            snap.get_at(v, b"key-1"),
            Err(StoreError::Pruned { version, oldest: 35 }) if version == v
        ));
        assert!(matches!(
            snap.prove(v, b"key-1"),
            Err(StoreError::Pruned { .. })
        ));
        assert!(matches!(snap.root_at(v), Err(StoreError::Pruned { .. })));
        assert!(matches!(
            snap.recompute_root(v),
            Err(StoreError::Pruned { .. })
        ));
        let err = pruned.revert_to(v).unwrap_err();
        assert!(matches!(err, StoreError::Pruned { .. }), "{err:?}");
        assert!(err.to_string().contains("archive"), "{err}");
    }
    // Headers and bodies stay.
    assert_eq!(pruned.header(3).unwrap(), Some(b"header 3".to_vec()));
    assert_eq!(pruned.block_body(3).unwrap().len(), 1);
    // Fewer nodes than the archive, which keeps every version.
    assert!(snap.node_count().unwrap() * 2 < archive.snapshot().unwrap().node_count().unwrap());
}

#[test]
fn reverting_within_the_window_restores_the_version_and_its_nodes() {
    for retention in [Retention::Archive, Retention::Recent(6)] {
        let store = Store::in_memory_with(retention).unwrap();
        let mut nodes_at = Vec::new();
        for h in 0..20 {
            commit(&store, h);
            nodes_at.push(store.snapshot().unwrap().node_count().unwrap());
        }
        store.revert_to(16).unwrap();
        let snap = store.snapshot().unwrap();
        assert_eq!(snap.version().map(|v| v.0), Some(16));
        let (root, leaves) = snap.recompute_root(16).unwrap();
        assert_eq!(root, snap.root_at(16).unwrap());
        assert_eq!(leaves, state_after(16).len() as u64);
        let entries: BTreeMap<_, _> = snap.entries().unwrap().into_iter().collect();
        assert_eq!(entries, state_after(16));
        if retention == Retention::Archive {
            // The undone versions' nodes are gone, nothing else.
            assert_eq!(snap.node_count().unwrap(), nodes_at[16]);
        }
        drop(snap);
        // Committing again after the revert gives the same roots.
        let reference = Store::in_memory().unwrap();
        for h in 0..20 {
            let r = commit(&reference, h);
            if h > 16 {
                assert_eq!(commit(&store, h), r, "{retention:?} block {h}");
            }
        }
        assert_eq!(
            store.snapshot().unwrap().recompute_root(19).unwrap().0,
            reference.latest().unwrap().unwrap().1
        );
    }
}

#[test]
fn the_mode_persists_and_a_pruned_store_cannot_become_an_archive() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::create_with(dir.path(), Retention::Recent(3)).unwrap();
        for h in 0..10 {
            commit(&s, h);
        }
    }
    let s = Store::open(dir.path()).unwrap();
    assert_eq!(s.retention(), Retention::Recent(3));
    assert_eq!(s.snapshot().unwrap().oldest(), 7);
    drop(s);
    match Store::open_with(dir.path(), Some(Retention::Archive)) {
        Err(e @ StoreError::RetentionDowngrade { .. }) => {
            assert!(e.to_string().contains("cannot become an archive"), "{e}")
        }
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("a pruned store reopened as an archive"),
    }
    assert!(matches!(
        Store::open_with(dir.path(), Some(Retention::Recent(0))),
        Err(StoreError::BadRetention)
    ));
    // A wider window is fine; versions already pruned stay pruned.
    let s = Store::open_with(dir.path(), Some(Retention::Recent(8))).unwrap();
    assert_eq!(s.snapshot().unwrap().oldest(), 7);
    commit(&s, 10);
    assert_eq!(s.snapshot().unwrap().oldest(), 7);
    drop(s);
    assert_eq!(
        Store::open(dir.path()).unwrap().retention(),
        Retention::Recent(8)
    );

    // An archive may become pruned; the whole backlog goes over the next blocks.
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::create(dir.path()).unwrap();
        for h in 0..30 {
            commit(&s, h);
        }
    }
    let s = Store::open_with(dir.path(), Some(Retention::Recent(2))).unwrap();
    let before = s.snapshot().unwrap().node_count().unwrap();
    commit(&s, 30);
    let snap = s.snapshot().unwrap();
    assert_eq!(snap.oldest(), 29);
    assert!(snap.node_count().unwrap() < before);
    assert!(matches!(
        snap.get_at(28, b"key-1"),
        Err(StoreError::Pruned { .. })
    ));
    assert_eq!(
        snap.recompute_root(29).unwrap().0,
        snap.root_at(29).unwrap()
    );
    drop(snap);
    drop(s);
    assert_eq!(
        Store::open(dir.path()).unwrap().retention(),
        Retention::Recent(2)
    );
}

#[test]
fn a_pruned_store_stops_growing_while_an_archive_grows() {
    let file_size = |s: &Store| std::fs::metadata(s.path()).unwrap().len();
    let mut growth = Vec::new();
    for retention in [Retention::Recent(4), Retention::Archive] {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_with(dir.path(), retention).unwrap();
        let mut at = Vec::new();
        for h in 0..1200 {
            commit(&store, h);
            if h == 399 || h == 1199 {
                at.push((
                    file_size(&store),
                    store.snapshot().unwrap().node_count().unwrap(),
                ));
            }
        }
        growth.push(at);
    }
    let (pruned, archive) = (&growth[0], &growth[1]);
    // Nodes: pruned holds the live tree plus a 4-version window, flat; the archive keeps
    // every version and about triples from block 400 to 1200.
    assert!(pruned[1].1 <= pruned[0].1 + pruned[0].1 / 10, "{pruned:?}");
    assert!(archive[1].1 > 2 * archive[0].1, "{archive:?}");
    // The file still grows by the headers and bodies, which every mode keeps, but freed
    // tree pages are reused: it grows far slower than the archive.
    let (pg, ag) = (pruned[1].0 - pruned[0].0, archive[1].0 - archive[0].0);
    println!("file growth over 800 blocks: pruned {pg} B, archive {ag} B");
    assert!(pg * 3 < ag, "pruned {pruned:?}, archive {archive:?}");
}
