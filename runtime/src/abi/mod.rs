//! Contract ABIs on the host side: read the ABI a contract embeds in its wasm, encode JSON
//! arguments to borsh, and decode return values, typed errors and events back to JSON.
//!
//! Types are written as in Rust (`u64`, `String`, `Vec<Address>`, `Option<Deal>`,
//! `(Address, u64)`, `[u8; 32]`, or a struct/enum the contract declared with `AbiType`).
//! JSON mapping: integers up to 64 bits are numbers, 128-bit integers are decimal strings
//! (numbers are accepted too), `Address` and byte strings are `0x` hex, `Option` is `null` or
//! the value, structs are objects, enums are `"Variant"` or `{"Variant": fields}`.
//!
//! # Untrusted ABIs
//!
//! The ABI comes from the contract's own custom sections, so whoever deploys a contract writes
//! it. [`ContractAbi::from_wasm`] bounds what it will read (see [`limits`]): section bytes,
//! counts, type nesting, array lengths and the fixed decoded size of every type, all checked
//! once while the type strings are parsed into a resolved type tree; a struct that contains
//! itself is refused there too ([`LimitError::Recursive`]). Any violation refuses the whole ABI
//! with one [`AbiError::Limit`] naming the limit. Decoding values then walks the resolved tree
//! (finite, bounded depth) and counts its output against [`MAX_DECODED_BYTES`], so hostile
//! return data or event bytes (a `Vec` length prefix of 2^32, say) yield an error, not an
//! allocation.
//!
//! The runtime does **not** refuse such contracts at deploy: consensus never parses the ABI,
//! so what a node accepts stays independent of this parser and of these limits, which may
//! change without a protocol version. The ABI only matters to display and JSON paths:
//! `Chain::deploy`, `Chain::call` and `Chain::view` return the error (before sending
//! anything; a value that does not decode after a call is `null` in `Called`, as ever);
//! `chainvm events` shows the raw hex data with a warning on stderr, `chainvm
//! deploy` warns and sends no ABI-encoded arguments, and CLI receipts show what does not
//! decode as raw hex; the node's JSON-RPC decodes only when asked (`"decode": true`,
//! `"json_args"`), and shows what does not decode as `null`.
//!
//! # Layout
//!
//! This file reads the sections and holds the public API; `types` parses every type string
//! once into the resolved tree, `shape` sizes it, [`limits`] bounds it, and `encode` and
//! `decode` walk it (no type string is parsed again per value).

mod decode;
mod encode;
pub mod limits;
mod shape;
mod types;

pub use limits::{
    LimitError, MAX_ABI_BYTES, MAX_ARRAY_LEN, MAX_DECODED_BYTES, MAX_METHODS, MAX_TYPE_DEPTH,
    MAX_TYPES,
};

use decode::{Budget, DecodeFail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use types::{Resolved, Ty};

/// The custom-section names, defined once in `chainvm-abi` for the host and the SDK macros.
pub use chainvm_abi::{ABI_SECTION, TYPES_SECTION};

/// Why an ABI operation failed. Messages are meant for the person at the terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AbiError {
    /// The wasm carries no chainvm ABI.
    #[error("the contract has no embedded ABI (was it built with chainvm-sdk's #[contract]?)")]
    NoAbi,
    /// The embedded ABI does not parse.
    #[error("malformed contract ABI: {0}")]
    Malformed(String),
    /// No method of that name.
    #[error("unknown method `{method}`; the contract's methods are: {}", available.join(", "))]
    UnknownMethod {
        /// The name asked for.
        method: String,
        /// What exists.
        available: Vec<String>,
    },
    /// An argument is missing.
    #[error("missing argument `{arg}` of `{method}` (expects {signature})")]
    MissingArgument {
        /// The method.
        method: String,
        /// The argument.
        arg: String,
        /// The method's argument list.
        signature: String,
    },
    /// An argument that the method does not take.
    #[error("`{method}` has no argument `{arg}` (expects {signature})")]
    UnexpectedArgument {
        /// The method.
        method: String,
        /// The argument given.
        arg: String,
        /// The method's argument list.
        signature: String,
    },
    /// A value of the wrong type.
    #[error("`{path}`: expected {expected}, got {found}")]
    WrongType {
        /// Where in the arguments (`deal.seller`, `options[2]`).
        path: String,
        /// The expected type.
        expected: String,
        /// What was given.
        found: String,
    },
    /// Arguments that are not a JSON object or array.
    #[error("arguments must be a JSON object or array: {0}")]
    BadJson(String),
    /// A type name the ABI does not define.
    #[error("type `{0}` is not defined in the contract ABI")]
    UnknownType(String),
    /// The ABI, or a value decoded with it, is over one of the [`limits`].
    #[error("contract ABI over a limit: {0}")]
    Limit(#[from] LimitError),
    /// Bytes that do not decode as the expected type.
    #[error("cannot decode {what} as {ty}: {reason}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The type.
        ty: String,
        /// Why.
        reason: String,
    },
}

/// One named, typed field or argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Name (tuple fields are numbered).
    pub name: String,
    /// Type as written in Rust.
    #[serde(rename = "type")]
    pub ty: String,
}

/// What kind of entry point a method is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MethodKind {
    /// The constructor, run at deploy.
    Init,
    /// Read-only (`&self`).
    View,
    /// May write (`&mut self`).
    Call,
}

/// One contract method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    /// Entry point name.
    pub name: String,
    /// Constructor, view or call.
    pub kind: MethodKind,
    /// Arguments in order.
    pub args: Vec<Field>,
    /// Return type (`None`: nothing).
    pub returns: Option<String>,
    /// Error type of a `Result`-returning method.
    pub error: Option<String>,
}

impl Method {
    /// `(name: Type, ...)`, for messages.
    pub fn signature(&self) -> String {
        let args: Vec<_> = self
            .args
            .iter()
            .map(|a| format!("{}: {}", a.name, a.ty))
            .collect();
        format!("({})", args.join(", "))
    }
}

/// A variant of an ABI enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Variant name.
    pub name: String,
    /// Its fields (empty for unit variants).
    pub fields: Vec<Field>,
}

/// A struct or enum declared in the ABI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeDef {
    /// A struct.
    Struct {
        /// Name.
        name: String,
        /// Fields in order.
        fields: Vec<Field>,
    },
    /// An event (a struct emitted with its name as topic).
    Event {
        /// Name, also the topic.
        name: String,
        /// Fields in order.
        fields: Vec<Field>,
    },
    /// An enum.
    Enum {
        /// Name.
        name: String,
        /// Variants in order (their index is the borsh tag).
        variants: Vec<Variant>,
    },
}

#[derive(Deserialize)]
struct RawContract {
    contract: String,
    methods: Vec<Method>,
}

/// A contract's ABI.
///
/// The public fields are the ABI as read. Encoding and decoding use the type tree resolved
/// from them when the ABI was read or built with [`ContractAbi::new`]; editing the fields
/// afterwards does not change it, so build a changed ABI with `new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractAbi {
    /// The contract type's name.
    pub contract: String,
    /// Its methods.
    pub methods: Vec<Method>,
    /// Types and events by name.
    pub types: BTreeMap<String, TypeDef>,
    /// Every type string parsed and checked against the limits.
    #[serde(skip)]
    resolved: Resolved,
}

fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

impl ContractAbi {
    /// An ABI from its parts, with every type resolved and checked against the [`limits`].
    pub fn new(
        contract: String,
        methods: Vec<Method>,
        types: BTreeMap<String, TypeDef>,
    ) -> Result<ContractAbi, AbiError> {
        if methods.len() > MAX_METHODS {
            return Err(LimitError::Methods {
                count: methods.len(),
            }
            .into());
        }
        if types.len() > MAX_TYPES {
            return Err(LimitError::Types { count: types.len() }.into());
        }
        let resolved = Resolved::new(&methods, &types)?;
        Ok(ContractAbi {
            contract,
            methods,
            types,
            resolved,
        })
    }

    /// Reads the ABI embedded in contract wasm, refusing one over the [`limits`].
    pub fn from_wasm(code: &[u8]) -> Result<ContractAbi, AbiError> {
        let mut methods_json = None;
        let mut types_json = String::new();
        let mut size = 0usize;
        for payload in wasmparser::Parser::new(0).parse_all(code) {
            let payload = payload.map_err(|e| AbiError::Malformed(e.to_string()))?;
            if let wasmparser::Payload::CustomSection(c) = payload {
                if c.name() != ABI_SECTION && c.name() != TYPES_SECTION {
                    continue;
                }
                size = size.saturating_add(c.data().len());
                if size > MAX_ABI_BYTES {
                    return Err(LimitError::AbiBytes { size }.into());
                }
                if c.name() == ABI_SECTION {
                    methods_json = Some(String::from_utf8_lossy(c.data()).into_owned());
                } else {
                    types_json.push_str(&String::from_utf8_lossy(c.data()));
                }
            }
        }
        let methods_json = methods_json.ok_or(AbiError::NoAbi)?;
        let raw: RawContract =
            serde_json::from_str(&methods_json).map_err(|e| AbiError::Malformed(e.to_string()))?;
        let mut types = BTreeMap::new();
        for (i, line) in types_json
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            if i >= MAX_TYPES {
                return Err(LimitError::Types { count: i + 1 }.into());
            }
            let def: TypeDef =
                serde_json::from_str(line).map_err(|e| AbiError::Malformed(e.to_string()))?;
            let name = match &def {
                TypeDef::Struct { name, .. }
                | TypeDef::Event { name, .. }
                | TypeDef::Enum { name, .. } => name.clone(),
            };
            types.insert(name, def);
        }
        ContractAbi::new(raw.contract, raw.methods, types)
    }

    /// The method called `name`.
    pub fn method(&self, name: &str) -> Result<&Method, AbiError> {
        self.methods
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| AbiError::UnknownMethod {
                method: name.to_string(),
                available: self.methods.iter().map(|m| m.name.clone()).collect(),
            })
    }

    /// Names of the events the contract declares.
    pub fn events(&self) -> Vec<&str> {
        self.types
            .values()
            .filter_map(|t| match t {
                TypeDef::Event { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The resolved types of method `m` (found by [`ContractAbi::method`]).
    fn resolved(&self, m: &Method) -> Result<&types::RMethod, AbiError> {
        self.resolved
            .methods
            .get(&m.name)
            .filter(|r| r.args.len() == m.args.len())
            .ok_or_else(|| {
                AbiError::Malformed(format!(
                    "method `{}` was edited after the ABI was read; build it with ContractAbi::new",
                    m.name
                ))
            })
    }

    /// Encodes JSON arguments (an object by name, an array in order, or `null` for none)
    /// for `method`.
    pub fn encode_args(&self, method: &str, args: &Value) -> Result<Vec<u8>, AbiError> {
        let m = self.method(method)?;
        let rm = self.resolved(m)?;
        let optional = |i: usize| matches!(rm.args.get(i), Some(Ty::Option(_)));
        let missing = |i: usize| AbiError::MissingArgument {
            method: m.name.clone(),
            arg: m.args.get(i).map(|a| a.name.clone()).unwrap_or_default(),
            signature: m.signature(),
        };
        let mut out = Vec::new();
        let values: Vec<&Value> = match args {
            Value::Null => Vec::new(),
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => {
                if let Some(extra) = o.keys().find(|k| !m.args.iter().any(|a| &a.name == *k)) {
                    return Err(AbiError::UnexpectedArgument {
                        method: m.name.clone(),
                        arg: extra.clone(),
                        signature: m.signature(),
                    });
                }
                let mut v = Vec::new();
                for (i, a) in m.args.iter().enumerate() {
                    match o.get(&a.name) {
                        Some(x) => v.push(x),
                        None if optional(i) => v.push(&Value::Null),
                        None => return Err(missing(i)),
                    }
                }
                v
            }
            other => return Err(AbiError::BadJson(json_kind(other))),
        };
        if values.len() > m.args.len() {
            return Err(AbiError::UnexpectedArgument {
                method: m.name.clone(),
                arg: format!("#{}", m.args.len() + 1),
                signature: m.signature(),
            });
        }
        for (i, (a, ty)) in m.args.iter().zip(&rm.args).enumerate() {
            let v = match values.get(i) {
                Some(v) => *v,
                None if optional(i) => &Value::Null,
                None => return Err(missing(i)),
            };
            self.resolved.encode_value(ty, v, &a.name, &mut out)?;
        }
        Ok(out)
    }

    /// Decodes a method's return value (`null` for none).
    pub fn decode_return(&self, method: &str, data: &[u8]) -> Result<Value, AbiError> {
        let m = self.method(method)?;
        match (&m.returns, &self.resolved(m)?.returns) {
            (Some(t), Some(ty)) => {
                self.decode_all(ty, t, data, &format!("return value of `{method}`"))
            }
            _ => Ok(Value::Null),
        }
    }

    /// Decodes a typed error returned by a `Result` method, if it declares one.
    pub fn decode_error(&self, method: &str, data: &[u8]) -> Result<Option<Value>, AbiError> {
        let m = self.method(method)?;
        match (&m.error, &self.resolved(m)?.error) {
            (Some(t), Some(ty)) if !data.is_empty() => self
                .decode_all(ty, t, data, &format!("error of `{method}`"))
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Decodes an event by its topic; `None` if the topic is not one of the contract's events.
    pub fn decode_event(
        &self,
        topic: &[u8],
        data: &[u8],
    ) -> Result<Option<(String, Value)>, AbiError> {
        let Ok(name) = std::str::from_utf8(topic) else {
            return Ok(None);
        };
        match self.resolved.by_name.get(name) {
            Some(id) if self.resolved.defs.get(*id).is_some_and(|d| d.is_event) => Ok(Some((
                name.to_string(),
                self.decode_all(&Ty::Named(*id), name, data, &format!("event {name}"))?,
            ))),
            _ => Ok(None),
        }
    }

    /// Decodes all of `data` as one `ty` (written `ty_str`); `what` names it in errors.
    fn decode_all(
        &self,
        ty: &Ty,
        ty_str: &str,
        data: &[u8],
        what: &str,
    ) -> Result<Value, AbiError> {
        let mut r = data;
        let fail = |reason: String| AbiError::Decode {
            what: what.to_string(),
            ty: ty_str.to_string(),
            reason,
        };
        let v = match self.resolved.decode_value(ty, &mut r, &mut Budget::new()) {
            Ok(v) => v,
            Err(DecodeFail::Data(reason)) => return Err(fail(reason)),
            Err(DecodeFail::Budget) => {
                return Err(LimitError::Decoded {
                    what: what.to_string(),
                }
                .into());
            }
        };
        if !r.is_empty() {
            return Err(fail(format!("{} trailing bytes", r.len())));
        }
        Ok(v)
    }
}
