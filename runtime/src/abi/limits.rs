//! Bounds on what an embedded ABI may ask of the host that reads it.
//!
//! A contract's ABI is untrusted input: anyone can deploy wasm whose custom sections describe a
//! struct that contains itself, a type nested ten thousand levels deep or an array of 10^12
//! elements. [`ContractAbi::from_wasm`](super::ContractAbi::from_wasm) checks every limit below
//! once, while resolving the type strings, and refuses the whole ABI with a [`LimitError`]
//! naming the limit; decoding values then needs no further recursion guard (the resolved types
//! are finite trees of bounded depth) and only counts its output against
//! [`MAX_DECODED_BYTES`]. The values leave every contract in `contracts/` far below them.

/// Most bytes of ABI JSON (the `chainvm_abi` and `chainvm_abi_types` sections together).
/// The sample contracts embed under 3 KiB.
pub const MAX_ABI_BYTES: usize = 64 * 1024;

/// Most methods an ABI may declare.
pub const MAX_METHODS: usize = 256;

/// Most struct, enum and event definitions an ABI may declare.
pub const MAX_TYPES: usize = 256;

/// Deepest nesting of a type: one level for each `Vec`, `Option`, array, tuple, struct or enum
/// on the way down and one for the value at the bottom (`Option<Vec<u64>>` is 3 deep). Bounds
/// the host's recursion when parsing, encoding and decoding.
pub const MAX_TYPE_DEPTH: usize = 32;

/// Most elements of a fixed-size array type `[T; N]` (`[u8; 32]` is the usual one).
pub const MAX_ARRAY_LEN: usize = 64 * 1024;

/// Most JSON one decoded value (a return value, typed error or event) may produce, in bytes
/// of JSON text (an upper estimate that ignores string escapes; the `serde_json::Value` takes
/// at most about ten times this in memory). Checked when the ABI is read, against each type's
/// largest value with every `Vec` and `String` empty (so `[[(); 60000]; 60000]` is refused up
/// front), and while decoding, against the output so far, a whole `Vec` at a time (so a
/// `Vec<()>` with a length prefix of 2^32 is refused before any element is built). Real data
/// stays far below: the largest return value (256 KiB) decodes to about 1.5 MiB at most
/// unless it is a vector of long enum names.
pub const MAX_DECODED_BYTES: usize = 4 * 1024 * 1024;

/// An ABI, or a value decoded with it, over one of the limits above.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The ABI sections are too large.
    #[error("the ABI sections hold {size} bytes, over MAX_ABI_BYTES ({MAX_ABI_BYTES})")]
    AbiBytes {
        /// Bytes seen when the limit was crossed.
        size: usize,
    },
    /// Too many methods.
    #[error("the ABI declares {count} methods, over MAX_METHODS ({MAX_METHODS})")]
    Methods {
        /// How many it declares.
        count: usize,
    },
    /// Too many type definitions.
    #[error("the ABI declares {count} types, over MAX_TYPES ({MAX_TYPES})")]
    Types {
        /// How many it declares.
        count: usize,
    },
    /// A struct or enum that contains itself, directly or through other types.
    #[error("type `{name}` contains itself (via {path}); recursive ABI types are not supported")]
    Recursive {
        /// The type.
        name: String,
        /// The chain of named types back to it (`A -> B -> A`).
        path: String,
    },
    /// A type nested too deeply.
    #[error("type `{ty}` nests more than MAX_TYPE_DEPTH ({MAX_TYPE_DEPTH}) levels deep")]
    TypeDepth {
        /// The type (as written, or the named type being resolved).
        ty: String,
    },
    /// A fixed-size array type with too many elements.
    #[error("array type `{ty}` has {len} elements, over MAX_ARRAY_LEN ({MAX_ARRAY_LEN})")]
    ArrayLen {
        /// The type as written.
        ty: String,
        /// Its length as written (it may not even fit a `usize`).
        len: String,
    },
    /// A type whose values decode to too much JSON even with every `Vec` and `String` empty.
    #[error(
        "type `{ty}` decodes to {size} bytes of JSON with every Vec and String empty, \
         over MAX_DECODED_BYTES ({MAX_DECODED_BYTES})"
    )]
    FixedSize {
        /// The type.
        ty: String,
        /// Its size (saturated at `u64::MAX`).
        size: u64,
    },
    /// A value whose decoding would produce too much JSON.
    #[error("decoding {what} produces more than MAX_DECODED_BYTES ({MAX_DECODED_BYTES}) of JSON")]
    Decoded {
        /// What was being decoded (`return value of \`get\``, `event Voted`).
        what: String,
    },
}
