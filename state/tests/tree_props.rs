//! Property tests of the Merkle tree: the incremental root always equals the root computed
//! from scratch over the final map, insertion order does not matter, and proofs verify for
//! present and absent keys while tampered ones fail.

use chainvm_state::tree::{self, Child, Hash, Node, NodeKey, keccak, root_from_scratch};
use chainvm_state::{Proof, ProofError};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
enum Op {
    Set(u16, u16),
    Delete(u16),
}

fn op() -> impl Strategy<Value = Op> {
    // A small key space makes updates, deletes and re-inserts of the same keys common.
    prop_oneof![
        3 => (0u16..200, any::<u16>()).prop_map(|(k, v)| Op::Set(k, v)),
        1 => (0u16..200).prop_map(Op::Delete),
    ]
}

fn key(k: u16) -> Vec<u8> {
    format!("key-{k}").into_bytes()
}

fn value(v: u16) -> Vec<u8> {
    format!("value-{v}").into_bytes()
}

/// An in-memory tree: node store keyed by version and path, the current root, and (in
/// archive mode) every version's root.
struct MemTree {
    nodes: HashMap<NodeKey, Node>,
    root: Child,
    version: u64,
    /// Delete stale nodes as soon as a batch reports them (keep only the latest version).
    prune: bool,
    roots: Vec<Child>,
    /// The largest encoded node key stored so far.
    last_key: Vec<u8>,
}

impl MemTree {
    fn new() -> Self {
        Self::with_pruning(false)
    }

    fn with_pruning(prune: bool) -> Self {
        MemTree {
            nodes: HashMap::new(),
            root: Child::empty(),
            version: 0,
            prune,
            roots: Vec::new(),
            last_key: Vec::new(),
        }
    }

    fn apply(&mut self, batch: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        let changes: Vec<_> = batch
            .iter()
            .map(|(k, v)| (keccak(k), v.as_ref().map(|v| (keccak(v), v.clone()))))
            .collect();
        let u = tree::apply(&self.nodes, &self.root, self.version, changes).unwrap();
        // Append-only: every new node sorts after every stored one and overwrites nothing.
        let mut keys: Vec<_> = u.nodes.iter().map(|(k, _)| k.encode()).collect();
        keys.sort();
        if let Some(first) = keys.first() {
            assert!(
                *first > self.last_key,
                "new node key sorts before a stored one"
            );
            self.last_key = keys.last().unwrap().clone();
        }
        for (k, n) in u.nodes {
            assert_eq!(k.version, self.version);
            assert!(self.nodes.insert(k, n).is_none(), "node key rewritten");
        }
        if self.prune {
            for k in &u.stale {
                assert!(k.version < self.version);
                assert!(
                    self.nodes.remove(k).is_some(),
                    "stale node {k:?} not stored"
                );
            }
        }
        self.root = u.root;
        self.roots.push(u.root);
        self.version += 1;
    }

    fn prove(&self, k: &[u8]) -> Proof {
        tree::walk(&self.nodes, &self.root, &keccak(k)).unwrap().0
    }

    /// Nodes reachable from the root.
    fn reachable(&self) -> usize {
        fn go(t: &MemTree, c: &Child, depth: usize, path: Hash) -> usize {
            if c.is_empty() {
                return 0;
            }
            match &t.nodes[&c.key(depth, path)] {
                Node::Leaf { .. } => 1,
                Node::Internal { left, right } => {
                    1 + go(t, left, depth + 1, tree::child_path(&path, depth, false))
                        + go(t, right, depth + 1, tree::child_path(&path, depth, true))
                }
            }
        }
        go(self, &self.root, 0, [0; 32])
    }
}

/// The batch of writes `ops` make, applied to `map` as well (the model of the state).
fn batch_of(
    ops: &[Op],
    map: &mut BTreeMap<Vec<u8>, Vec<u8>>,
) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    let mut batch = BTreeMap::new();
    for op in ops {
        match op {
            Op::Set(k, v) => {
                map.insert(key(*k), value(*v));
                batch.insert(key(*k), Some(value(*v)));
            }
            Op::Delete(k) => {
                map.remove(&key(*k));
                batch.insert(key(*k), None);
            }
        }
    }
    batch
}

fn scratch(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> Hash {
    let items: Vec<_> = map.iter().map(|(k, v)| (keccak(k), keccak(v))).collect();
    root_from_scratch(&items)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn incremental_root_equals_root_from_scratch(
        ops in prop::collection::vec(op(), 0..300),
        batch_size in 1usize..40,
    ) {
        // Stale nodes are deleted as soon as they are reported: if a live node were reported
        // stale, the tree would miss it; if a replaced node were not, it would leak.
        let mut t = MemTree::with_pruning(true);
        let mut map = BTreeMap::new();
        for chunk in ops.chunks(batch_size) {
            let batch = batch_of(chunk, &mut map);
            t.apply(&batch);
            prop_assert_eq!(t.root.hash, scratch(&map));
        }
        // Every stored node reachable from the root hashes to its key.
        let (recomputed, leaves) = tree::recompute(&t.nodes, &t.root).unwrap();
        prop_assert_eq!(recomputed, t.root.hash);
        prop_assert_eq!(leaves, map.len() as u64);
        prop_assert_eq!(t.nodes.len(), t.reachable());
        for (k, v) in &map {
            prop_assert_eq!(tree::lookup(&t.nodes, &t.root, &keccak(k)).unwrap(), Some(v.clone()));
        }
    }

    #[test]
    fn every_old_version_stays_readable_without_pruning(
        ops in prop::collection::vec(op(), 0..200),
        batch_size in 1usize..30,
    ) {
        let mut t = MemTree::new();
        let mut map = BTreeMap::new();
        let mut history = Vec::new();
        for chunk in ops.chunks(batch_size) {
            let batch = batch_of(chunk, &mut map);
            t.apply(&batch);
            history.push(map.clone());
        }
        for (version, (root, map)) in t.roots.iter().zip(&history).enumerate() {
            prop_assert_eq!(root.hash, scratch(map), "version {}", version);
            let (recomputed, leaves) = tree::recompute(&t.nodes, root).unwrap();
            prop_assert_eq!(recomputed, root.hash);
            prop_assert_eq!(leaves, map.len() as u64);
            for k in (0..200u16).step_by(7).map(key) {
                let (proof, got) = tree::walk(&t.nodes, root, &keccak(&k)).unwrap();
                prop_assert_eq!(got.as_ref(), map.get(&k));
                prop_assert_eq!(proof.verify(&root.hash, &k, map.get(&k).map(|v| v.as_slice())), Ok(()));
            }
        }
    }

    #[test]
    fn node_keys_sort_by_version_then_depth_then_path_and_round_trip(
        a in (any::<u64>(), 0u16..=256, any::<[u8; 32]>()),
        b in (any::<u64>(), 0u16..=256, any::<[u8; 32]>()),
    ) {
        let mk = |(version, depth, path): (u64, u16, [u8; 32])| NodeKey {
            version,
            depth,
            path: tree::prefix(&path, depth as usize),
        };
        let (a, b) = (mk(a), mk(b));
        prop_assert_eq!(NodeKey::decode(&a.encode()), Some(a));
        prop_assert_eq!(a.encode().cmp(&b.encode()), a.cmp(&b));
    }

    #[test]
    fn insertion_order_does_not_change_the_root(
        entries in prop::collection::btree_map(0u16..1000, any::<u16>(), 0..150),
        seed in any::<u64>(),
    ) {
        let map: BTreeMap<_, _> = entries.iter().map(|(k, v)| (key(*k), value(*v))).collect();
        let mut shuffled: Vec<_> = map.iter().collect();
        // Deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut one_by_one = MemTree::new();
        for (k, v) in &shuffled {
            one_by_one.apply(&BTreeMap::from([((*k).clone(), Some((*v).clone()))]));
        }
        let mut all_at_once = MemTree::new();
        all_at_once.apply(&map.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect());
        prop_assert_eq!(one_by_one.root.hash, all_at_once.root.hash);
        prop_assert_eq!(one_by_one.root.hash, scratch(&map));
    }

    #[test]
    fn proofs_verify_for_present_and_absent_keys(
        entries in prop::collection::btree_map(0u16..400, any::<u16>(), 0..120),
        probes in prop::collection::vec(0u16..800, 1..40),
    ) {
        let map: BTreeMap<_, _> = entries.iter().map(|(k, v)| (key(*k), value(*v))).collect();
        let mut t = MemTree::new();
        t.apply(&map.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect());
        for p in probes {
            let k = key(p);
            let proof = t.prove(&k);
            let decoded = Proof::decode(&proof.encode()).unwrap();
            prop_assert_eq!(&decoded, &proof);
            match map.get(&k) {
                Some(v) => {
                    prop_assert_eq!(proof.verify(&t.root.hash, &k, Some(v)), Ok(()));
                    prop_assert!(proof.verify(&t.root.hash, &k, Some(b"forged")).is_err());
                    prop_assert!(proof.verify(&t.root.hash, &k, None).is_err());
                }
                None => {
                    prop_assert_eq!(proof.verify(&t.root.hash, &k, None), Ok(()));
                    prop_assert!(proof.verify(&t.root.hash, &k, Some(b"anything")).is_err());
                }
            }
            let present = map.get(&k).map(|v| v.as_slice());
            // A wrong root fails.
            let mut other_root = t.root.hash;
            other_root[0] ^= 1;
            prop_assert_eq!(proof.verify(&other_root, &k, present), Err(ProofError::RootMismatch));
            // Any flipped sibling byte fails.
            for i in 0..proof.siblings.len() {
                let mut bad = proof.clone();
                bad.siblings[i][31] ^= 0x40;
                prop_assert!(bad.verify(&t.root.hash, &k, present).is_err());
            }
            // Dropping or adding a level fails.
            if !proof.siblings.is_empty() {
                let mut bad = proof.clone();
                bad.siblings.pop();
                prop_assert!(bad.verify(&t.root.hash, &k, present).is_err());
            }
            let mut bad = proof.clone();
            bad.siblings.push(tree::empty_hash());
            prop_assert!(bad.verify(&t.root.hash, &k, present).is_err());
        }
    }
}

#[test]
fn empty_tree_proves_absence_of_everything() {
    let t = MemTree::new();
    let proof = t.prove(b"anything");
    assert_eq!(
        proof,
        Proof {
            siblings: vec![],
            leaf: None
        }
    );
    assert_eq!(proof.verify(&tree::empty_hash(), b"anything", None), Ok(()));
    assert!(
        proof
            .verify(&tree::empty_hash(), b"anything", Some(b"x"))
            .is_err()
    );
}

#[test]
fn absence_proof_ending_at_a_leaf_off_the_path_is_rejected() {
    // Claim absence of `k` with a proof that ends at a leaf whose path differs from k's.
    let mut t = MemTree::new();
    let batch: BTreeMap<_, _> = (0..50u16).map(|i| (key(i), Some(value(i)))).collect();
    t.apply(&batch);
    let present = key(7);
    let proof = t.prove(&present);
    let absent = key(5000);
    let kh = keccak(&absent);
    let leaf_kh = proof.leaf.unwrap().0;
    let diverges = (0..proof.siblings.len()).any(|d| tree::bit(&kh, d) != tree::bit(&leaf_kh, d));
    if diverges {
        assert_eq!(
            proof.verify(&t.root.hash, &absent, None),
            Err(ProofError::BadAbsence)
        );
    } else {
        assert!(proof.verify(&t.root.hash, &absent, None).is_err());
    }
}

#[test]
fn malformed_proof_bytes_are_rejected() {
    for bytes in [
        &[][..],
        &[0],
        &[0, 1],
        &[0, 0, 2],
        &[1, 1, 0],
        &[0, 0, 0, 0],
    ] {
        assert_eq!(
            Proof::decode(bytes),
            Err(ProofError::Malformed),
            "{bytes:?}"
        );
    }
    let mut t = MemTree::new();
    t.apply(&(0..20u16).map(|i| (key(i), Some(value(i)))).collect());
    let enc = t.prove(&key(3)).encode();
    assert!(Proof::decode(&enc[..enc.len() - 1]).is_err());
    let mut longer = enc.clone();
    longer.push(0);
    assert!(Proof::decode(&longer).is_err());
}

#[test]
fn update_touches_only_changed_paths() {
    // k changes to a tree of n keys create O(k log n) new nodes, not O(n).
    let mut t = MemTree::new();
    let n = 20_000u32;
    let batch: BTreeMap<_, _> = (0..n)
        .map(|i| (format!("k{i}").into_bytes(), Some(vec![1])))
        .collect();
    t.apply(&batch);
    let k = 10;
    let changes: Vec<_> = (0..k)
        .map(|i| {
            (
                keccak(format!("k{}", i * 977).as_bytes()),
                Some((keccak(b"new"), b"new".to_vec())),
            )
        })
        .collect();
    let u = tree::apply(&t.nodes, &t.root, t.version, changes).unwrap();
    let depth_bound = 2 * (n as f64).log2().ceil() as usize;
    assert!(
        u.nodes.len() <= k * (depth_bound + 1),
        "{} new nodes",
        u.nodes.len()
    );
    assert!(u.nodes.len() >= k, "every changed leaf is new");
}
