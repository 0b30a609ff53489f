//! Shapes of resolved types: nesting depth, the largest decoded size with every `Vec` and
//! `String` empty, the smallest decoded size and the smallest encoding. Computed once per named
//! type by a depth-first walk that refuses cycles, then used to check the limits when the ABI
//! is read and to refuse hostile length prefixes when values are decoded.

use super::AbiError;
use super::limits::{LimitError, MAX_DECODED_BYTES, MAX_TYPE_DEPTH};
use super::types::{Body, Def, DefId, RField, Resolved, Ty, tuple_like};

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
            min_json: self
                .min_json
                .saturating_add(s.min_json)
                .saturating_add(extra),
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
pub(crate) struct Shaper<'a> {
    defs: &'a [Def],
    marks: Vec<Mark>,
    stack: Vec<DefId>,
}

impl<'a> Shaper<'a> {
    /// A walk over `defs` with nothing visited yet.
    pub(crate) fn new(defs: &'a [Def]) -> Shaper<'a> {
        Shaper {
            defs,
            marks: vec![Mark::New; defs.len()],
            stack: Vec::new(),
        }
    }

    /// The shape of named type `id`, within the limits; a cycle through it is an error.
    pub(crate) fn def(&mut self, id: DefId) -> Result<Shape, AbiError> {
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
                return Err(AbiError::Limit(LimitError::Recursive {
                    name: d.name.clone(),
                    path: path.join(" -> "),
                }));
            }
            Mark::New => {}
        }
        if self.stack.len() >= MAX_TYPE_DEPTH {
            return Err(AbiError::Limit(LimitError::TypeDepth {
                ty: d.name.clone(),
            }));
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
pub(crate) fn check(ty: &str, s: Shape) -> Result<(), AbiError> {
    if s.depth > MAX_TYPE_DEPTH {
        return Err(AbiError::Limit(LimitError::TypeDepth {
            ty: ty.to_string(),
        }));
    }
    if s.fixed > MAX_DECODED_BYTES as u64 {
        return Err(AbiError::Limit(LimitError::FixedSize {
            ty: ty.to_string(),
            size: s.fixed,
        }));
    }
    Ok(())
}

impl Resolved {
    /// The shape of a resolved type.
    pub(crate) fn shape(&self, ty: &Ty) -> Shape {
        shape_with(ty, &mut |i| {
            Ok(self.defs.get(i).map(|d| d.shape).unwrap_or_default())
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::parse_ty;
    use std::collections::BTreeMap;

    #[test]
    fn shapes_bound_depth_fixed_size_and_minimal_encoding() {
        let r = Resolved::default();
        let names = BTreeMap::new();
        let s = r.shape(&parse_ty("Option<[u64;4]>", &names).unwrap());
        assert_eq!(s.depth, 3);
        assert_eq!(s.fixed, 2 + 4 * (cost::int(64) + 1));
        assert_eq!(s.min_json, cost::NULL);
        assert_eq!(s.min_bytes, 1);
        let s = r.shape(&parse_ty("[();1000]", &names).unwrap());
        assert_eq!((s.min_bytes, s.min_json), (0, 2 + 1000 * 3));
        let s = r.shape(&parse_ty("(u128,[u8;32],Vec<u8>,String)", &names).unwrap());
        assert_eq!(s.min_bytes, 16 + 32 + 4 + 4);
        assert_eq!(s.depth, 3);
    }
}
