//! chainvm-sdk: what contract authors use. Today it exposes the host ABI definitions; the
//! safe wrappers and the `#[contract]` macro arrive with the SDK issue.
#![no_std]

pub use chainvm_abi as abi;
