//! Applying a batch of changes to the tree of [`crate::tree`]: only the paths of the changed
//! keys are read and rehashed (O(k log n) for k changes), new nodes are written at the new
//! version, and every stored node the batch replaces is reported as stale.
//!
//! Internal nodes never move: a position either keeps its old node (nothing changed below),
//! gets a new one, or becomes empty. Leaves do move (up when a sibling subtree empties, down
//! when another key comes to share their path); a moved leaf is rewritten at its new position
//! and its old record goes stale.

use crate::tree::{
    Child, Hash, Node, NodeKey, NodeReader, TreeError, bit, child_path, internal_hash, leaf_hash,
    load, prefix,
};

/// One change: key hash -> (value hash, value), or `None` to delete.
pub type Change = (Hash, Option<(Hash, Vec<u8>)>);

/// The result of applying a batch at a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeUpdate {
    /// The new root.
    pub root: Child,
    /// The nodes written, all at the batch's version.
    pub nodes: Vec<(NodeKey, Node)>,
    /// Stored nodes the new tree no longer uses (still part of older versions).
    pub stale: Vec<NodeKey>,
}

/// A leaf on its way to its final position.
struct LeafItem {
    key_hash: Hash,
    value_hash: Hash,
    value: Vec<u8>,
    /// Where it is stored now, (version, depth), if it is an existing leaf.
    at: Option<(u64, u16)>,
}

/// A subtree after an update.
enum Sub {
    Empty,
    /// A single leaf, not placed yet: its parent decides its depth.
    Leaf(LeafItem),
    /// A subtree stored at this position (new or unchanged).
    Placed(Child),
}

struct Updater<'a, R: NodeReader + ?Sized> {
    reader: &'a R,
    version: u64,
    nodes: Vec<(NodeKey, Node)>,
    stale: Vec<NodeKey>,
    /// Above this depth, the two halves of a large batch are updated on two threads.
    fork_depth: usize,
}

/// Fewest changes on each side of a split for it to be worth a thread.
const FORK_MIN_CHANGES: usize = 128;

/// Whether `sub` is exactly the subtree `child` was.
fn same(sub: &Sub, child: &Child) -> bool {
    match sub {
        Sub::Empty => child.is_empty(),
        Sub::Placed(c) => c == child,
        Sub::Leaf(_) => false,
    }
}

fn take(change: &mut Change) -> Option<LeafItem> {
    change.1.as_mut().map(|(vh, v)| LeafItem {
        key_hash: change.0,
        value_hash: *vh,
        value: std::mem::take(v),
        at: None,
    })
}

impl<R: NodeReader + Sync + ?Sized> Updater<'_, R> {
    /// Stores `sub` at `depth` (a leaf's path follows from its key) and returns the reference
    /// its parent keeps.
    fn place(&mut self, sub: Sub, depth: usize) -> Child {
        match sub {
            Sub::Empty => Child::empty(),
            Sub::Placed(c) => c,
            Sub::Leaf(l) => {
                let hash = leaf_hash(&l.key_hash, &l.value_hash);
                if let Some((version, d)) = l.at {
                    if d as usize == depth {
                        return Child {
                            hash,
                            version,
                            leaf: true,
                        };
                    }
                    self.stale.push(NodeKey {
                        version,
                        depth: d,
                        path: prefix(&l.key_hash, d as usize),
                    });
                }
                let key = NodeKey {
                    version: self.version,
                    depth: depth as u16,
                    path: prefix(&l.key_hash, depth),
                };
                self.nodes.push((
                    key,
                    Node::Leaf {
                        key_hash: l.key_hash,
                        value_hash: l.value_hash,
                        value: l.value,
                    },
                ));
                Child {
                    hash,
                    version: self.version,
                    leaf: true,
                }
            }
        }
    }

    fn internal(&mut self, depth: usize, path: Hash, left: Child, right: Child) -> Sub {
        let key = NodeKey {
            version: self.version,
            depth: depth as u16,
            path,
        };
        let hash = internal_hash(&left.hash, &right.hash);
        self.nodes.push((key, Node::Internal { left, right }));
        Sub::Placed(Child {
            hash,
            version: self.version,
            leaf: false,
        })
    }

    /// A stored leaf at (`depth`, `path`) becomes a leaf item that may move.
    fn resolve(&self, sub: Sub, depth: usize, path: Hash) -> Result<Sub, TreeError> {
        match sub {
            Sub::Placed(c) if c.leaf => match load(self.reader, &c, depth, path)? {
                Node::Leaf {
                    key_hash,
                    value_hash,
                    value,
                } => Ok(Sub::Leaf(LeafItem {
                    key_hash,
                    value_hash,
                    value,
                    at: Some((c.version, depth as u16)),
                })),
                Node::Internal { .. } => Err(TreeError::MalformedNode(c.key(depth, path))),
            },
            s => Ok(s),
        }
    }

    /// Joins two updated children of the position (`depth`, `path`) into a canonical subtree.
    fn join(&mut self, depth: usize, path: Hash, left: Sub, right: Sub) -> Result<Sub, TreeError> {
        Ok(match (left, right) {
            (Sub::Empty, Sub::Empty) => Sub::Empty,
            // A lone leaf moves up; a lone internal subtree stays below an internal node.
            (Sub::Empty, other) => {
                match self.resolve(other, depth + 1, child_path(&path, depth, true))? {
                    Sub::Leaf(l) => Sub::Leaf(l),
                    o => {
                        let right = self.place(o, depth + 1);
                        self.internal(depth, path, Child::empty(), right)
                    }
                }
            }
            (other, Sub::Empty) => {
                match self.resolve(other, depth + 1, child_path(&path, depth, false))? {
                    Sub::Leaf(l) => Sub::Leaf(l),
                    o => {
                        let left = self.place(o, depth + 1);
                        self.internal(depth, path, left, Child::empty())
                    }
                }
            }
            (l, r) => {
                let left = self.place(l, depth + 1);
                let right = self.place(r, depth + 1);
                self.internal(depth, path, left, right)
            }
        })
    }

    /// Builds the canonical subtree of `items` (sorted, distinct key hashes) at `depth`.
    fn build(
        &mut self,
        depth: usize,
        path: Hash,
        mut items: Vec<LeafItem>,
    ) -> Result<Sub, TreeError> {
        match items.len() {
            0 => Ok(Sub::Empty),
            1 => Ok(items.pop().map_or(Sub::Empty, Sub::Leaf)),
            // Distinct 256-bit hashes split before depth 256.
            _ => {
                let split = items.partition_point(|l| !bit(&l.key_hash, depth));
                let right_items = items.split_off(split);
                let l = self.build(depth + 1, path, items)?;
                let r = self.build(depth + 1, child_path(&path, depth, true), right_items)?;
                self.join(depth, path, l, r)
            }
        }
    }

    /// Applies `changes` (sorted by key hash, distinct) to the subtree `child` at
    /// (`depth`, `path`).
    fn update(
        &mut self,
        child: Child,
        depth: usize,
        path: Hash,
        changes: &mut [Change],
    ) -> Result<Sub, TreeError> {
        if changes.is_empty() {
            return Ok(if child.is_empty() {
                Sub::Empty
            } else {
                Sub::Placed(child)
            });
        }
        if child.is_empty() {
            let items = changes.iter_mut().filter_map(take).collect();
            return self.build(depth, path, items);
        }
        match load(self.reader, &child, depth, path)? {
            Node::Leaf {
                key_hash,
                value_hash,
                value,
            } => {
                let mut existing = Some(LeafItem {
                    key_hash,
                    value_hash,
                    value,
                    at: Some((child.version, depth as u16)),
                });
                let mut items = Vec::with_capacity(changes.len() + 1);
                for c in changes.iter_mut() {
                    if c.0 == key_hash {
                        if matches!(&c.1, Some((vh, _)) if *vh == value_hash) {
                            continue; // same value: the stored leaf stays
                        }
                        existing = None;
                    }
                    items.extend(take(c));
                }
                match existing {
                    Some(e) => {
                        if items.is_empty() {
                            return Ok(Sub::Placed(child));
                        }
                        let at = items.partition_point(|l: &LeafItem| l.key_hash < e.key_hash);
                        items.insert(at, e);
                    }
                    None => self.stale.push(child.key(depth, path)),
                }
                self.build(depth, path, items)
            }
            Node::Internal { left, right } => {
                if depth >= 256 {
                    return Err(TreeError::MalformedNode(child.key(depth, path)));
                }
                let split = changes.partition_point(|c| !bit(&c.0, depth));
                let (lc, rc) = changes.split_at_mut(split);
                let right_path = child_path(&path, depth, true);
                let (l, r) = if depth < self.fork_depth
                    && lc.len() >= FORK_MIN_CHANGES
                    && rc.len() >= FORK_MIN_CHANGES
                {
                    self.update_forked((left, lc), depth, path, (right, rc), right_path)?
                } else {
                    let l = self.update(left, depth + 1, path, lc)?;
                    (l, self.update(right, depth + 1, right_path, rc)?)
                };
                if same(&l, &left) && same(&r, &right) {
                    return Ok(Sub::Placed(child));
                }
                self.stale.push(child.key(depth, path));
                self.join(depth, path, l, r)
            }
        }
    }

    /// Updates the two children of an internal node on two threads: the right one on a new
    /// thread with an updater of its own, whose nodes and stale keys are then appended after
    /// the left one's, exactly where a sequential update would have put them. The result is
    /// the same however the work was spread.
    fn update_forked(
        &mut self,
        (left, lc): (Child, &mut [Change]),
        depth: usize,
        path: Hash,
        (right, rc): (Child, &mut [Change]),
        right_path: Hash,
    ) -> Result<(Sub, Sub), TreeError> {
        let (reader, version, fork_depth) = (self.reader, self.version, self.fork_depth);
        std::thread::scope(|s| {
            let other = s.spawn(move || {
                let mut u = Updater {
                    reader,
                    version,
                    nodes: Vec::new(),
                    stale: Vec::new(),
                    fork_depth,
                };
                let r = u.update(right, depth + 1, right_path, rc);
                (r, u.nodes, u.stale)
            });
            let l = self.update(left, depth + 1, path, lc);
            let (r, nodes, stale) = match other.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let l = l?;
            let r = r?;
            self.nodes.extend(nodes);
            self.stale.extend(stale);
            Ok((l, r))
        })
    }
}

/// Applies a batch of changes to the tree with root `root`, writing new nodes at `version`
/// (which must be above every version stored so far). `changes` may be in any order; a key
/// given twice keeps its first change.
pub fn apply<R: NodeReader + Sync + ?Sized>(
    reader: &R,
    root: &Child,
    version: u64,
    changes: Vec<Change>,
) -> Result<TreeUpdate, TreeError> {
    // Split over the cores: depth d gives 2^d threads. Node-local; the result does not
    // depend on it.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    apply_forking(reader, root, version, changes, cores.ilog2() as usize)
}

/// [`apply`], splitting the batch over threads above `fork_depth` (0: one thread).
fn apply_forking<R: NodeReader + Sync + ?Sized>(
    reader: &R,
    root: &Child,
    version: u64,
    mut changes: Vec<Change>,
    fork_depth: usize,
) -> Result<TreeUpdate, TreeError> {
    changes.sort_by_key(|c| c.0);
    changes.dedup_by(|a, b| a.0 == b.0);
    let mut u = Updater {
        reader,
        version,
        nodes: Vec::new(),
        stale: Vec::new(),
        fork_depth,
    };
    let sub = u.update(*root, 0, [0; 32], &mut changes)?;
    let root = u.place(sub, 0);
    Ok(TreeUpdate {
        root,
        nodes: u.nodes,
        stale: u.stale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{keccak, root_from_scratch};
    use std::collections::HashMap;

    fn changes(from: u32, to: u32, tag: u8) -> Vec<Change> {
        (from..to)
            .map(|i| {
                let value = vec![tag, (i % 251) as u8];
                (keccak(&i.to_be_bytes()), Some((keccak(&value), value)))
            })
            .collect()
    }

    fn update_with(
        reader: &HashMap<NodeKey, Node>,
        root: &Child,
        version: u64,
        changes: Vec<Change>,
        fork_depth: usize,
    ) -> TreeUpdate {
        apply_forking(reader, root, version, changes, fork_depth).unwrap()
    }

    #[test]
    fn a_batch_split_over_threads_gives_exactly_the_sequential_update() {
        let mut nodes: HashMap<NodeKey, Node> = HashMap::new();
        let first = update_with(&nodes, &Child::empty(), 0, changes(0, 3_000, 1), 0);
        nodes.extend(first.nodes.iter().cloned());
        // Updates of existing keys, deletions and new keys, in one batch.
        let mut batch = changes(1_000, 4_000, 2);
        batch.extend((0..500u32).map(|i| (keccak(&i.to_be_bytes()), None)));
        let sequential = update_with(&nodes, &first.root, 1, batch.clone(), 0);
        for depth in [1, 2, 3] {
            let forked = update_with(&nodes, &first.root, 1, batch.clone(), depth);
            assert_eq!(forked, sequential, "fork depth {depth}");
        }
        let expected: Vec<(Hash, Hash)> = {
            let mut all = changes(500, 1_000, 1);
            all.extend(changes(1_000, 4_000, 2));
            let mut items: Vec<_> = all
                .into_iter()
                .map(|(k, v)| (k, v.map(|v| v.0).unwrap()))
                .collect();
            items.sort();
            items
        };
        assert_eq!(sequential.root.hash, root_from_scratch(&expected));
    }
}
