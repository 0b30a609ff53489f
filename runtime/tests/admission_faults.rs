//! A store that fails while a transaction is admitted is a node fault, never a refused
//! transaction: the block must abort rather than leave the transaction out.

use chainvm_runtime::state::{Overlay, StateReader, StoreError};
use chainvm_runtime::vm::Vm;
use chainvm_runtime::{
    AdmissionError, ApplyError, BlockContext, ChainError, ChainParams, Executor, Keypair, Payload,
    Transaction, U256,
};
use std::collections::BTreeMap;

/// A state whose every read fails, as a damaged or unreachable store does.
struct FailingState;

impl StateReader for FailingState {
    fn get(&self, _key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::File {
            path: "chain.redb".into(),
            source: std::io::Error::other("disk unreadable"),
        })
    }
}

fn transfer(params: &ChainParams) -> chainvm_runtime::SignedTransaction {
    let from = Keypair::derive("admission-faults", 0);
    let to = Keypair::derive("admission-faults", 1).address();
    let amount = U256::from(5);
    Transaction::new(params.chain_id, 0, Payload::Transfer { to, amount }).sign(&from)
}

fn block() -> BlockContext {
    BlockContext {
        height: 1,
        timestamp: 1_000,
        proposer: Keypair::derive("validator", 0).address(),
    }
}

#[test]
fn store_fault_in_check_stateful_is_a_fault() {
    let params = ChainParams::default();
    let vm = Vm::new(params.vm_config()).unwrap();
    let exec = Executor::new(&vm, &params);
    let tx = transfer(&params);
    match exec.check_stateful(&FailingState, &tx) {
        Err(ApplyError::Store(StoreError::File { source, .. })) => {
            assert_eq!(source.to_string(), "disk unreadable")
        }
        other => panic!("expected a store fault, got {other:?}"),
    }
    // The same transaction on a readable state is judged on its merits: the sender has
    // nothing, so it is refused, which is what the fault must not be mistaken for.
    let empty: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    assert!(matches!(
        exec.check_stateful(&empty, &tx),
        Err(ApplyError::Admission(
            AdmissionError::InsufficientFunds { .. }
        ))
    ));
}

#[test]
fn store_fault_during_apply_aborts_as_a_store_error() {
    let params = ChainParams::default();
    let vm = Vm::new(params.vm_config()).unwrap();
    let exec = Executor::new(&vm, &params);
    let tx = transfer(&params);
    let mut overlay = Overlay::new(FailingState);
    let err = exec.apply(&mut overlay, &block(), &tx).unwrap_err();
    assert!(matches!(err, ApplyError::Store(_)), "{err:?}");
    assert!(
        overlay.writes().is_empty(),
        "nothing applied before the fault"
    );
    assert!(matches!(ChainError::from(err), ChainError::Store(_)));
}
