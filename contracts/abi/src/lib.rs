//! The chainvm host ABI, defined once and used by both sides.
//!
//! The host (the `chainvm-vm` crate) links exactly these imports with exactly these
//! signatures; contracts (through `chainvm-sdk`) declare them. Changing anything here is a
//! protocol change. The crate is `no_std` and dependency-free so contracts can use it.
#![no_std]

/// Wasm module name all host functions are imported from.
pub const IMPORT_MODULE: &str = "env";

/// Name of the linear memory every contract must export.
pub const MEMORY_EXPORT: &str = "memory";

mod abi_names;
pub use abi_names::{ABI_SECTION, CONSTRUCTOR, TYPES_SECTION};

/// Version marker export every contract must carry, so the host can refuse code built for
/// another ABI.
pub const ABI_VERSION_EXPORT: &str = "chainvm_abi_version_1";

/// Byte length of an address (H160).
pub const ADDRESS_LEN: usize = 20;
/// Byte length of an amount (U256, big-endian).
pub const AMOUNT_LEN: usize = 32;
/// Byte length of a hash (H256).
pub const HASH_LEN: usize = 32;

/// A wasm value type in a host-function signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
}

/// One host function: its import name and exact wasm signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostFn {
    /// Import name inside [`IMPORT_MODULE`].
    pub name: &'static str,
    /// Parameter types.
    pub params: &'static [ValType],
    /// Result types (empty or one value).
    pub results: &'static [ValType],
}

use ValType::{I32, I64};

macro_rules! host_fns {
    ($( $(#[$doc:meta])* $konst:ident = $name:literal ( $($p:ident),* ) -> ( $($r:ident),* ); )*) => {
        /// Import names of every host function, as constants.
        pub mod names {
            $( $(#[$doc])* pub const $konst: &str = $name; )*
        }
        /// Every host function the host provides, in a fixed order.
        pub const HOST_FUNCTIONS: &[HostFn] = &[
            $( HostFn { name: $name, params: &[$($p),*], results: &[$($r),*] }, )*
        ];
    };
}

host_fns! {
    /// `(out_ptr, out_cap) -> len`: copy the call's input arguments to `out_ptr` if they fit
    /// in `out_cap` bytes; always returns the input length.
    INPUT = "input"(I32, I32) -> (I32);
    /// `(ptr, len)`: set the call's return data (the last call wins).
    SET_RETURN = "set_return"(I32, I32) -> ();
    /// `(key_ptr, key_len, out_ptr, out_cap) -> len`: read a storage value of the executing
    /// contract. Returns -1 if absent, otherwise the value length; the value is copied only if
    /// it fits in `out_cap`.
    STORAGE_GET = "storage_get"(I32, I32, I32, I32) -> (I64);
    /// `(key_ptr, key_len, val_ptr, val_len)`: write a storage value.
    STORAGE_SET = "storage_set"(I32, I32, I32, I32) -> ();
    /// `(key_ptr, key_len) -> existed`: remove a storage value; 1 if it existed, else 0.
    STORAGE_REMOVE = "storage_remove"(I32, I32) -> (I32);
    /// `(key_ptr, key_len) -> present`: 1 if the key has a value, else 0.
    STORAGE_HAS = "storage_has"(I32, I32) -> (I32);
    /// `(out_ptr)`: write the 20-byte address of the immediate caller.
    CALLER = "caller"(I32) -> ();
    /// `(out_ptr)`: write the 20-byte address of the executing contract.
    SELF_ADDRESS = "self_address"(I32) -> ();
    /// `(out_ptr)`: write the 32-byte big-endian value attached to this call.
    VALUE = "value"(I32) -> ();
    /// `(out_ptr)`: write the executing contract's 32-byte big-endian balance.
    BALANCE = "balance"(I32) -> ();
    /// `() -> height`: current block height.
    BLOCK_HEIGHT = "block_height"() -> (I64);
    /// `() -> seconds`: current block timestamp (from the block header, never a clock).
    BLOCK_TIMESTAMP = "block_timestamp"() -> (I64);
    /// `(to_ptr, amount_ptr) -> code`: transfer from the executing contract; 0 on success,
    /// otherwise an [`error_code`].
    TRANSFER = "transfer"(I32, I32) -> (I32);
    /// `(topic_ptr, topic_len, data_ptr, data_len)`: emit an event.
    EMIT_EVENT = "emit_event"(I32, I32, I32, I32) -> ();
    /// `(data_ptr, data_len, out_ptr)`: write keccak256 of the data (32 bytes) to `out_ptr`.
    KECCAK256 = "keccak256"(I32, I32, I32) -> ();
    /// `(msg_ptr, msg_len, file_ptr, file_len, line, column)`: abort the call as a contract
    /// panic carrying message and source location. Never returns.
    ABORT = "abort"(I32, I32, I32, I32, I32, I32) -> ();
    /// `(addr_ptr, method_ptr, method_len, args_ptr, args_len, value_ptr, gas) -> code`: call
    /// another contract's method with attached value, forwarding at most `gas`
    /// (0 = all that is left). Returns 0 on success or an [`error_code`]; the callee's
    /// return data is then readable with `return_data` (on failure: what the callee set
    /// before failing, e.g. its encoded typed error, or nothing; never a message).
    CALL_CONTRACT = "call_contract"(I32, I32, I32, I32, I32, I32, I64) -> (I32);
    /// `(out_ptr, out_cap) -> len`: copy the return data of the last `call_contract` to
    /// `out_ptr` if it fits; always returns its length.
    RETURN_DATA = "return_data"(I32, I32) -> (I32);
}

/// Looks up a host function by import name.
pub fn host_fn(name: &str) -> Option<&'static HostFn> {
    HOST_FUNCTIONS.iter().find(|f| f.name == name)
}

/// Status codes returned by host functions that can fail without aborting the contract.
pub mod error_code {
    /// Success.
    pub const OK: i32 = 0;
    /// The executing contract's balance is below the amount.
    pub const INSUFFICIENT_FUNDS: i32 = 1;
    /// The target address has no contract.
    pub const NO_CONTRACT: i32 = 2;
    /// The callee failed (panicked, trapped or returned an error); its writes were reverted.
    pub const CALLEE_FAILED: i32 = 3;
    /// The callee ran out of gas; its writes were reverted.
    pub const CALLEE_OUT_OF_GAS: i32 = 4;
    /// The call stack is at its depth limit.
    pub const DEPTH_EXCEEDED: i32 = 5;
    /// The callee is already on the call stack and reentrancy is not allowed.
    pub const REENTRANCY: i32 = 6;
    /// The callee has no such method.
    pub const NO_METHOD: i32 = 7;
}

/// Limits on host-call arguments. The host checks them after charging the base cost.
pub mod limits {
    /// Largest storage key, in bytes.
    pub const MAX_KEY_LEN: u32 = 256;
    /// Largest storage value, in bytes.
    pub const MAX_VALUE_LEN: u32 = 64 * 1024;
    /// Largest event topic, in bytes.
    pub const MAX_TOPIC_LEN: u32 = 256;
    /// Largest event data, in bytes.
    pub const MAX_EVENT_DATA_LEN: u32 = 64 * 1024;
    /// Largest return data, in bytes.
    pub const MAX_RETURN_LEN: u32 = 256 * 1024;
    /// Largest method name, in bytes.
    pub const MAX_METHOD_LEN: u32 = 256;
    /// Largest abort message or file name, in bytes (longer ones are truncated).
    pub const MAX_MESSAGE_LEN: u32 = 4 * 1024;
    /// Largest input to keccak256 or call arguments, in bytes.
    pub const MAX_DATA_LEN: u32 = 1024 * 1024;
}
