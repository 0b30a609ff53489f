//! Compiled-module cache: `InstancePre` in memory, serialised artifacts on disk.
//!
//! The key covers everything compiled code depends on: the code hash, the validator and
//! instrumentation versions, the gas schedule (version and fingerprint, since operator costs
//! are baked into machine code), the limits that shape instrumentation, and wasmtime's own
//! compatibility hash. A disk artifact is checked against a keccak256 of its bytes before
//! wasmtime sees it; a corrupt or foreign artifact is recompiled, never executed. Gas never
//! depends on whether the cache hit.

use crate::error::VmError;
use sha3::{Digest, Keccak256};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const MAGIC: &[u8; 8] = b"CVMART01";

/// Counters describing how the cache has served loads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Loads served from memory.
    pub memory_hits: u64,
    /// Loads served by deserialising a disk artifact.
    pub disk_hits: u64,
    /// Loads that compiled from wasm.
    pub compiles: u64,
    /// Disk artifacts refused (corrupt, foreign or incompatible) and recompiled.
    pub rejected_artifacts: u64,
}

/// Computes the cache key of a code hash under the given engine-wide salt.
pub(crate) fn cache_key(code_hash: &[u8; 32], salt: &[u8; 32]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(salt);
    h.update(code_hash);
    h.finalize().into()
}

/// Digest of everything besides the code that compiled artifacts depend on.
pub(crate) fn engine_salt(engine: &wasmtime::Engine, parts: &[&[u8]]) -> [u8; 32] {
    // wasmtime exposes its compatibility data as `impl Hash`; DefaultHasher::new() uses fixed
    // keys, so this is stable for a given build, which is all a local cache key needs.
    let mut std_hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut std_hasher);
    let mut h = Keccak256::new();
    h.update(b"chainvm-module-cache");
    h.update(std_hasher.finish().to_le_bytes());
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// Cached values with the tick of their last use.
type Entries<V> = HashMap<[u8; 32], (Arc<V>, u64)>;

/// A bounded in-memory map from cache key to value, evicting the least recently used.
pub(crate) struct MemoryCache<V> {
    entries: Mutex<Entries<V>>,
    tick: AtomicU64,
    capacity: usize,
}

impl<V> MemoryCache<V> {
    pub fn new(capacity: usize) -> Self {
        MemoryCache {
            entries: Mutex::new(HashMap::new()),
            tick: AtomicU64::new(0),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<V>> {
        let now = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut map = self.lock();
        map.get_mut(key).map(|(v, used)| {
            *used = now;
            v.clone()
        })
    }

    pub fn insert(&self, key: [u8; 32], value: Arc<V>) {
        let now = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut map = self.lock();
        if map.len() >= self.capacity
            && !map.contains_key(&key)
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(key, (value, now));
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Serialised artifacts in a directory, one file per cache key.
pub(crate) struct DiskCache {
    dir: PathBuf,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl DiskCache {
    pub fn open(dir: &Path) -> Result<Self, VmError> {
        std::fs::create_dir_all(dir).map_err(|source| VmError::CacheDir {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(DiskCache {
            dir: dir.to_path_buf(),
        })
    }

    /// Path of the artifact for `key`.
    pub fn path(&self, key: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.cwasm", hex(key)))
    }

    /// The artifact bytes for `key`, if a file exists and its checksum holds.
    /// `Err(())` means a file was there but was refused.
    pub fn read(&self, key: &[u8; 32]) -> Result<Option<Vec<u8>>, ()> {
        let Ok(file) = std::fs::read(self.path(key)) else {
            return Ok(None);
        };
        if file.len() < MAGIC.len() + 32 || &file[..MAGIC.len()] != MAGIC {
            return Err(());
        }
        let (sum, artifact) = file[MAGIC.len()..].split_at(32);
        if Keccak256::digest(artifact).as_slice() != sum {
            return Err(());
        }
        Ok(Some(artifact.to_vec()))
    }

    /// Writes the artifact atomically (temp file + rename). Failure only costs a recompile
    /// later, so it is reported but not fatal to the caller.
    pub fn write(&self, key: &[u8; 32], artifact: &[u8]) -> std::io::Result<()> {
        let mut file = Vec::with_capacity(MAGIC.len() + 32 + artifact.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&Keccak256::digest(artifact));
        file.extend_from_slice(artifact);
        let path = self.path(key);
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp{}-{seq}", std::process::id()));
        std::fs::write(&tmp, &file)?;
        std::fs::rename(&tmp, &path)
    }
}
