//! Encoding JSON to borsh along a resolved type tree ([`super::types`]), parsed once when the
//! ABI was read.
//!
//! Recursion follows the type, never the value, and resolved types are finite and at most
//! [`MAX_TYPE_DEPTH`](super::limits::MAX_TYPE_DEPTH) deep, so encoding cannot overflow the
//! stack.

use super::types::{Body, RField, Resolved, Ty, tuple_like};
use super::{AbiError, json_kind};
use crate::types::parse_hex;
use serde_json::Value;

impl Resolved {
    fn wrong(&self, ty: &Ty, v: &Value, path: &str) -> AbiError {
        AbiError::WrongType {
            path: path.to_string(),
            expected: self.describe(ty),
            found: json_kind(v),
        }
    }

    /// Appends the borsh encoding of `v` as a `ty` to `out`; `path` names `v` in errors.
    pub(crate) fn encode_value(
        &self,
        ty: &Ty,
        v: &Value,
        path: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), AbiError> {
        let wrong = || self.wrong(ty, v, path);
        match ty {
            Ty::Bool => out.push(v.as_bool().ok_or_else(wrong)? as u8),
            Ty::Uint(bits) => {
                let n: u128 = match v {
                    Value::Number(n) => n.as_u64().map(u128::from),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .filter(|n| *bits == 128 || *n < (1u128 << bits))
                .ok_or_else(wrong)?;
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
                .ok_or_else(wrong)?;
                out.extend_from_slice(&n.to_le_bytes()[..(*bits / 8) as usize]);
            }
            Ty::Str => {
                let s = v.as_str().ok_or_else(wrong)?;
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Ty::Address => {
                let b = v
                    .as_str()
                    .and_then(parse_hex)
                    .filter(|b| b.len() == 20)
                    .ok_or_else(wrong)?;
                out.extend_from_slice(&b);
            }
            Ty::Vec(inner) if **inner == Ty::Uint(8) && v.is_string() => {
                let b = v.as_str().and_then(parse_hex).ok_or_else(wrong)?;
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(&b);
            }
            Ty::Vec(inner) => {
                let a = v.as_array().ok_or_else(wrong)?;
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
                    .ok_or_else(wrong)?;
                out.extend_from_slice(&b);
            }
            Ty::Array(inner, n) => {
                let a = v.as_array().filter(|a| a.len() == *n).ok_or_else(wrong)?;
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
                    .ok_or_else(wrong)?;
                for (i, (t, x)) in items.iter().zip(a).enumerate() {
                    self.encode_value(t, x, &format!("{path}.{i}"), out)?;
                }
            }
            Ty::Unknown(name) => return Err(AbiError::UnknownType(name.clone())),
            Ty::Invalid(msg) => return Err(AbiError::Malformed(msg.clone())),
            Ty::Named(id) => match self.defs.get(*id).map(|d| &d.body) {
                None => return Err(wrong()),
                Some(Body::Struct(fields)) => self.encode_fields(fields, v, path, ty, out)?,
                Some(Body::Enum(variants)) => {
                    let (vname, inner) = match v {
                        Value::String(s) => (s.as_str(), &Value::Null),
                        Value::Object(o) if o.len() == 1 => {
                            let (k, x) = o.iter().next().ok_or_else(wrong)?;
                            (k.as_str(), x)
                        }
                        _ => return Err(wrong()),
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
        fields: &[RField],
        v: &Value,
        path: &str,
        ty: &Ty,
        out: &mut Vec<u8>,
    ) -> Result<(), AbiError> {
        let tuple = tuple_like(fields);
        match v {
            Value::Object(o) if !tuple => {
                if let Some((extra, x)) = o
                    .iter()
                    .find(|(k, _)| !fields.iter().any(|f| &f.name == *k))
                {
                    return Err(AbiError::WrongType {
                        path: format!("{path}.{extra}"),
                        expected: "no such field".into(),
                        found: json_kind(x),
                    });
                }
                for f in fields {
                    let x = o.get(&f.name).unwrap_or(&Value::Null);
                    if x.is_null() && !matches!(f.ty, Ty::Option(_)) {
                        return Err(AbiError::WrongType {
                            path: format!("{path}.{}", f.name),
                            expected: self.describe(&f.ty),
                            found: "nothing".into(),
                        });
                    }
                    self.encode_value(&f.ty, x, &format!("{path}.{}", f.name), out)?;
                }
                Ok(())
            }
            Value::Array(a) if a.len() == fields.len() => {
                for (f, x) in fields.iter().zip(a) {
                    self.encode_value(&f.ty, x, &format!("{path}.{}", f.name), out)?;
                }
                Ok(())
            }
            x if tuple && fields.len() == 1 => self.encode_value(&fields[0].ty, x, path, out),
            _ => Err(self.wrong(ty, v, path)),
        }
    }
}
