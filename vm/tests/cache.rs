//! The compiled-module cache: warm and cold loads give identical gas; corrupt or foreign
//! artifacts are recompiled, never executed; the key follows the gas schedule.

mod common;
use chainvm_vm::{Vm, VmConfig, VmError, code_hash};
use common::*;
use std::path::Path;

fn disk_vm(dir: &Path) -> Vm {
    Vm::new(VmConfig {
        cache_dir: Some(dir.to_path_buf()),
        ..VmConfig::default()
    })
    .unwrap()
}

fn sum(vm: &Vm, code: &[u8]) -> chainvm_vm::Execution {
    let c = vm.load(&code_hash(code), code).unwrap();
    run(vm, &c, "sum", &777u32.to_le_bytes(), PLENTY)
}

#[test]
fn cold_warm_and_disk_loads_give_identical_results_and_gas() {
    let dir = tempfile::tempdir().unwrap();
    let code = fixture("loop.wat");
    let vm = disk_vm(dir.path());
    let cold = sum(&vm, &code);
    assert_eq!(vm.cache_stats().compiles, 1);
    let warm = sum(&vm, &code);
    assert_eq!(vm.cache_stats().memory_hits, 1);
    assert_eq!(cold, warm);

    // A new VM on the same directory deserialises the artifact instead of compiling.
    let vm2 = disk_vm(dir.path());
    let from_disk = sum(&vm2, &code);
    let s = vm2.cache_stats();
    assert_eq!((s.disk_hits, s.compiles), (1, 0));
    assert_eq!(from_disk, cold);

    // Dropping the memory cache falls back to disk, same result.
    vm2.clear_memory_cache();
    assert_eq!(sum(&vm2, &code), cold);
    assert_eq!(vm2.cache_stats().disk_hits, 2);
}

#[test]
fn corrupted_artifact_is_recompiled_not_executed() {
    let dir = tempfile::tempdir().unwrap();
    let code = fixture("loop.wat");
    let want = sum(&disk_vm(dir.path()), &code);
    let path = disk_vm(dir.path())
        .artifact_path(&code_hash(&code))
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let vm = disk_vm(dir.path());
    assert_eq!(sum(&vm, &code), want);
    let s = vm.cache_stats();
    assert_eq!((s.rejected_artifacts, s.compiles, s.disk_hits), (1, 1, 0));
    // The recompiled artifact replaced the corrupt one.
    let vm = disk_vm(dir.path());
    assert_eq!(sum(&vm, &code), want);
    assert_eq!(vm.cache_stats().disk_hits, 1);

    // Truncated and garbage files are refused too.
    for junk in [&b""[..], b"CVMART01", b"definitely not an artifact"] {
        std::fs::write(&path, junk).unwrap();
        let vm = disk_vm(dir.path());
        assert_eq!(sum(&vm, &code), want);
        assert_eq!(vm.cache_stats().rejected_artifacts, 1);
    }
}

#[test]
fn foreign_artifact_with_a_valid_checksum_is_rejected_by_the_engine() {
    // An artifact compiled under another gas schedule, renamed to this schedule's key:
    // the checksum holds, but wasmtime refuses the mismatched cost table.
    let dir = tempfile::tempdir().unwrap();
    let code = fixture("loop.wat");
    let mut other_cfg = VmConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..VmConfig::default()
    };
    other_cfg.schedule.ops.alu = 9;
    other_cfg.schedule.version += 1;
    let other = Vm::new(other_cfg).unwrap();
    let other_result = sum(&other, &code);
    let hash = code_hash(&code);
    let vm = disk_vm(dir.path());
    let foreign = other.artifact_path(&hash).unwrap();
    let ours = vm.artifact_path(&hash).unwrap();
    assert_ne!(foreign, ours, "the schedule is part of the cache key");
    std::fs::copy(&foreign, &ours).unwrap();

    let result = sum(&vm, &code);
    let s = vm.cache_stats();
    assert_eq!((s.rejected_artifacts, s.compiles), (1, 1));
    assert_ne!(result.gas_used, other_result.gas_used);
    assert_eq!(result, sum(&Vm::new(VmConfig::default()).unwrap(), &code));
}

#[test]
fn load_checks_the_code_hash_and_validates() {
    let vm = vm();
    let code = fixture("loop.wat");
    assert!(matches!(
        vm.load(&[0u8; 32], &code),
        Err(VmError::CodeHashMismatch)
    ));
    let bad = b"\0asm\x01\0\0\0garbage".to_vec();
    assert!(matches!(
        vm.load(&code_hash(&bad), &bad),
        Err(VmError::Validation(_))
    ));
}

#[test]
fn unwritable_cache_dir_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let r = Vm::new(VmConfig {
        cache_dir: Some(file.join("sub")),
        ..VmConfig::default()
    });
    assert!(matches!(r, Err(VmError::CacheDir { .. })));
}
