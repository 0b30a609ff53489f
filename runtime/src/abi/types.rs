//! The ABI's type strings parsed once, when the ABI is read, into a resolved type tree, with
//! every limit of [`super::limits`] checked on the way.
//!
//! Named types (structs, enums, events) are referenced by index into one table rather than
//! inlined, so a chain of types that each use the previous one twice stays linear in size.
//! Every definition gets a [`Shape`] (see [`super::shape`]), computed by a depth-first walk
//! that refuses cycles; so the tree the encoder and decoder walk is finite and at most
//! [`MAX_TYPE_DEPTH`] deep.

use super::limits::{LimitError, MAX_ARRAY_LEN, MAX_TYPE_DEPTH};
use super::shape::{Shape, Shaper, check, shape_with};
use super::{AbiError, Field, Method, TypeDef};
use std::collections::BTreeMap;

/// Index of a named type in [`Resolved::defs`].
pub(crate) type DefId = usize;

/// A resolved type expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ty {
    Bool,
    Uint(u32),
    Int(u32),
    Str,
    Address,
    Vec(Box<Ty>),
    Option(Box<Ty>),
    Array(Box<Ty>, usize),
    Tuple(Vec<Ty>),
    /// A struct, enum or event of the ABI.
    Named(DefId),
    /// A name the ABI does not define: an error only when a value of it is encoded or decoded
    /// (so one undeclared type does not make the contract's other methods unusable).
    Unknown(String),
    /// A type string that does not parse (bounded, just not understood): likewise an error
    /// only when used. The string is the error message.
    Invalid(String),
}

/// A field of a resolved struct, event or variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RField {
    pub name: String,
    pub ty: Ty,
}

/// A variant of a resolved enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RVariant {
    pub name: String,
    pub fields: Vec<RField>,
}

/// What a named type is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// A struct or event.
    Struct(Vec<RField>),
    /// An enum; a variant's index is its borsh tag.
    Enum(Vec<RVariant>),
}

/// A named type with its resolved body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Def {
    pub name: String,
    pub is_event: bool,
    pub body: Body,
    pub shape: Shape,
}

/// A method's resolved argument, return and error types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RMethod {
    pub args: Vec<Ty>,
    pub returns: Option<Ty>,
    pub error: Option<Ty>,
}

/// The whole ABI resolved: named types by index and methods by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Resolved {
    pub defs: Vec<Def>,
    pub by_name: BTreeMap<String, DefId>,
    pub methods: BTreeMap<String, RMethod>,
}

fn limit(e: LimitError) -> AbiError {
    AbiError::Limit(e)
}

fn tokenize(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            start.get_or_insert(i);
            continue;
        }
        if let Some(b) = start.take() {
            out.push(&s[b..i]);
        }
        if !c.is_whitespace() {
            out.push(&s[i..i + c.len_utf8()]);
        }
    }
    if let Some(b) = start {
        out.push(&s[b..]);
    }
    out
}

/// Parses one type string. Limits (nesting, array length) are errors; names the ABI does not
/// define become [`Ty::Unknown`]; anything else not understood is a `Malformed` error the
/// caller may keep for later as [`Ty::Invalid`].
pub(crate) fn parse_ty(s: &str, names: &BTreeMap<String, DefId>) -> Result<Ty, AbiError> {
    let toks = tokenize(s);
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        src: s,
        names,
    };
    let t = p.ty(1)?;
    if p.pos != toks.len() {
        return Err(AbiError::Malformed(format!(
            "trailing tokens in type `{s}`"
        )));
    }
    Ok(t)
}

struct Parser<'a> {
    toks: &'a [&'a str],
    pos: usize,
    src: &'a str,
    names: &'a BTreeMap<String, DefId>,
}

impl<'a> Parser<'a> {
    fn bad(&self) -> AbiError {
        AbiError::Malformed(format!("cannot parse type `{}`", self.src))
    }

    fn peek(&self) -> Option<&'a str> {
        self.toks.get(self.pos).copied()
    }

    fn expect(&mut self, want: &str) -> Result<(), AbiError> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.bad())
        }
    }

    fn ty(&mut self, depth: usize) -> Result<Ty, AbiError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(limit(LimitError::TypeDepth {
                ty: self.src.to_string(),
            }));
        }
        let tok = self.peek().ok_or_else(|| self.bad())?;
        self.pos += 1;
        match tok {
            "(" => {
                let mut items = Vec::new();
                while self.peek() != Some(")") {
                    items.push(self.ty(depth + 1)?);
                    if self.peek() == Some(",") {
                        self.pos += 1;
                    }
                }
                self.pos += 1;
                Ok(Ty::Tuple(items))
            }
            "[" => {
                let inner = self.ty(depth + 1)?;
                self.expect(";")?;
                let n = self.peek().ok_or_else(|| self.bad())?;
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(self.bad());
                }
                let len = n.parse::<usize>().ok().filter(|l| *l <= MAX_ARRAY_LEN);
                let Some(len) = len else {
                    return Err(limit(LimitError::ArrayLen {
                        ty: self.src.to_string(),
                        len: n.to_string(),
                    }));
                };
                self.pos += 1;
                self.expect("]")?;
                Ok(Ty::Array(Box::new(inner), len))
            }
            path if path.starts_with(|c: char| c.is_alphanumeric() || c == '_') => {
                let name = path.rsplit("::").next().unwrap_or(path);
                Ok(match name {
                    "bool" => Ty::Bool,
                    "u8" => Ty::Uint(8),
                    "u16" => Ty::Uint(16),
                    "u32" => Ty::Uint(32),
                    "u64" => Ty::Uint(64),
                    "u128" => Ty::Uint(128),
                    "i8" => Ty::Int(8),
                    "i16" => Ty::Int(16),
                    "i32" => Ty::Int(32),
                    "i64" => Ty::Int(64),
                    "i128" => Ty::Int(128),
                    "String" => Ty::Str,
                    "Address" => Ty::Address,
                    "Vec" | "Option" => {
                        self.expect("<")?;
                        let inner = Box::new(self.ty(depth + 1)?);
                        self.expect(">")?;
                        if name == "Vec" {
                            Ty::Vec(inner)
                        } else {
                            Ty::Option(inner)
                        }
                    }
                    other => match self.names.get(other) {
                        Some(id) => Ty::Named(*id),
                        None => Ty::Unknown(other.to_string()),
                    },
                })
            }
            _ => Err(self.bad()),
        }
    }
}

/// A type string parsed for keeping: limit errors propagate, other errors wait in
/// [`Ty::Invalid`].
fn parse_kept(s: &str, names: &BTreeMap<String, DefId>) -> Result<Ty, AbiError> {
    match parse_ty(s, names) {
        Ok(t) => Ok(t),
        Err(AbiError::Malformed(m)) => Ok(Ty::Invalid(m)),
        Err(e) => Err(e),
    }
}

fn fields(fs: &[Field], names: &BTreeMap<String, DefId>) -> Result<Vec<RField>, AbiError> {
    fs.iter()
        .map(|f| {
            Ok(RField {
                name: f.name.clone(),
                ty: parse_kept(&f.ty, names)?,
            })
        })
        .collect()
}

/// Whether fields are positional (a tuple struct or variant): decoded as an array, or as the
/// bare value when there is one.
pub(crate) fn tuple_like(fields: &[RField]) -> bool {
    fields.first().is_some_and(|f| f.name == "0")
}

impl Resolved {
    /// Resolves methods and types, checking every limit; the first violation is the error.
    pub(crate) fn new(
        methods: &[Method],
        types: &BTreeMap<String, TypeDef>,
    ) -> Result<Resolved, AbiError> {
        let by_name: BTreeMap<String, DefId> = types
            .keys()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let mut defs = Vec::with_capacity(types.len());
        for (name, t) in types {
            let (is_event, body) = match t {
                TypeDef::Struct { fields: fs, .. } => (false, Body::Struct(fields(fs, &by_name)?)),
                TypeDef::Event { fields: fs, .. } => (true, Body::Struct(fields(fs, &by_name)?)),
                TypeDef::Enum { variants, .. } => {
                    let vs = variants
                        .iter()
                        .map(|v| {
                            Ok(RVariant {
                                name: v.name.clone(),
                                fields: fields(&v.fields, &by_name)?,
                            })
                        })
                        .collect::<Result<_, AbiError>>()?;
                    (false, Body::Enum(vs))
                }
            };
            defs.push(Def {
                name: name.clone(),
                is_event,
                body,
                shape: Shape::default(),
            });
        }
        let mut shaper = Shaper::new(&defs);
        let mut shapes = Vec::with_capacity(defs.len());
        for id in 0..defs.len() {
            shapes.push(shaper.def(id)?);
        }
        let mut rmethods = BTreeMap::new();
        for m in methods {
            let mut one = |s: &str| -> Result<Ty, AbiError> {
                let t = parse_kept(s, &by_name)?;
                check(s, shape_with(&t, &mut |i| shaper.def(i))?)?;
                Ok(t)
            };
            let r = RMethod {
                args: m
                    .args
                    .iter()
                    .map(|a| one(&a.ty))
                    .collect::<Result<_, _>>()?,
                returns: m.returns.as_deref().map(&mut one).transpose()?,
                error: m.error.as_deref().map(&mut one).transpose()?,
            };
            rmethods.entry(m.name.clone()).or_insert(r);
        }
        for (d, s) in defs.iter_mut().zip(shapes) {
            d.shape = s;
        }
        Ok(Resolved {
            defs,
            by_name,
            methods: rmethods,
        })
    }

    /// What a value of `ty` looks like in JSON, for messages.
    pub(crate) fn describe(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "a boolean".into(),
            Ty::Uint(b) if *b > 64 => format!("u{b} (a number or decimal string)"),
            Ty::Uint(b) => format!("u{b} (a non-negative integer that fits)"),
            Ty::Int(b) => format!("i{b}"),
            Ty::Str => "a string".into(),
            Ty::Address => "an address (0x + 40 hex digits)".into(),
            Ty::Vec(i) if **i == Ty::Uint(8) => "bytes (0x hex)".into(),
            Ty::Vec(i) => format!("an array of {}", self.describe(i)),
            Ty::Option(i) => format!("null or {}", self.describe(i)),
            Ty::Array(i, n) => format!("{n} x {}", self.describe(i)),
            Ty::Tuple(items) => format!("a {}-element array", items.len()),
            Ty::Named(id) => format!("a {}", self.defs.get(*id).map_or("?", |d| d.name.as_str())),
            Ty::Unknown(n) => format!("a {n}"),
            Ty::Invalid(_) => "a value of an unparseable type".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeMap<String, DefId> {
        list.iter()
            .enumerate()
            .map(|(i, n)| (n.to_string(), i))
            .collect()
    }

    #[test]
    fn parses_rust_type_strings() {
        let n = names(&["Deal"]);
        let p = |s| parse_ty(s, &n);
        assert_eq!(
            p("Vec<Option<u64>>").unwrap(),
            Ty::Vec(Box::new(Ty::Option(Box::new(Ty::Uint(64)))))
        );
        assert_eq!(
            p("(Address,u64)").unwrap(),
            Ty::Tuple(vec![Ty::Address, Ty::Uint(64)])
        );
        assert_eq!(p("[u8;32]").unwrap(), Ty::Array(Box::new(Ty::Uint(8)), 32));
        assert_eq!(p("chainvm_sdk::Address").unwrap(), Ty::Address);
        assert_eq!(p("Deal").unwrap(), Ty::Named(0));
        assert_eq!(p("Other").unwrap(), Ty::Unknown("Other".into()));
        assert_eq!(p("()").unwrap(), Ty::Tuple(vec![]));
        assert!(matches!(p("Vec<u8"), Err(AbiError::Malformed(_))));
        assert!(matches!(p("(,)"), Err(AbiError::Malformed(_))));
        assert!(matches!(p("[u8;x]"), Err(AbiError::Malformed(_))));
    }

    #[test]
    fn parsing_stops_at_the_limits() {
        let n = names(&[]);
        let deep = format!("{}u8{}", "Vec<".repeat(10_000), ">".repeat(10_000));
        assert_eq!(
            parse_ty(&deep, &n),
            Err(limit(LimitError::TypeDepth { ty: deep.clone() }))
        );
        let tuples = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches!(
            parse_ty(&tuples, &n),
            Err(AbiError::Limit(LimitError::TypeDepth { .. }))
        ));
        let ok = format!(
            "{}u8{}",
            "Vec<".repeat(MAX_TYPE_DEPTH - 1),
            ">".repeat(MAX_TYPE_DEPTH - 1)
        );
        assert!(parse_ty(&ok, &n).is_ok());
        for huge in [
            "[();1000000000000]",
            "[u8;99999999999999999999999999]",
            "[u8;65537]",
        ] {
            assert!(
                matches!(
                    parse_ty(huge, &n),
                    Err(AbiError::Limit(LimitError::ArrayLen { .. }))
                ),
                "{huge}"
            );
        }
        assert!(parse_ty("[u8;65536]", &n).is_ok());
    }
}
