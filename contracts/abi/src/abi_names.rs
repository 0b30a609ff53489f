//! The names a contract's ABI is written under: its custom sections and its constructor.
//!
//! Defined once here and used by the host's ABI reader and by the SDK macros. (The macros
//! once included this file by path so that a dependency would not change the crate hashes
//! rustc mangles symbols with; the contract profile now gives every wasm32 crate a canonical
//! hash, see `chainvm-build`.)

/// Name of the custom section holding a contract's ABI description: its name and methods, one
/// JSON object (written by `#[contract]`, read by the host's ABI reader).
pub const ABI_SECTION: &str = "chainvm_abi";

/// Name of the custom section holding a contract's structs, enums and events, one JSON object
/// per line (written by `#[derive(AbiType)]` and `#[event]`; the linker concatenates them).
pub const TYPES_SECTION: &str = "chainvm_abi_types";

/// Name of the constructor entry point, run once at deploy if the contract exports it.
pub const CONSTRUCTOR: &str = "init";
