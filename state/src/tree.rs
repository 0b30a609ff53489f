//! A binary sparse Merkle tree over keccak256(key), path-compressed, with nodes stored by
//! position (Jellyfish-style).
//!
//! A key lives at the path given by the bits of its hash (most significant first), but a
//! subtree holding a single leaf is replaced by that leaf, so a leaf sits at the shallowest
//! depth where its path is unique and the tree is about log2(n) deep.
//!
//! Hashes carry distinct domain prefixes: empty subtree `keccak(0x00)`, leaf
//! `keccak(0x01 ‖ key_hash ‖ value_hash)`, internal `keccak(0x02 ‖ left ‖ right)`. The root
//! depends only on the key-value set.
//!
//! Storage: a node is stored under a [`NodeKey`]: the version that wrote it, big-endian, then
//! its depth and path. A version's new nodes therefore sort together after every older node
//! (appended at the right edge of the B-tree instead of scattered by hash), and a node is
//! never rewritten: an internal node names each child by (hash, version), so every retained
//! version stays readable and provable. An update reports the nodes it replaced (stale from
//! this version on), which is what pruning deletes. Leaves carry their value, so reading an
//! old version needs no second table. The update algorithm is in [`crate::update`].

use crate::proof::Proof;
use sha3::{Digest, Keccak256};
use std::collections::HashMap;

pub use crate::update::{Change, TreeUpdate, apply};

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

/// The first `depth` bits of `hash`, the rest cleared: the path of a node at `depth`.
pub fn prefix(hash: &Hash, depth: usize) -> Hash {
    let mut out = [0u8; 32];
    let full = depth / 8;
    out[..full.min(32)].copy_from_slice(&hash[..full.min(32)]);
    if full < 32 && !depth.is_multiple_of(8) {
        out[full] = hash[full] & !(0xffu8 >> (depth % 8));
    }
    out
}

/// `path` with bit `depth` set: the right child's path.
fn set_bit(mut path: Hash, depth: usize) -> Hash {
    path[depth / 8] |= 0x80 >> (depth % 8);
    path
}

/// The path of the child of the node at (`depth`, `path`) on side `right`.
pub fn child_path(path: &Hash, depth: usize, right: bool) -> Hash {
    if right { set_bit(*path, depth) } else { *path }
}

/// Where a node is stored: the version that wrote it, then its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKey {
    /// The version (block height) that wrote the node.
    pub version: u64,
    /// Depth in the tree (0 = root); at most 256.
    pub depth: u16,
    /// The first `depth` bits of the path, the rest zero.
    pub path: Hash,
}

impl NodeKey {
    /// Big-endian version, big-endian depth, then the `ceil(depth / 8)` path bytes: a
    /// version's nodes sort together, after every older version's.
    pub fn encode(&self) -> Vec<u8> {
        let n = (self.depth as usize).div_ceil(8).min(32);
        let mut out = Vec::with_capacity(10 + n);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.depth.to_be_bytes());
        out.extend_from_slice(&self.path[..n]);
        out
    }

    /// Decodes [`NodeKey::encode`]'s output; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<NodeKey> {
        let version = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let depth = u16::from_be_bytes(bytes.get(8..10)?.try_into().ok()?);
        let n = (depth as usize).div_ceil(8);
        if depth > 256 || bytes.len() != 10 + n {
            return None;
        }
        let mut path = [0u8; 32];
        path[..n].copy_from_slice(&bytes[10..]);
        Some(NodeKey {
            version,
            depth,
            path,
        })
    }
}

/// A reference to a subtree: its hash, the version that stored its top node, and whether
/// that node is a leaf (so an update knows when a sibling must move up without reading it).
/// The empty subtree is `hash == empty_hash()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Child {
    /// The subtree's hash.
    pub hash: Hash,
    /// The version that wrote its top node (meaningless when empty).
    pub version: u64,
    /// Whether the top node is a leaf.
    pub leaf: bool,
}

impl Child {
    /// The empty subtree.
    pub fn empty() -> Child {
        Child {
            hash: empty_hash(),
            version: 0,
            leaf: false,
        }
    }

    /// Whether this is the empty subtree.
    pub fn is_empty(&self) -> bool {
        self.hash == empty_hash()
    }

    /// The stored key of this subtree's top node at (`depth`, `path`).
    pub fn key(&self, depth: usize, path: Hash) -> NodeKey {
        NodeKey {
            version: self.version,
            depth: depth as u16,
            path,
        }
    }

    /// 41 bytes: hash, big-endian version, leaf flag.
    pub fn encode(&self) -> [u8; 41] {
        let mut out = [0u8; 41];
        out[..32].copy_from_slice(&self.hash);
        out[32..40].copy_from_slice(&self.version.to_be_bytes());
        out[40] = self.leaf as u8;
        out
    }

    /// Decodes [`Child::encode`]'s output; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Child> {
        if bytes.len() != 41 || bytes[40] > 1 {
            return None;
        }
        Some(Child {
            hash: bytes[..32].try_into().ok()?,
            version: u64::from_be_bytes(bytes[32..40].try_into().ok()?),
            leaf: bytes[40] == 1,
        })
    }
}

/// A stored node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// One key: its hash, its value's hash and the value.
    Leaf {
        /// keccak256(key).
        key_hash: Hash,
        /// keccak256(value).
        value_hash: Hash,
        /// The value itself.
        value: Vec<u8>,
    },
    /// Two subtrees, at least two leaves below.
    Internal {
        /// Left subtree (bit 0).
        left: Child,
        /// Right subtree (bit 1).
        right: Child,
    },
}

impl Node {
    /// The node's hash (from the stored hashes; [`recompute`] checks them).
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf {
                key_hash,
                value_hash,
                ..
            } => leaf_hash(key_hash, value_hash),
            Node::Internal { left, right } => internal_hash(&left.hash, &right.hash),
        }
    }

    /// Leaf: tag, key hash, value hash, value. Internal: tag, then both children (41 bytes
    /// each).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Node::Leaf {
                key_hash,
                value_hash,
                value,
            } => {
                let mut out = Vec::with_capacity(65 + value.len());
                out.push(LEAF);
                out.extend_from_slice(key_hash);
                out.extend_from_slice(value_hash);
                out.extend_from_slice(value);
                out
            }
            Node::Internal { left, right } => {
                let mut out = Vec::with_capacity(83);
                out.push(INTERNAL);
                out.extend_from_slice(&left.encode());
                out.extend_from_slice(&right.encode());
                out
            }
        }
    }

    /// Decodes [`Node::encode`]'s output; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Node> {
        match *bytes.first()? {
            LEAF if bytes.len() >= 65 => Some(Node::Leaf {
                key_hash: bytes[1..33].try_into().ok()?,
                value_hash: bytes[33..65].try_into().ok()?,
                value: bytes[65..].to_vec(),
            }),
            INTERNAL if bytes.len() == 83 => Some(Node::Internal {
                left: Child::decode(&bytes[1..42])?,
                right: Child::decode(&bytes[42..])?,
            }),
            _ => None,
        }
    }
}

/// Errors reading the tree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// A node the tree refers to is not in the store.
    #[error("missing tree node at version {}, depth {}", .0.version, .0.depth)]
    MissingNode(NodeKey),
    /// A stored node's bytes are not a node, or do not match what its parent says of it.
    #[error("tree node at version {}, depth {} is malformed or inconsistent", .0.version, .0.depth)]
    MalformedNode(NodeKey),
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
    /// The node stored under `key`, if any.
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, TreeError>;
}

impl NodeReader for HashMap<NodeKey, Node> {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, TreeError> {
        Ok(self.get(key).cloned())
    }
}

/// Loads the node `child` refers to at (`depth`, `path`); a missing node is an error.
pub(crate) fn load<R: NodeReader + ?Sized>(
    reader: &R,
    child: &Child,
    depth: usize,
    path: Hash,
) -> Result<Node, TreeError> {
    let key = child.key(depth, path);
    let node = reader.node(&key)?.ok_or(TreeError::MissingNode(key))?;
    if matches!(node, Node::Leaf { .. }) != child.leaf {
        return Err(TreeError::MalformedNode(key));
    }
    Ok(node)
}

/// Walks from `root` towards `key_hash`, collecting the sibling hashes passed on the way (root
/// first) and the leaf found at the end, if any (it may belong to another key): the proof
/// for that key, and the value if the leaf is the key's own.
pub fn walk<R: NodeReader + ?Sized>(
    reader: &R,
    root: &Child,
    key_hash: &Hash,
) -> Result<(Proof, Option<Vec<u8>>), TreeError> {
    let mut siblings = Vec::new();
    let mut node = *root;
    let mut depth = 0;
    loop {
        if node.is_empty() {
            let proof = Proof {
                siblings,
                leaf: None,
            };
            return Ok((proof, None));
        }
        match load(reader, &node, depth, prefix(key_hash, depth))? {
            Node::Leaf {
                key_hash: k,
                value_hash,
                value,
            } => {
                let value = (k == *key_hash).then_some(value);
                let proof = Proof {
                    siblings,
                    leaf: Some((k, value_hash)),
                };
                return Ok((proof, value));
            }
            Node::Internal { left, right } => {
                if depth >= 256 {
                    return Err(TreeError::MalformedNode(
                        node.key(depth, prefix(key_hash, depth)),
                    ));
                }
                let (next, sibling) = if bit(key_hash, depth) {
                    (right, left)
                } else {
                    (left, right)
                };
                siblings.push(sibling.hash);
                node = next;
                depth += 1;
            }
        }
    }
}

/// The value stored for `key_hash` under `root`, if any.
pub fn lookup<R: NodeReader + ?Sized>(
    reader: &R,
    root: &Child,
    key_hash: &Hash,
) -> Result<Option<Vec<u8>>, TreeError> {
    Ok(walk(reader, root, key_hash)?.1)
}

/// Recomputes the hash of every node reachable from `root` from the stored contents (leaf
/// hashes from the values themselves) and returns the recomputed root and the number of
/// leaves. A node whose stored hashes disagree with its content, or a leaf stored off its
/// key's path, is an error; any other damage shows as a root that differs from `root.hash`.
pub fn recompute<R: NodeReader + ?Sized>(
    reader: &R,
    root: &Child,
) -> Result<(Hash, u64), TreeError> {
    fn go<R: NodeReader + ?Sized>(
        reader: &R,
        child: &Child,
        depth: usize,
        path: Hash,
        leaves: &mut u64,
    ) -> Result<Hash, TreeError> {
        if child.is_empty() {
            return Ok(child.hash);
        }
        let bad = || TreeError::MalformedNode(child.key(depth, path));
        match load(reader, child, depth, path)? {
            Node::Leaf {
                key_hash,
                value_hash,
                value,
            } => {
                if keccak(&value) != value_hash || prefix(&key_hash, depth) != path {
                    return Err(bad());
                }
                *leaves += 1;
                Ok(leaf_hash(&key_hash, &value_hash))
            }
            Node::Internal { left, right } => {
                if depth >= 256 {
                    return Err(bad());
                }
                let l = go(reader, &left, depth + 1, path, leaves)?;
                let r = go(reader, &right, depth + 1, set_bit(path, depth), leaves)?;
                Ok(internal_hash(&l, &r))
            }
        }
    }
    let mut leaves = 0;
    let h = go(reader, root, 0, [0; 32], &mut leaves)?;
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
