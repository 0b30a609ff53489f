//! Decoding borsh to JSON along a resolved type tree ([`super::types`]), parsed once when the
//! ABI was read.
//!
//! Recursion follows the type, never the value, and resolved types are finite and at most
//! [`MAX_TYPE_DEPTH`](super::limits::MAX_TYPE_DEPTH) deep, so decoding cannot overflow the
//! stack. It charges every JSON value it builds against a [`Budget`] of
//! [`MAX_DECODED_BYTES`], never allocates for a length prefix before the data for it has been
//! seen, and refuses a prefix whose elements cannot fit the bytes left.

use super::limits::MAX_DECODED_BYTES;
use super::shape::cost;
use super::types::{Body, RField, Resolved, Ty, tuple_like};
use crate::types::hex;
use serde_json::{Map, Value, json};

/// Elements reserved up front for a `Vec`; more grow as they are decoded.
const PREALLOCATE: usize = 1024;

/// Why a value did not decode.
#[derive(Debug)]
pub(crate) enum DecodeFail {
    /// The bytes are not a value of the type.
    Data(String),
    /// The JSON would exceed [`MAX_DECODED_BYTES`].
    Budget,
}

impl From<String> for DecodeFail {
    fn from(s: String) -> Self {
        DecodeFail::Data(s)
    }
}

/// What is left of [`MAX_DECODED_BYTES`] for one decoded value.
pub(crate) struct Budget(u64);

impl Budget {
    /// A full budget.
    pub(crate) fn new() -> Budget {
        Budget(MAX_DECODED_BYTES as u64)
    }

    fn charge(&mut self, n: u64) -> Result<(), DecodeFail> {
        self.0 = self.0.checked_sub(n).ok_or(DecodeFail::Budget)?;
        Ok(())
    }

    /// Gives back a charge made only to check that it fits (the elements charge themselves).
    fn refund(&mut self, n: u64) {
        self.0 = self.0.saturating_add(n);
    }
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeFail> {
    if r.len() < n {
        return Err(DecodeFail::Data("unexpected end of data".into()));
    }
    let (a, b) = r.split_at(n);
    *r = b;
    Ok(a)
}

fn byte(r: &mut &[u8]) -> Result<u8, DecodeFail> {
    Ok(take(r, 1)?[0])
}

fn len(r: &mut &[u8]) -> Result<usize, DecodeFail> {
    let b = take(r, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

impl Resolved {
    /// Decodes one `ty` from the front of `r`, charging the JSON it builds to `budget`.
    pub(crate) fn decode_value(
        &self,
        ty: &Ty,
        r: &mut &[u8],
        budget: &mut Budget,
    ) -> Result<Value, DecodeFail> {
        Ok(match ty {
            Ty::Bool => {
                budget.charge(cost::BOOL)?;
                match byte(r)? {
                    0 => Value::Bool(false),
                    1 => Value::Bool(true),
                    b => return Err(format!("invalid bool {b}").into()),
                }
            }
            Ty::Uint(bits) => {
                budget.charge(cost::int(*bits))?;
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
                budget.charge(cost::int(*bits))?;
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
                budget.charge(cost::string(n as u64))?;
                Value::String(
                    String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8".to_string())?,
                )
            }
            Ty::Address => {
                budget.charge(cost::ADDRESS)?;
                Value::String(hex(take(r, 20)?))
            }
            Ty::Vec(inner) if **inner == Ty::Uint(8) => {
                let n = len(r)?;
                let b = take(r, n)?;
                budget.charge(cost::hex(n as u64))?;
                Value::String(hex(b))
            }
            Ty::Vec(inner) => {
                let n = len(r)?;
                let shape = self.shape(inner);
                let need = (n as u64).saturating_mul(shape.min_bytes);
                if need > r.len() as u64 {
                    return Err(format!(
                        "length prefix {n} needs at least {need} bytes, {} left",
                        r.len()
                    )
                    .into());
                }
                // Every element charges at least this much: refuse the whole vector up front
                // rather than decode elements of nothing (`Vec<()>`) until the budget runs out.
                let each = shape.min_json.saturating_add(cost::SEPARATOR);
                budget.charge(
                    (n as u64)
                        .saturating_mul(each)
                        .saturating_add(cost::CONTAINER),
                )?;
                budget.refund((n as u64).saturating_mul(each));
                let mut a = Vec::with_capacity(n.min(PREALLOCATE));
                for _ in 0..n {
                    budget.charge(cost::SEPARATOR)?;
                    a.push(self.decode_value(inner, r, budget)?);
                }
                Value::Array(a)
            }
            Ty::Array(inner, n) if **inner == Ty::Uint(8) => {
                let b = take(r, *n)?;
                budget.charge(cost::hex(*n as u64))?;
                Value::String(hex(b))
            }
            Ty::Array(inner, n) => {
                budget.charge(cost::CONTAINER)?;
                let mut a = Vec::with_capacity((*n).min(PREALLOCATE));
                for _ in 0..*n {
                    budget.charge(cost::SEPARATOR)?;
                    a.push(self.decode_value(inner, r, budget)?);
                }
                Value::Array(a)
            }
            Ty::Option(inner) => match byte(r)? {
                0 => {
                    budget.charge(cost::NULL)?;
                    Value::Null
                }
                1 => self.decode_value(inner, r, budget)?,
                b => return Err(format!("invalid option tag {b}").into()),
            },
            Ty::Tuple(items) => {
                budget.charge(cost::CONTAINER)?;
                let mut a = Vec::with_capacity(items.len());
                for t in items {
                    budget.charge(cost::SEPARATOR)?;
                    a.push(self.decode_value(t, r, budget)?);
                }
                Value::Array(a)
            }
            Ty::Unknown(name) => return Err(format!("type `{name}` is not in the ABI").into()),
            Ty::Invalid(msg) => return Err(msg.clone().into()),
            Ty::Named(id) => {
                let def = self
                    .defs
                    .get(*id)
                    .ok_or_else(|| "type is not in the ABI".to_string())?;
                match &def.body {
                    Body::Struct(fields) => self.decode_fields(fields, r, budget)?,
                    Body::Enum(variants) => {
                        let idx = byte(r)? as usize;
                        let v = variants
                            .get(idx)
                            .ok_or_else(|| format!("invalid variant {idx} of {}", def.name))?;
                        if v.fields.is_empty() {
                            budget.charge(cost::string(v.name.len() as u64))?;
                            Value::String(v.name.clone())
                        } else {
                            budget.charge(cost::variant(v.name.len() as u64))?;
                            let mut o = Map::new();
                            o.insert(v.name.clone(), self.decode_fields(&v.fields, r, budget)?);
                            Value::Object(o)
                        }
                    }
                }
            }
        })
    }

    fn decode_fields(
        &self,
        fields: &[RField],
        r: &mut &[u8],
        budget: &mut Budget,
    ) -> Result<Value, DecodeFail> {
        let tuple = tuple_like(fields);
        if tuple && fields.len() == 1 {
            return self.decode_value(&fields[0].ty, r, budget);
        }
        budget.charge(cost::CONTAINER)?;
        if tuple {
            let mut a = Vec::with_capacity(fields.len());
            for f in fields {
                budget.charge(cost::SEPARATOR)?;
                a.push(self.decode_value(&f.ty, r, budget)?);
            }
            return Ok(Value::Array(a));
        }
        let mut o = Map::new();
        for f in fields {
            budget.charge((f.name.len() as u64).saturating_add(cost::KEY + cost::SEPARATOR))?;
            o.insert(f.name.clone(), self.decode_value(&f.ty, r, budget)?);
        }
        Ok(Value::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::types::parse_ty;
    use crate::abi::{Field, TypeDef};
    use std::collections::BTreeMap;

    #[test]
    fn the_budget_charges_at_least_the_json_it_builds() {
        let field = |n: &str, t: &str| Field {
            name: n.into(),
            ty: t.into(),
        };
        let mut types = BTreeMap::new();
        types.insert(
            "P".to_string(),
            TypeDef::Struct {
                name: "P".into(),
                fields: vec![
                    field("who", "Address"),
                    field("n", "i128"),
                    field("ok", "bool"),
                ],
            },
        );
        let r = Resolved::new(&[], &types).unwrap();
        let ty = parse_ty("(Vec<P>, Option<String>, [u8; 3], Vec<u16>)", &r.by_name).unwrap();
        let mut data = 2u32.to_le_bytes().to_vec();
        for i in 0..2u8 {
            data.extend([i; 20]);
            data.extend((-1i128).to_le_bytes());
            data.push(i);
        }
        data.extend([
            1, 2, 0, 0, 0, b'h', b'i', 7, 8, 9, 2, 0, 0, 0, 0xff, 0xff, 1, 0,
        ]);
        let mut budget = Budget::new();
        let mut r_data = data.as_slice();
        let v = r.decode_value(&ty, &mut r_data, &mut budget).unwrap();
        assert!(r_data.is_empty());
        let used = MAX_DECODED_BYTES as u64 - budget.0;
        let json = serde_json::to_string(&v).unwrap().len() as u64;
        assert!(
            used >= json && used < 2 * json,
            "charged {used} for {json} bytes: {v}"
        );
    }
}
