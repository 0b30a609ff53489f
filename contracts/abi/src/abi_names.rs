//! The names a contract's ABI is written under: its custom sections and its constructor.
//!
//! Defined once here and used by the host's ABI reader (through `chainvm-abi`) and by the SDK
//! macros, which include this file by path (`#[path]`) instead of depending on the crate: a new
//! dependency of the proc-macro crate would change the crate hashes rustc mangles symbols with,
//! and so the order of functions, and the bytes, of every contract built with the SDK.

/// Name of the custom section holding a contract's ABI description: its name and methods, one
/// JSON object (written by `#[contract]`, read by the host's ABI reader).
pub const ABI_SECTION: &str = "chainvm_abi";

/// Name of the custom section holding a contract's structs, enums and events, one JSON object
/// per line (written by `#[derive(AbiType)]` and `#[event]`; the linker concatenates them).
pub const TYPES_SECTION: &str = "chainvm_abi_types";

/// Name of the constructor entry point, run once at deploy if the contract exports it.
pub const CONSTRUCTOR: &str = "init";
