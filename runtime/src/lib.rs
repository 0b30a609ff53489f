//! chainvm runtime: state, accounts, transactions and the host API over [`chainvm_vm`].
//!
//! Being built up issue by issue; today it only re-exports the VM it will drive.
pub use chainvm_vm as vm;
