//! A write-buffering view over committed state, with checkpoints.
//!
//! A transaction executes against an [`Overlay`]: reads see its own writes first, then the
//! committed base; nothing reaches the base until the block commits. A checkpoint marks a
//! point to roll back to, so a failed call (or a failed nested call) reverts exactly its own
//! writes and nothing else.

use crate::error::StoreError;
use crate::{StateReader, StateWrites};

/// A position in an overlay's journal to revert to. Checkpoints nest: revert the innermost
/// first (reverting an outer one also reverts everything after it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Checkpoint(usize);

/// A journal entry: the key written and what `writes` held for it before (`None`: nothing).
type Undo = (Vec<u8>, Option<Option<Vec<u8>>>);

/// Buffered writes over a base state.
#[derive(Debug)]
pub struct Overlay<R> {
    base: R,
    writes: StateWrites,
    journal: Vec<Undo>,
}

impl<R: StateReader> Overlay<R> {
    /// An overlay with no writes over `base`.
    pub fn new(base: R) -> Self {
        Overlay {
            base,
            writes: StateWrites::new(),
            journal: Vec::new(),
        }
    }

    /// The committed state underneath.
    pub fn base(&self) -> &R {
        &self.base
    }

    /// Reads a key: buffered writes first, then the base.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }

    fn record(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        let previous = self.writes.insert(key.to_vec(), value);
        self.journal.push((key.to_vec(), previous));
    }

    /// Buffers a write.
    pub fn set(&mut self, key: &[u8], value: &[u8]) {
        self.record(key, Some(value.to_vec()));
    }

    /// Buffers a deletion.
    pub fn remove(&mut self, key: &[u8]) {
        self.record(key, None);
    }

    /// Marks the current point.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.journal.len())
    }

    /// Undoes every write made since `checkpoint`.
    pub fn revert(&mut self, checkpoint: Checkpoint) {
        while self.journal.len() > checkpoint.0 {
            let Some((key, previous)) = self.journal.pop() else {
                break;
            };
            match previous {
                Some(v) => {
                    self.writes.insert(key, v);
                }
                None => {
                    self.writes.remove(&key);
                }
            }
        }
    }

    /// The buffered writes (key -> new value, `None` = delete), in key order.
    pub fn writes(&self) -> &StateWrites {
        &self.writes
    }

    /// Consumes the overlay, returning its writes.
    pub fn into_writes(self) -> StateWrites {
        self.writes
    }
}

impl<R: StateReader> StateReader for Overlay<R> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Overlay::get(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn base() -> BTreeMap<Vec<u8>, Vec<u8>> {
        BTreeMap::from([
            (b"a".to_vec(), b"1".to_vec()),
            (b"b".to_vec(), b"2".to_vec()),
        ])
    }

    #[test]
    fn reads_see_own_writes_then_base() {
        let mut o = Overlay::new(base());
        assert_eq!(o.get(b"a").unwrap(), Some(b"1".to_vec()));
        o.set(b"a", b"9");
        o.remove(b"b");
        o.set(b"c", b"3");
        assert_eq!(o.get(b"a").unwrap(), Some(b"9".to_vec()));
        assert_eq!(o.get(b"b").unwrap(), None);
        assert_eq!(o.get(b"c").unwrap(), Some(b"3".to_vec()));
        assert_eq!(
            o.base().get(&b"a"[..]),
            Some(&b"1".to_vec()),
            "base untouched"
        );
    }

    #[test]
    fn nested_checkpoints_revert_only_their_own_writes() {
        let mut o = Overlay::new(base());
        o.set(b"a", b"outer");
        let outer = o.checkpoint();
        o.set(b"b", b"call1");
        let inner = o.checkpoint();
        o.set(b"a", b"call2");
        o.remove(b"b");
        o.set(b"new", b"x");
        o.revert(inner);
        assert_eq!(o.get(b"a").unwrap(), Some(b"outer".to_vec()));
        assert_eq!(o.get(b"b").unwrap(), Some(b"call1".to_vec()));
        assert_eq!(o.get(b"new").unwrap(), None);
        o.revert(outer);
        assert_eq!(o.get(b"b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(
            o.writes().clone(),
            BTreeMap::from([(b"a".to_vec(), Some(b"outer".to_vec()))])
        );
        o.revert(Checkpoint(0));
        assert!(o.writes().is_empty());
    }
}
