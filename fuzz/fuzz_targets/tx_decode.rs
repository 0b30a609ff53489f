//! Transaction decoding: any bytes either decode to a transaction whose encoding is exactly
//! those bytes (strict, canonical borsh) or are refused with an error; the stateless checks
//! (size, chain, gas, signature) never panic on what decodes.
#![no_main]

use chainvm_runtime::{ChainParams, Executor, SignedTransaction};
use chainvm_vm::{Vm, VmConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static VM: OnceLock<Vm> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(tx) = SignedTransaction::decode(data) else {
        return;
    };
    assert_eq!(tx.encode(), data, "decoding is canonical");
    assert_eq!(
        SignedTransaction::decode(&tx.encode()).ok(),
        Some(tx.clone())
    );
    let vm = VM.get_or_init(|| Vm::new(VmConfig::default()).expect("engine"));
    let params = ChainParams::default();
    let exec = Executor::new(vm, &params);
    let _ = exec.decode(data);
    let _ = exec.check_stateless(&tx, data.len(), true);
    let _ = tx.hash();
    let _ = tx.sender();
});
