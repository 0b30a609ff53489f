//! Property tests of the Merkle tree: the incremental root always equals the root computed
//! from scratch over the final map, insertion order does not matter, and proofs verify for
//! present and absent keys while tampered ones fail.

use chainvm_state::tree::{self, Hash, Node, keccak, root_from_scratch};
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

/// An in-memory tree: node store plus current root.
struct MemTree {
    nodes: HashMap<Hash, Node>,
    root: Hash,
}

impl MemTree {
    fn new() -> Self {
        MemTree {
            nodes: HashMap::new(),
            root: tree::empty_hash(),
        }
    }

    fn apply(&mut self, batch: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        let changes: Vec<_> = batch
            .iter()
            .map(|(k, v)| (keccak(k), v.as_deref().map(keccak)))
            .collect();
        let u = tree::apply(&self.nodes, self.root, &changes).unwrap();
        self.nodes.extend(u.nodes);
        self.root = u.root;
    }

    fn prove(&self, k: &[u8]) -> Proof {
        tree::walk(&self.nodes, self.root, &keccak(k)).unwrap()
    }
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
        let mut t = MemTree::new();
        let mut map = BTreeMap::new();
        for chunk in ops.chunks(batch_size) {
            let mut batch = BTreeMap::new();
            for op in chunk {
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
            t.apply(&batch);
            prop_assert_eq!(t.root, scratch(&map));
        }
        // Every stored node reachable from the root hashes to its key.
        let (recomputed, leaves) = tree::recompute(&t.nodes, t.root).unwrap();
        prop_assert_eq!(recomputed, t.root);
        prop_assert_eq!(leaves, map.len() as u64);
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
        prop_assert_eq!(one_by_one.root, all_at_once.root);
        prop_assert_eq!(one_by_one.root, scratch(&map));
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
                    prop_assert_eq!(proof.verify(&t.root, &k, Some(v)), Ok(()));
                    prop_assert!(proof.verify(&t.root, &k, Some(b"forged")).is_err());
                    prop_assert!(proof.verify(&t.root, &k, None).is_err());
                }
                None => {
                    prop_assert_eq!(proof.verify(&t.root, &k, None), Ok(()));
                    prop_assert!(proof.verify(&t.root, &k, Some(b"anything")).is_err());
                }
            }
            let present = map.get(&k).map(|v| v.as_slice());
            // A wrong root fails.
            let mut other_root = t.root;
            other_root[0] ^= 1;
            prop_assert_eq!(proof.verify(&other_root, &k, present), Err(ProofError::RootMismatch));
            // Any flipped sibling byte fails.
            for i in 0..proof.siblings.len() {
                let mut bad = proof.clone();
                bad.siblings[i][31] ^= 0x40;
                prop_assert!(bad.verify(&t.root, &k, present).is_err());
            }
            // Dropping or adding a level fails.
            if !proof.siblings.is_empty() {
                let mut bad = proof.clone();
                bad.siblings.pop();
                prop_assert!(bad.verify(&t.root, &k, present).is_err());
            }
            let mut bad = proof.clone();
            bad.siblings.push(tree::empty_hash());
            prop_assert!(bad.verify(&t.root, &k, present).is_err());
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
            proof.verify(&t.root, &absent, None),
            Err(ProofError::BadAbsence)
        );
    } else {
        assert!(proof.verify(&t.root, &absent, None).is_err());
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
                Some(keccak(b"new")),
            )
        })
        .collect();
    let u = tree::apply(&t.nodes, t.root, &changes).unwrap();
    let depth_bound = 2 * (n as f64).log2().ceil() as usize;
    assert!(
        u.nodes.len() <= k * (depth_bound + 1),
        "{} new nodes",
        u.nodes.len()
    );
    assert!(u.nodes.len() >= k, "every changed leaf is new");
}
