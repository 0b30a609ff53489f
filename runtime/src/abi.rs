//! Contract ABIs on the host side: read the ABI a contract embeds in its wasm, encode JSON
//! arguments to borsh, and decode return values, typed errors and events back to JSON.
//!
//! Types are written as in Rust (`u64`, `String`, `Vec<Address>`, `Option<Deal>`,
//! `(Address, u64)`, `[u8; 32]`, or a struct/enum the contract declared with `AbiType`).
//! JSON mapping: integers up to 64 bits are numbers, 128-bit integers are decimal strings
//! (numbers are accepted too), `Address` and byte strings are `0x` hex, `Option` is `null` or
//! the value, structs are objects, enums are `"Variant"` or `{"Variant": fields}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Custom section holding the contract's methods.
pub const ABI_SECTION: &str = "chainvm_abi";
/// Custom section holding the contract's types and events, one JSON object per line.
pub const TYPES_SECTION: &str = "chainvm_abi_types";

/// Why an ABI operation failed. Messages are meant for the person at the terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContractAbi {
    /// The contract type's name.
    pub contract: String,
    /// Its methods.
    pub methods: Vec<Method>,
    /// Types and events by name.
    pub types: BTreeMap<String, TypeDef>,
}

/// A parsed type expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    Bool,
    Uint(u32),
    Int(u32),
    Str,
    Address,
    Vec(Box<Ty>),
    Option(Box<Ty>),
    Array(Box<Ty>, usize),
    Tuple(Vec<Ty>),
    Named(String),
}

fn parse_ty(s: &str) -> Result<Ty, AbiError> {
    let toks = tokenize(s);
    let mut pos = 0;
    let t = parse_tokens(&toks, &mut pos, s)?;
    if pos != toks.len() {
        return Err(AbiError::Malformed(format!(
            "trailing tokens in type `{s}`"
        )));
    }
    Ok(t)
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_tokens(t: &[String], pos: &mut usize, src: &str) -> Result<Ty, AbiError> {
    let bad = || AbiError::Malformed(format!("cannot parse type `{src}`"));
    let tok = t.get(*pos).ok_or_else(bad)?.clone();
    *pos += 1;
    let expect = |pos: &mut usize, want: &str| -> Result<(), AbiError> {
        if t.get(*pos).map(|s| s.as_str()) == Some(want) {
            *pos += 1;
            Ok(())
        } else {
            Err(AbiError::Malformed(format!("cannot parse type `{src}`")))
        }
    };
    match tok.as_str() {
        "(" => {
            let mut items = Vec::new();
            while t.get(*pos).map(|s| s.as_str()) != Some(")") {
                items.push(parse_tokens(t, pos, src)?);
                if t.get(*pos).map(|s| s.as_str()) == Some(",") {
                    *pos += 1;
                }
            }
            *pos += 1;
            Ok(Ty::Tuple(items))
        }
        "[" => {
            let inner = parse_tokens(t, pos, src)?;
            expect(pos, ";")?;
            let n: usize = t.get(*pos).and_then(|n| n.parse().ok()).ok_or_else(bad)?;
            *pos += 1;
            expect(pos, "]")?;
            Ok(Ty::Array(Box::new(inner), n))
        }
        path => {
            let name = path.rsplit("::").next().unwrap_or(path);
            let generic = |pos: &mut usize| -> Result<Ty, AbiError> {
                expect(pos, "<")?;
                let inner = parse_tokens(t, pos, src)?;
                expect(pos, ">")?;
                Ok(inner)
            };
            Ok(match name {
                "bool" => Ty::Bool,
                "u8" | "u16" | "u32" | "u64" | "u128" => Ty::Uint(name[1..].parse().unwrap_or(64)),
                "i8" | "i16" | "i32" | "i64" | "i128" => Ty::Int(name[1..].parse().unwrap_or(64)),
                "String" => Ty::Str,
                "Address" => Ty::Address,
                "Vec" => Ty::Vec(Box::new(generic(pos)?)),
                "Option" => Ty::Option(Box::new(generic(pos)?)),
                other => Ty::Named(other.to_string()),
            })
        }
    }
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

/// Bytes from hex, with or without a `0x` prefix.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `0x`-prefixed lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl ContractAbi {
    /// Reads the ABI embedded in contract wasm.
    pub fn from_wasm(code: &[u8]) -> Result<ContractAbi, AbiError> {
        let mut methods_json = None;
        let mut types_json = String::new();
        for payload in wasmparser::Parser::new(0).parse_all(code) {
            let payload = payload.map_err(|e| AbiError::Malformed(e.to_string()))?;
            if let wasmparser::Payload::CustomSection(c) = payload {
                if c.name() == ABI_SECTION {
                    methods_json = Some(String::from_utf8_lossy(c.data()).into_owned());
                } else if c.name() == TYPES_SECTION {
                    types_json.push_str(&String::from_utf8_lossy(c.data()));
                }
            }
        }
        let methods_json = methods_json.ok_or(AbiError::NoAbi)?;
        let raw: RawContract =
            serde_json::from_str(&methods_json).map_err(|e| AbiError::Malformed(e.to_string()))?;
        let mut types = BTreeMap::new();
        for line in types_json.lines().filter(|l| !l.trim().is_empty()) {
            let def: TypeDef =
                serde_json::from_str(line).map_err(|e| AbiError::Malformed(e.to_string()))?;
            let name = match &def {
                TypeDef::Struct { name, .. }
                | TypeDef::Event { name, .. }
                | TypeDef::Enum { name, .. } => name.clone(),
            };
            types.insert(name, def);
        }
        Ok(ContractAbi {
            contract: raw.contract,
            methods: raw.methods,
            types,
        })
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

    /// Encodes JSON arguments (an object by name, an array in order, or `null` for none)
    /// for `method`.
    pub fn encode_args(&self, method: &str, args: &Value) -> Result<Vec<u8>, AbiError> {
        let m = self.method(method)?;
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
                for a in &m.args {
                    match o.get(&a.name) {
                        Some(x) => v.push(x),
                        None if a.ty.starts_with("Option") => v.push(&Value::Null),
                        None => {
                            return Err(AbiError::MissingArgument {
                                method: m.name.clone(),
                                arg: a.name.clone(),
                                signature: m.signature(),
                            });
                        }
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
        for (i, a) in m.args.iter().enumerate() {
            let v = match values.get(i) {
                Some(v) => *v,
                None if a.ty.starts_with("Option") => &Value::Null,
                None => {
                    return Err(AbiError::MissingArgument {
                        method: m.name.clone(),
                        arg: a.name.clone(),
                        signature: m.signature(),
                    });
                }
            };
            self.encode_value(&parse_ty(&a.ty)?, v, &a.name, &mut out)?;
        }
        Ok(out)
    }

    /// Decodes a method's return value (`null` for none).
    pub fn decode_return(&self, method: &str, data: &[u8]) -> Result<Value, AbiError> {
        let m = self.method(method)?;
        match &m.returns {
            None => Ok(Value::Null),
            Some(t) => self.decode_all(t, data, &format!("return value of `{method}`")),
        }
    }

    /// Decodes a typed error returned by a `Result` method, if it declares one.
    pub fn decode_error(&self, method: &str, data: &[u8]) -> Result<Option<Value>, AbiError> {
        let m = self.method(method)?;
        match &m.error {
            Some(t) if !data.is_empty() => self
                .decode_all(t, data, &format!("error of `{method}`"))
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
        match self.types.get(name) {
            Some(TypeDef::Event { .. }) => Ok(Some((
                name.to_string(),
                self.decode_all(name, data, &format!("event {name}"))?,
            ))),
            _ => Ok(None),
        }
    }

    fn decode_all(&self, ty: &str, data: &[u8], what: &str) -> Result<Value, AbiError> {
        let mut r = data;
        let v = self
            .decode_value(&parse_ty(ty)?, &mut r)
            .map_err(|reason| AbiError::Decode {
                what: what.to_string(),
                ty: ty.to_string(),
                reason,
            })?;
        if !r.is_empty() {
            return Err(AbiError::Decode {
                what: what.to_string(),
                ty: ty.to_string(),
                reason: format!("{} trailing bytes", r.len()),
            });
        }
        Ok(v)
    }

    fn wrong(ty: &Ty, v: &Value, path: &str) -> AbiError {
        AbiError::WrongType {
            path: path.to_string(),
            expected: describe(ty),
            found: json_kind(v),
        }
    }

    fn encode_value(
        &self,
        ty: &Ty,
        v: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), AbiError> {
        match ty {
            Ty::Bool => out.push(v.as_bool().ok_or_else(|| Self::wrong(ty, v, path))? as u8),
            Ty::Uint(bits) => {
                let n: u128 = match v {
                    Value::Number(n) => n.as_u64().map(u128::from),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .filter(|n| *bits == 128 || *n < (1u128 << bits))
                .ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&n.to_le_bytes()[..(*bits / 8) as usize]);
            }
            Ty::Int(bits) => {
                let n: i128 = match v {
                    Value::Number(n) => n.as_i64().map(i128::from),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .filter(|n| {
                    *bits == 128 || (*n >= -(1i128 << (bits - 1)) && *n < (1i128 << (bits - 1)))
                })
                .ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&n.to_le_bytes()[..(*bits / 8) as usize]);
            }
            Ty::Str => {
                let s = v.as_str().ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Ty::Address => {
                let b = v
                    .as_str()
                    .and_then(parse_hex)
                    .filter(|b| b.len() == 20)
                    .ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&b);
            }
            Ty::Vec(inner) if **inner == Ty::Uint(8) && v.is_string() => {
                let b = v
                    .as_str()
                    .and_then(parse_hex)
                    .ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(&b);
            }
            Ty::Vec(inner) => {
                let a = v.as_array().ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&(a.len() as u32).to_le_bytes());
                for (i, x) in a.iter().enumerate() {
                    self.encode_value(inner, x, &format!("{path}[{i}]"), out)?;
                }
            }
            Ty::Array(inner, n) if **inner == Ty::Uint(8) && v.is_string() => {
                let b = v
                    .as_str()
                    .and_then(parse_hex)
                    .filter(|b| b.len() == *n)
                    .ok_or_else(|| Self::wrong(ty, v, path))?;
                out.extend_from_slice(&b);
            }
            Ty::Array(inner, n) => {
                let a = v
                    .as_array()
                    .filter(|a| a.len() == *n)
                    .ok_or_else(|| Self::wrong(ty, v, path))?;
                for (i, x) in a.iter().enumerate() {
                    self.encode_value(inner, x, &format!("{path}[{i}]"), out)?;
                }
            }
            Ty::Option(inner) => match v {
                Value::Null => out.push(0),
                x => {
                    out.push(1);
                    self.encode_value(inner, x, path, out)?;
                }
            },
            Ty::Tuple(items) => {
                let a = v
                    .as_array()
                    .filter(|a| a.len() == items.len())
                    .ok_or_else(|| Self::wrong(ty, v, path))?;
                for (i, (t, x)) in items.iter().zip(a).enumerate() {
                    self.encode_value(t, x, &format!("{path}.{i}"), out)?;
                }
            }
            Ty::Named(name) => match self
                .types
                .get(name)
                .ok_or_else(|| AbiError::UnknownType(name.clone()))?
            {
                TypeDef::Struct { fields, .. } | TypeDef::Event { fields, .. } => {
                    self.encode_fields(fields, v, path, ty, out)?;
                }
                TypeDef::Enum { variants, .. } => {
                    let (vname, inner) = match v {
                        Value::String(s) => (s.as_str(), &Value::Null),
                        Value::Object(o) if o.len() == 1 => {
                            let (k, x) = o.iter().next().ok_or_else(|| Self::wrong(ty, v, path))?;
                            (k.as_str(), x)
                        }
                        _ => return Err(Self::wrong(ty, v, path)),
                    };
                    let (idx, variant) = variants
                        .iter()
                        .enumerate()
                        .find(|(_, var)| var.name == vname)
                        .ok_or_else(|| AbiError::WrongType {
                            path: path.to_string(),
                            expected: format!(
                                "one of {}",
                                variants
                                    .iter()
                                    .map(|v| v.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            found: json_kind(v),
                        })?;
                    out.push(idx as u8);
                    if !variant.fields.is_empty() {
                        self.encode_fields(
                            &variant.fields,
                            inner,
                            &format!("{path}.{vname}"),
                            ty,
                            out,
                        )?;
                    }
                }
            },
        }
        Ok(())
    }

    fn encode_fields(
        &self,
        fields: &[Field],
        v: &Value,
        path: &str,
        ty: &Ty,
        out: &mut Vec<u8>,
    ) -> Result<(), AbiError> {
        let tuple_like = fields.first().is_some_and(|f| f.name == "0");
        match v {
            Value::Object(o) if !tuple_like => {
                if let Some(extra) = o.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
                    return Err(AbiError::WrongType {
                        path: format!("{path}.{extra}"),
                        expected: "no such field".into(),
                        found: json_kind(&o[extra]),
                    });
                }
                for f in fields {
                    let x = o.get(&f.name).unwrap_or(&Value::Null);
                    let fty = parse_ty(&f.ty)?;
                    if x.is_null() && !matches!(fty, Ty::Option(_)) {
                        return Err(AbiError::WrongType {
                            path: format!("{path}.{}", f.name),
                            expected: describe(&fty),
                            found: "nothing".into(),
                        });
                    }
                    self.encode_value(&fty, x, &format!("{path}.{}", f.name), out)?;
                }
                Ok(())
            }
            Value::Array(a) if a.len() == fields.len() => {
                for (f, x) in fields.iter().zip(a) {
                    self.encode_value(&parse_ty(&f.ty)?, x, &format!("{path}.{}", f.name), out)?;
                }
                Ok(())
            }
            x if tuple_like && fields.len() == 1 => {
                self.encode_value(&parse_ty(&fields[0].ty)?, x, path, out)
            }
            _ => Err(Self::wrong(ty, v, path)),
        }
    }

    fn decode_value(&self, ty: &Ty, r: &mut &[u8]) -> Result<Value, String> {
        fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if r.len() < n {
                return Err("unexpected end of data".into());
            }
            let (a, b) = r.split_at(n);
            *r = b;
            Ok(a)
        }
        let len = |r: &mut &[u8]| -> Result<usize, String> {
            let b = take(r, 4)?;
            Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        Ok(match ty {
            Ty::Bool => match take(r, 1)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("invalid bool {b}")),
            },
            Ty::Uint(bits) => {
                let b = take(r, (*bits / 8) as usize)?;
                let mut buf = [0u8; 16];
                buf[..b.len()].copy_from_slice(b);
                let n = u128::from_le_bytes(buf);
                if *bits <= 64 {
                    json!(n as u64)
                } else {
                    Value::String(n.to_string())
                }
            }
            Ty::Int(bits) => {
                let b = take(r, (*bits / 8) as usize)?;
                let fill = if b.last().is_some_and(|x| x & 0x80 != 0) {
                    0xff
                } else {
                    0
                };
                let mut buf = [fill; 16];
                buf[..b.len()].copy_from_slice(b);
                let n = i128::from_le_bytes(buf);
                if *bits <= 64 {
                    json!(n as i64)
                } else {
                    Value::String(n.to_string())
                }
            }
            Ty::Str => {
                let n = len(r)?;
                let b = take(r, n)?;
                Value::String(
                    String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8".to_string())?,
                )
            }
            Ty::Address => Value::String(hex(take(r, 20)?)),
            Ty::Vec(inner) if **inner == Ty::Uint(8) => {
                let n = len(r)?;
                Value::String(hex(take(r, n)?))
            }
            Ty::Vec(inner) => {
                let n = len(r)?;
                if n > r.len() {
                    return Err("length exceeds the data".into());
                }
                let mut a = Vec::with_capacity(n);
                for _ in 0..n {
                    a.push(self.decode_value(inner, r)?);
                }
                Value::Array(a)
            }
            Ty::Array(inner, n) if **inner == Ty::Uint(8) => Value::String(hex(take(r, *n)?)),
            Ty::Array(inner, n) => Value::Array(
                (0..*n)
                    .map(|_| self.decode_value(inner, r))
                    .collect::<Result<_, _>>()?,
            ),
            Ty::Option(inner) => match take(r, 1)?[0] {
                0 => Value::Null,
                1 => self.decode_value(inner, r)?,
                b => return Err(format!("invalid option tag {b}")),
            },
            Ty::Tuple(items) => Value::Array(
                items
                    .iter()
                    .map(|t| self.decode_value(t, r))
                    .collect::<Result<_, _>>()?,
            ),
            Ty::Named(name) => match self
                .types
                .get(name)
                .ok_or_else(|| format!("type `{name}` is not in the ABI"))?
            {
                TypeDef::Struct { fields, .. } | TypeDef::Event { fields, .. } => {
                    self.decode_fields(fields, r)?
                }
                TypeDef::Enum { variants, .. } => {
                    let idx = take(r, 1)?[0] as usize;
                    let v = variants
                        .get(idx)
                        .ok_or_else(|| format!("invalid variant {idx} of {name}"))?;
                    if v.fields.is_empty() {
                        Value::String(v.name.clone())
                    } else {
                        let mut o = Map::new();
                        o.insert(v.name.clone(), self.decode_fields(&v.fields, r)?);
                        Value::Object(o)
                    }
                }
            },
        })
    }

    fn decode_fields(&self, fields: &[Field], r: &mut &[u8]) -> Result<Value, String> {
        let tuple_like = fields.first().is_some_and(|f| f.name == "0");
        let mut values = Vec::new();
        for f in fields {
            let ty = parse_ty(&f.ty).map_err(|e| e.to_string())?;
            values.push(self.decode_value(&ty, r)?);
        }
        Ok(if tuple_like {
            if values.len() == 1 {
                values.remove(0)
            } else {
                Value::Array(values)
            }
        } else {
            Value::Object(fields.iter().map(|f| f.name.clone()).zip(values).collect())
        })
    }
}

fn describe(ty: &Ty) -> String {
    match ty {
        Ty::Bool => "a boolean".into(),
        Ty::Uint(b) if *b > 64 => format!("u{b} (a number or decimal string)"),
        Ty::Uint(b) => format!("u{b} (a non-negative integer that fits)"),
        Ty::Int(b) => format!("i{b}"),
        Ty::Str => "a string".into(),
        Ty::Address => "an address (0x + 40 hex digits)".into(),
        Ty::Vec(i) if **i == Ty::Uint(8) => "bytes (0x hex)".into(),
        Ty::Vec(i) => format!("an array of {}", describe(i)),
        Ty::Option(i) => format!("null or {}", describe(i)),
        Ty::Array(i, n) => format!("{n} x {}", describe(i)),
        Ty::Tuple(items) => format!("a {}-element array", items.len()),
        Ty::Named(n) => format!("a {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rust_type_strings() {
        assert_eq!(
            parse_ty("Vec<Option<u64>>").unwrap(),
            Ty::Vec(Box::new(Ty::Option(Box::new(Ty::Uint(64)))))
        );
        assert_eq!(
            parse_ty("(Address,u64)").unwrap(),
            Ty::Tuple(vec![Ty::Address, Ty::Uint(64)])
        );
        assert_eq!(
            parse_ty("[u8;32]").unwrap(),
            Ty::Array(Box::new(Ty::Uint(8)), 32)
        );
        assert_eq!(parse_ty("chainvm_sdk::Address").unwrap(), Ty::Address);
        assert_eq!(parse_ty("Deal").unwrap(), Ty::Named("Deal".into()));
        assert!(parse_ty("Vec<u8").is_err());
    }
}
