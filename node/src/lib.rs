//! chainvm-node: the node around an embedded [`chainvm_runtime::Chain`]; today the BFT
//! [`consensus`] glue over Malachite (Tendermint), which turns a set of validators into one chain.

pub mod consensus;
