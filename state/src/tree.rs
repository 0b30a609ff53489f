//! A binary sparse Merkle tree over keccak256(key), path-compressed.
//!
//! A key lives at the path given by the bits of its hash (most significant first), but a
//! subtree holding a single leaf is replaced by that leaf, so a leaf sits at the shallowest
//! depth where its path is unique and the tree is about log2(n) deep. Nodes are immutable and
//! stored by hash, so every committed root stays readable and provable, and an update only
//! touches the nodes on the paths of the changed keys: O(k log n) hashes for k changes.
//!
//! Hashes carry distinct domain prefixes: empty subtree `keccak(0x00)`, leaf
//! `keccak(0x01 ‖ key_hash ‖ value_hash)`, internal `keccak(0x02 ‖ left ‖ right)`.

use crate::proof::Proof;
use sha3::{Digest, Keccak256};
use std::collections::HashMap;

/// A 32-byte keccak256 hash.
pub type Hash = [u8; 32];

const LEAF: u8 = 0x01;
const INTERNAL: u8 = 0x02;

/// keccak256 of arbitrary bytes.
pub fn keccak(data: &[u8]) -> Hash {
    Keccak256::digest(data).into()
}

/// Hash of an empty subtree.
pub fn empty_hash() -> Hash {
    // keccak256(0x00), computed once.
    static EMPTY: std::sync::OnceLock<Hash> = std::sync::OnceLock::new();
    *EMPTY.get_or_init(|| keccak(&[0x00]))
}

/// Hash of a leaf for a key hash and value hash.
pub fn leaf_hash(key_hash: &Hash, value_hash: &Hash) -> Hash {
    let mut h = Keccak256::new();
    h.update([LEAF]);
    h.update(key_hash);
    h.update(value_hash);
    h.finalize().into()
}

/// Hash of an internal node.
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Keccak256::new();
    h.update([INTERNAL]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Bit `depth` of a hash, most significant bit first.
pub fn bit(hash: &Hash, depth: usize) -> bool {
    hash[depth / 8] & (0x80 >> (depth % 8)) != 0
}

/// A stored node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// One key: its hash and its value's hash.
    Leaf {
        /// keccak256(key).
        key_hash: Hash,
        /// keccak256(value).
        value_hash: Hash,
    },
    /// Two subtrees, at least two leaves below.
    Internal {
        /// Left child hash (bit 0).
        left: Hash,
        /// Right child hash (bit 1).
        right: Hash,
    },
}

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf {
                key_hash,
                value_hash,
            } => leaf_hash(key_hash, value_hash),
            Node::Internal { left, right } => internal_hash(left, right),
        }
    }

    /// Fixed 65-byte encoding: tag, then two hashes.
    pub fn encode(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        let (tag, a, b) = match self {
            Node::Leaf {
                key_hash,
                value_hash,
            } => (LEAF, key_hash, value_hash),
            Node::Internal { left, right } => (INTERNAL, left, right),
        };
        out[0] = tag;
        out[1..33].copy_from_slice(a);
        out[33..].copy_from_slice(b);
        out
    }

    /// Decodes [`Node::encode`]'s output; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Node> {
        if bytes.len() != 65 {
            return None;
        }
        let a: Hash = bytes[1..33].try_into().ok()?;
        let b: Hash = bytes[33..].try_into().ok()?;
        match bytes[0] {
            LEAF => Some(Node::Leaf {
                key_hash: a,
                value_hash: b,
            }),
            INTERNAL => Some(Node::Internal { left: a, right: b }),
            _ => None,
        }
    }
}

/// Errors reading the tree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// A node the tree refers to is not in the store.
    #[error("missing tree node {}", hex(.0))]
    MissingNode(Hash),
    /// A stored node's bytes are not a node.
    #[error("tree node {} does not decode", hex(.0))]
    MalformedNode(Hash),
    /// The backing store (redb) failed.
    #[error("node store: {0}")]
    Store(#[source] redb::StorageError),
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where nodes are read from.
pub trait NodeReader {
    /// The node with this hash, if stored.
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError>;
}

impl NodeReader for HashMap<Hash, Node> {
    fn node(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        Ok(self.get(hash).copied())
    }
}

/// A subtree after an update: what its parent needs to know to stay canonical.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sub {
    Empty,
    Leaf(Hash, Hash),
    /// An internal node, or an unchanged subtree whose kind is not known yet.
    Other(Hash),
}

impl Sub {
    fn hash(&self) -> Hash {
        match self {
            Sub::Empty => empty_hash(),
            Sub::Leaf(k, v) => leaf_hash(k, v),
            Sub::Other(h) => *h,
        }
    }
}

/// The result of applying a batch: the new root and the nodes it needs that were not
/// stored before.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TreeUpdate {
    /// The new root hash.
    pub root: Hash,
    /// New nodes by hash.
    pub nodes: Vec<(Hash, Node)>,
}

struct Updater<'a, R: NodeReader + ?Sized> {
    reader: &'a R,
    new: HashMap<Hash, Node>,
}

impl<R: NodeReader + ?Sized> Updater<'_, R> {
    fn load(&self, hash: &Hash) -> Result<Option<Node>, TreeError> {
        if *hash == empty_hash() {
            return Ok(None);
        }
        if let Some(n) = self.new.get(hash) {
            return Ok(Some(*n));
        }
        match self.reader.node(hash)? {
            Some(n) => Ok(Some(n)),
            None => Err(TreeError::MissingNode(*hash)),
        }
    }

    fn put(&mut self, node: Node) -> Hash {
        let h = node.hash();
        self.new.insert(h, node);
        h
    }

    fn leaf(&mut self, k: Hash, v: Hash) -> Sub {
        self.put(Node::Leaf {
            key_hash: k,
            value_hash: v,
        });
        Sub::Leaf(k, v)
    }

    /// Joins two updated children into a canonical subtree.
    fn join(&mut self, left: Sub, right: Sub) -> Result<Sub, TreeError> {
        let resolve = |this: &Self, s: Sub| -> Result<Sub, TreeError> {
            Ok(match s {
                Sub::Other(h) => match this.load(&h)? {
                    Some(Node::Leaf {
                        key_hash,
                        value_hash,
                    }) => Sub::Leaf(key_hash, value_hash),
                    _ => s,
                },
                s => s,
            })
        };
        Ok(match (left, right) {
            (Sub::Empty, Sub::Empty) => Sub::Empty,
            // A lone leaf moves up; a lone internal subtree stays below an internal node.
            (Sub::Empty, other) => match resolve(self, other)? {
                Sub::Leaf(k, v) => Sub::Leaf(k, v),
                o => Sub::Other(self.put(Node::Internal {
                    left: empty_hash(),
                    right: o.hash(),
                })),
            },
            (other, Sub::Empty) => match resolve(self, other)? {
                Sub::Leaf(k, v) => Sub::Leaf(k, v),
                o => Sub::Other(self.put(Node::Internal {
                    left: o.hash(),
                    right: empty_hash(),
                })),
            },
            (l, r) => Sub::Other(self.put(Node::Internal {
                left: l.hash(),
                right: r.hash(),
            })),
        })
    }

    /// Builds the canonical subtree of `items` (sorted, distinct key hashes) at `depth`.
    fn build(&mut self, depth: usize, items: &[(Hash, Hash)]) -> Result<Sub, TreeError> {
        match items {
            [] => Ok(Sub::Empty),
            [(k, v)] => Ok(self.leaf(*k, *v)),
            _ => {
                let split = items.partition_point(|(k, _)| !bit(k, depth));
                let l = self.build(depth + 1, &items[..split])?;
                let r = self.build(depth + 1, &items[split..])?;
                self.join(l, r)
            }
        }
    }

    /// Applies `changes` (sorted by key hash, distinct; `None` deletes) to the subtree `node`.
    fn update(
        &mut self,
        node: Hash,
        depth: usize,
        changes: &[(Hash, Option<Hash>)],
    ) -> Result<Sub, TreeError> {
        if changes.is_empty() {
            return Ok(if node == empty_hash() {
                Sub::Empty
            } else {
                Sub::Other(node)
            });
        }
        match self.load(&node)? {
            None => {
                let items: Vec<(Hash, Hash)> = changes
                    .iter()
                    .filter_map(|(k, v)| v.map(|v| (*k, v)))
                    .collect();
                self.build(depth, &items)
            }
            Some(Node::Leaf {
                key_hash,
                value_hash,
            }) => {
                let mut items: Vec<(Hash, Hash)> = Vec::with_capacity(changes.len() + 1);
                let mut kept = Some((key_hash, value_hash));
                for (k, v) in changes {
                    if *k == key_hash {
                        kept = None;
                    }
                    if let Some(v) = v {
                        items.push((*k, *v));
                    }
                }
                if let Some(existing) = kept {
                    let at = items.partition_point(|(k, _)| *k < existing.0);
                    items.insert(at, existing);
                }
                self.build(depth, &items)
            }
            Some(Node::Internal { left, right }) => {
                let split = changes.partition_point(|(k, _)| !bit(k, depth));
                let l = self.update(left, depth + 1, &changes[..split])?;
                let r = self.update(right, depth + 1, &changes[split..])?;
                self.join(l, r)
            }
        }
    }
}

/// Applies a batch of changes to the tree with root `root`. `changes` maps key hashes to
/// the new value hash, or `None` to delete; it may be in any order but must not repeat a key.
pub fn apply<R: NodeReader + ?Sized>(
    reader: &R,
    root: Hash,
    changes: &[(Hash, Option<Hash>)],
) -> Result<TreeUpdate, TreeError> {
    let mut sorted = changes.to_vec();
    sorted.sort_by_key(|c| c.0);
    sorted.dedup_by(|a, b| a.0 == b.0);
    let mut u = Updater {
        reader,
        new: HashMap::new(),
    };
    let root = u.update(root, 0, &sorted)?.hash();
    // Keep only nodes reachable from the new root: a batch may create and then replace nodes.
    let mut nodes = Vec::new();
    let mut stack = vec![root];
    while let Some(h) = stack.pop() {
        if let Some(n) = u.new.remove(&h) {
            if let Node::Internal { left, right } = n {
                stack.push(left);
                stack.push(right);
            }
            nodes.push((h, n));
        }
    }
    nodes.sort_by_key(|n| n.0);
    Ok(TreeUpdate { root, nodes })
}

/// Walks from `root` towards `key_hash`, collecting the sibling hashes passed on the way (root
/// first) and the leaf found at the end, if any (it may belong to another key): the proof
/// for that key.
pub fn walk<R: NodeReader + ?Sized>(
    reader: &R,
    root: Hash,
    key_hash: &Hash,
) -> Result<Proof, TreeError> {
    let mut siblings = Vec::new();
    let mut node = root;
    let mut depth = 0;
    loop {
        if node == empty_hash() {
            return Ok(Proof {
                siblings,
                leaf: None,
            });
        }
        match reader.node(&node)? {
            None => return Err(TreeError::MissingNode(node)),
            Some(Node::Leaf {
                key_hash: k,
                value_hash,
            }) => {
                return Ok(Proof {
                    siblings,
                    leaf: Some((k, value_hash)),
                });
            }
            Some(Node::Internal { left, right }) => {
                let (next, sibling) = if bit(key_hash, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(sibling);
                node = next;
                depth += 1;
            }
        }
    }
}

/// The value hash stored for `key_hash` under `root`, if any.
pub fn lookup<R: NodeReader + ?Sized>(
    reader: &R,
    root: Hash,
    key_hash: &Hash,
) -> Result<Option<Hash>, TreeError> {
    let proof = walk(reader, root, key_hash)?;
    Ok(proof.leaf.and_then(|(k, v)| (k == *key_hash).then_some(v)))
}

/// Recomputes the hash of every node reachable from `root` from the stored nodes' contents,
/// and returns the recomputed root and the number of leaves. Detects any stored node whose
/// content does not match its key.
pub fn recompute<R: NodeReader + ?Sized>(reader: &R, root: Hash) -> Result<(Hash, u64), TreeError> {
    fn go<R: NodeReader + ?Sized>(
        reader: &R,
        h: Hash,
        leaves: &mut u64,
    ) -> Result<Hash, TreeError> {
        if h == empty_hash() {
            return Ok(h);
        }
        match reader.node(&h)? {
            None => Err(TreeError::MissingNode(h)),
            Some(Node::Leaf {
                key_hash,
                value_hash,
            }) => {
                *leaves += 1;
                Ok(leaf_hash(&key_hash, &value_hash))
            }
            Some(Node::Internal { left, right }) => {
                let l = go(reader, left, leaves)?;
                let r = go(reader, right, leaves)?;
                Ok(internal_hash(&l, &r))
            }
        }
    }
    let mut leaves = 0;
    let h = go(reader, root, &mut leaves)?;
    Ok((h, leaves))
}

/// The root of a set of (key hash, value hash) pairs computed directly from the definition,
/// with no stored nodes: the reference the incremental algorithm is tested against.
pub fn root_from_scratch(items: &[(Hash, Hash)]) -> Hash {
    fn go(depth: usize, items: &[(Hash, Hash)]) -> Hash {
        match items {
            [] => empty_hash(),
            [(k, v)] => leaf_hash(k, v),
            _ => {
                let split = items.partition_point(|(k, _)| !bit(k, depth));
                internal_hash(
                    &go(depth + 1, &items[..split]),
                    &go(depth + 1, &items[split..]),
                )
            }
        }
    }
    let mut sorted = items.to_vec();
    sorted.sort();
    go(0, &sorted)
}
