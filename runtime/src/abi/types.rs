//! The ABI's type strings parsed once, when the ABI is read, into a resolved type tree, with
//! every limit of [`super::limits`] checked on the way.
//!
//! Named types (structs, enums, events) are referenced by index into one table rather than
//! inlined, so a chain of types that each use the previous one twice stays linear in size.
//! Every definition gets a [`Shape`] (depth, largest fixed decoded size, smallest encoding),
//! computed by a depth-first walk that refuses cycles; so the tree the encoder and decoder walk
//! is finite and at most [`MAX_TYPE_DEPTH`] deep.

use super::limits::{LimitError, MAX_ARRAY_LEN, MAX_DECODED_BYTES, MAX_TYPE_DEPTH};
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

/// Sizes of a type that bound the work of encoding and decoding its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Shape {
    /// Nesting depth (a primitive is 1).
    pub depth: usize,
    /// JSON bytes of its largest value with every `Vec` and `String` empty (see [`cost`]).
    pub fixed: u64,
    /// JSON bytes of its smallest value: what decoding one always charges at least.
    pub min_json: u64,
    /// Fewest borsh bytes a value takes.
    pub min_bytes: u64,
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

/// JSON text sizes charged for decoded values, shared by the read-time [`Shape::fixed`] and
/// the decoder's budget so that the two agree.
pub(crate) mod cost {
    /// `null`.
    pub const NULL: u64 = 4;
    /// `false`.
    pub const BOOL: u64 = 5;
    /// An integer of `bits` bits (signed or not): its most decimal digits and sign, plus the
    /// quotes of a 128-bit one (a decimal string).
    pub fn int(bits: u32) -> u64 {
        match bits {
            8 => 4,
            16 => 6,
            32 => 11,
            64 => 20,
            _ => 42,
        }
    }
    /// A quoted `0x` + 40 hex digits.
    pub const ADDRESS: u64 = 44;
    /// `[]` or `{}`; each element adds its own size and a separator.
    pub const CONTAINER: u64 = 2;
    /// The separator after each element.
    pub const SEPARATOR: u64 = 1;
    /// The quotes around a string.
    pub const QUOTES: u64 = 2;
    /// A quoted object key's quotes and colon.
    pub const KEY: u64 = 3;

    /// An enum variant with fields, `{"Name": ...}`, without the fields.
    pub fn variant(name_len: u64) -> u64 {
        name_len.saturating_add(CONTAINER + KEY)
    }

    /// A string of `n` bytes.
    pub fn string(n: u64) -> u64 {
        n.saturating_add(QUOTES)
    }

    /// `n` bytes as quoted `0x` hex.
    pub fn hex(n: u64) -> u64 {
        n.saturating_mul(2).saturating_add(QUOTES + 2)
    }
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

/// The shape of `ty`, with named types' shapes from `def`.
pub(crate) fn shape_with(
    ty: &Ty,
    def: &mut dyn FnMut(DefId) -> Result<Shape, AbiError>,
) -> Result<Shape, AbiError> {
    let leaf = |json, min_bytes| Shape {
        depth: 1,
        fixed: json,
        min_json: json,
        min_bytes,
    };
    Ok(match ty {
        Ty::Bool => leaf(cost::BOOL, 1),
        Ty::Uint(b) | Ty::Int(b) => leaf(cost::int(*b), u64::from(*b / 8)),
        Ty::Str => leaf(cost::string(0), 4),
        Ty::Address => leaf(cost::ADDRESS, 20),
        Ty::Unknown(_) | Ty::Invalid(_) => leaf(0, 0),
        Ty::Vec(inner) => {
            let s = shape_with(inner, def)?;
            let empty = if **inner == Ty::Uint(8) {
                cost::hex(0)
            } else {
                cost::CONTAINER
            };
            Shape {
                depth: s.depth + 1,
                ..leaf(empty, 4)
            }
        }
        Ty::Option(inner) => {
            let s = shape_with(inner, def)?;
            Shape {
                depth: s.depth + 1,
                fixed: s.fixed.max(cost::NULL),
                min_json: s.min_json.min(cost::NULL),
                min_bytes: 1,
            }
        }
        Ty::Array(inner, n) => {
            let s = shape_with(inner, def)?;
            let n = *n as u64;
            let (fixed, min_json) = if **inner == Ty::Uint(8) {
                (cost::hex(n), cost::hex(n))
            } else {
                let each = |x: u64| {
                    n.saturating_mul(x.saturating_add(cost::SEPARATOR))
                        .saturating_add(cost::CONTAINER)
                };
                (each(s.fixed), each(s.min_json))
            };
            Shape {
                depth: s.depth + 1,
                fixed,
                min_json,
                min_bytes: n.saturating_mul(s.min_bytes),
            }
        }
        Ty::Tuple(items) => {
            let mut out = leaf(cost::CONTAINER, 0);
            for t in items {
                out = out.then(shape_with(t, def)?, cost::SEPARATOR);
            }
            out
        }
        Ty::Named(id) => def(*id)?,
    })
}

impl Shape {
    /// This sequence (a tuple, struct or variant so far) followed by an element of shape `s`,
    /// with `extra` JSON bytes around it (separator, key).
    fn then(self, s: Shape, extra: u64) -> Shape {
        Shape {
            depth: self.depth.max(s.depth + 1),
            fixed: self.fixed.saturating_add(s.fixed).saturating_add(extra),
            min_json: self.min_json.saturating_add(s.min_json).saturating_add(extra),
            min_bytes: self.min_bytes.saturating_add(s.min_bytes),
        }
    }
}

/// The shape of a list of fields (a struct, event or variant body), one level deep.
fn fields_shape(
    fs: &[RField],
    def: &mut dyn FnMut(DefId) -> Result<Shape, AbiError>,
) -> Result<Shape, AbiError> {
    if let [f] = fs
        && tuple_like(fs)
    {
        // A one-field tuple struct is its field, one level deeper.
        let s = shape_with(&f.ty, def)?;
        return Ok(Shape {
            depth: s.depth + 1,
            ..s
        });
    }
    let mut out = Shape {
        depth: 1,
        fixed: cost::CONTAINER,
        min_json: cost::CONTAINER,
        min_bytes: 0,
    };
    for f in fs {
        let key = if tuple_like(fs) {
            0
        } else {
            (f.name.len() as u64).saturating_add(cost::KEY)
        };
        out = out.then(shape_with(&f.ty, def)?, key.saturating_add(cost::SEPARATOR));
    }
    Ok(out)
}

/// The shape of a named type's body.
fn body_shape(
    body: &Body,
    def: &mut dyn FnMut(DefId) -> Result<Shape, AbiError>,
) -> Result<Shape, AbiError> {
    let vs = match body {
        Body::Struct(fs) => return fields_shape(fs, def),
        Body::Enum(vs) => vs,
    };
    let mut out: Option<Shape> = None;
    for v in vs {
        let s = if v.fields.is_empty() {
            let json = cost::string(v.name.len() as u64);
            Shape {
                depth: 1,
                fixed: json,
                min_json: json,
                min_bytes: 0,
            }
        } else {
            let s = fields_shape(&v.fields, def)?;
            let key = cost::variant(v.name.len() as u64);
            Shape {
                fixed: key.saturating_add(s.fixed),
                min_json: key.saturating_add(s.min_json),
                ..s
            }
        };
        out = Some(match out {
            None => s,
            Some(o) => Shape {
                depth: o.depth.max(s.depth),
                fixed: o.fixed.max(s.fixed),
                min_json: o.min_json.min(s.min_json),
                min_bytes: o.min_bytes.min(s.min_bytes),
            },
        });
    }
    // Plus the tag byte. An enum without variants has no values; it reads as the tag alone.
    let s = out.unwrap_or(Shape {
        depth: 1,
        ..Shape::default()
    });
    Ok(Shape {
        min_bytes: s.min_bytes.saturating_add(1),
        ..s
    })
}

/// Where each named type is in the depth-first walk.
#[derive(Clone, Copy)]
enum Mark {
    New,
    Open,
    Done(Shape),
}

/// The depth-first walk over named types that computes their shapes and refuses cycles.
struct Shaper<'a> {
    defs: &'a [Def],
    marks: Vec<Mark>,
    stack: Vec<DefId>,
}

impl Shaper<'_> {
    fn def(&mut self, id: DefId) -> Result<Shape, AbiError> {
        let defs = self.defs;
        let d = &defs[id];
        match self.marks[id] {
            Mark::Done(s) => return Ok(s),
            Mark::Open => {
                let from = self.stack.iter().position(|x| *x == id).unwrap_or(0);
                let mut path: Vec<&str> = self.stack[from..]
                    .iter()
                    .map(|i| defs[*i].name.as_str())
                    .collect();
                path.push(&d.name);
                return Err(limit(LimitError::Recursive {
                    name: d.name.clone(),
                    path: path.join(" -> "),
                }));
            }
            Mark::New => {}
        }
        if self.stack.len() >= MAX_TYPE_DEPTH {
            return Err(limit(LimitError::TypeDepth { ty: d.name.clone() }));
        }
        self.marks[id] = Mark::Open;
        self.stack.push(id);
        let s = body_shape(&d.body, &mut |i| self.def(i))?;
        self.stack.pop();
        check(&d.name, s)?;
        self.marks[id] = Mark::Done(s);
        Ok(s)
    }
}

/// A shape within the depth and fixed-size limits.
fn check(ty: &str, s: Shape) -> Result<(), AbiError> {
    if s.depth > MAX_TYPE_DEPTH {
        return Err(limit(LimitError::TypeDepth { ty: ty.to_string() }));
    }
    if s.fixed > MAX_DECODED_BYTES as u64 {
        return Err(limit(LimitError::FixedSize {
            ty: ty.to_string(),
            size: s.fixed,
        }));
    }
    Ok(())
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
        let mut shaper = Shaper {
            defs: &defs,
            marks: vec![Mark::New; defs.len()],
            stack: Vec::new(),
        };
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

    /// The shape of a resolved type.
    pub(crate) fn shape(&self, ty: &Ty) -> Shape {
        shape_with(ty, &mut |i| Ok(self.defs.get(i).map(|d| d.shape).unwrap_or_default()))
            .unwrap_or_default()
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
            Ty::Named(id) => format!(
                "a {}",
                self.defs.get(*id).map_or("?", |d| d.name.as_str())
            ),
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
        let ok = format!("{}u8{}", "Vec<".repeat(MAX_TYPE_DEPTH - 1), ">".repeat(MAX_TYPE_DEPTH - 1));
        assert!(parse_ty(&ok, &n).is_ok());
        for huge in ["[();1000000000000]", "[u8;99999999999999999999999999]", "[u8;65537]"] {
            assert!(
                matches!(parse_ty(huge, &n), Err(AbiError::Limit(LimitError::ArrayLen { .. }))),
                "{huge}"
            );
        }
        assert!(parse_ty("[u8;65536]", &n).is_ok());
    }

    #[test]
    fn shapes_bound_depth_fixed_size_and_minimal_encoding() {
        let r = Resolved::default();
        let s = r.shape(&parse_ty("Option<[u64;4]>", &names(&[])).unwrap());
        assert_eq!(s.depth, 3);
        assert_eq!(s.fixed, 2 + 4 * (cost::int(64) + 1));
        assert_eq!(s.min_json, cost::NULL);
        assert_eq!(s.min_bytes, 1);
        let s = r.shape(&parse_ty("[();1000]", &names(&[])).unwrap());
        assert_eq!((s.min_bytes, s.min_json), (0, 2 + 1000 * 3));
        let s = r.shape(&parse_ty("(u128,[u8;32],Vec<u8>,String)", &names(&[])).unwrap());
        assert_eq!(s.min_bytes, 16 + 32 + 4 + 4);
        assert_eq!(s.depth, 3);
    }
}
