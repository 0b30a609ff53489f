//! [`ProposalStore`]: the undecided proposals a node built or received, kept on disk under
//! `<home>/consensus/proposals/<height>/` until their height commits. The WAL records only a
//! block's id; after a crash this is where the block itself comes back from (`StartedRound`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::streaming::BlockParts;
use super::types::{BlockId, ProposalPart};
use super::wire::WirePart;

/// Why the proposal store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system fault.
    #[error("proposal store {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The fault.
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Undecided proposals on disk, one file per (height, block).
#[derive(Debug, Clone)]
pub struct ProposalStore {
    dir: PathBuf,
}

impl ProposalStore {
    /// The store under `<home>/consensus/proposals`.
    pub fn open(home: &Path) -> Result<ProposalStore, StoreError> {
        let dir = home.join("consensus").join("proposals");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(ProposalStore { dir })
    }

    fn height_dir(&self, height: u64) -> PathBuf {
        self.dir.join(format!("{height:020}"))
    }

    /// Keeps a block's parts (write to a temporary file, fsync, rename: never a torn file).
    pub fn put(&self, id: &BlockId, parts: &BlockParts) -> Result<(), StoreError> {
        let dir = self.height_dir(parts.init.height.0);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(format!("{id}.parts"));
        if path.exists() {
            return Ok(());
        }
        let wire: Vec<WirePart> = parts.parts().iter().map(WirePart::from).collect();
        let bytes = borsh::to_vec(&wire).map_err(io(&path))?;
        let tmp = dir.join(format!("{id}.tmp"));
        let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(())
    }

    /// Every well-formed stored proposal of `height`; unreadable files are skipped (each was
    /// written whole, so one that does not decode is foreign or damaged, and the block can
    /// still come from a peer).
    pub fn load(&self, height: u64) -> Result<Vec<BlockParts>, StoreError> {
        let dir = self.height_dir(height);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "parts"))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for path in names {
            let bytes = fs::read(&path).map_err(io(&path))?;
            let Ok(wire) = borsh::from_slice::<Vec<WirePart>>(&bytes) else {
                continue;
            };
            let parts: Result<Vec<ProposalPart>, _> =
                wire.into_iter().map(ProposalPart::try_from).collect();
            if let Some(p) = parts.ok().and_then(BlockParts::from_parts) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Drops every height below `height` (they are committed).
    pub fn prune_below(&self, height: u64) -> Result<(), StoreError> {
        let entries = fs::read_dir(&self.dir).map_err(io(&self.dir))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(h) = name.to_str().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            if h < height {
                let path = entry.path();
                fs::remove_dir_all(&path).map_err(io(&path))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::signing::Ed25519Signer;
    use crate::consensus::types::Height;
    use chainvm_runtime::Keypair;
    use chainvm_runtime::types::keccak;
    use malachitebft_app_channel::app::types::core::Round;

    #[test]
    fn proposals_survive_reopen_and_prune() {
        let home = tempfile::tempdir().unwrap();
        let signer = Ed25519Signer::new(Keypair::derive("st", 0));
        let store = ProposalStore::open(home.path()).unwrap();
        let a =
            BlockParts::sign(&signer, Height(3), Round::new(0), Round::Nil, b"block a").unwrap();
        let b =
            BlockParts::sign(&signer, Height(4), Round::new(1), Round::Nil, b"block b").unwrap();
        store.put(&BlockId(keccak(b"a")), &a).unwrap();
        store.put(&BlockId(keccak(b"b")), &b).unwrap();
        let store = ProposalStore::open(home.path()).unwrap();
        assert_eq!(store.load(3).unwrap(), vec![a]);
        assert_eq!(store.load(4).unwrap(), vec![b.clone()]);
        store.prune_below(4).unwrap();
        assert!(store.load(3).unwrap().is_empty());
        assert_eq!(store.load(4).unwrap(), vec![b]);
        assert!(store.load(9).unwrap().is_empty());
    }
}
