//! chainvm runtime: state, accounts, transactions and the host API over [`chainvm_vm`].
//!
//! Today it holds the Merkle-committed [`state`] and its store; accounts, transactions and
//! blocks build on it.

pub mod state;

pub use chainvm_vm as vm;
