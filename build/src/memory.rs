//! How much initial memory a contract asks for, against what the contract profile would give.
//!
//! Every initial memory page costs gas on every call. rustc's default 1 MiB shadow stack
//! makes a contract start at 17 pages where the profile's 64 KiB stack gives 2: about 2M gas
//! per call for nothing. The check reads the memory section and the active data segments.

use crate::STACK_BYTES;
use std::fmt;
use wasmparser::{DataKind, Operator, Parser, Payload};

const PAGE: u64 = 65_536;

/// The initial memory of a contract and what the profile would start it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryFootprint {
    /// Initial pages the module declares.
    pub initial_pages: u64,
    /// Bytes from the lowest to the highest byte of its active data segments.
    pub data_span: u64,
    /// Pages the same data needs with the profile's shadow stack in front of it.
    pub profile_pages: u64,
}

impl MemoryFootprint {
    /// Reads the footprint of `wasm`. `None` when it defines no memory (or cannot be read:
    /// deployment reports malformed code itself).
    pub fn of(wasm: &[u8]) -> Option<MemoryFootprint> {
        let mut initial = None;
        let (mut lo, mut hi) = (u64::MAX, 0u64);
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.ok()? {
                Payload::MemorySection(r) => {
                    initial = r.into_iter().next()?.ok().map(|m| m.initial);
                }
                Payload::DataSection(r) => {
                    for d in r {
                        let d = d.ok()?;
                        if let DataKind::Active { offset_expr, .. } = d.kind {
                            let mut ops = offset_expr.get_operators_reader();
                            if let Ok(Operator::I32Const { value }) = ops.read() {
                                let start = u64::from(value as u32);
                                lo = lo.min(start);
                                hi = hi.max(start + d.data.len() as u64);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let initial_pages = initial?;
        let data_span = hi.saturating_sub(lo.min(hi));
        let profile_pages = (u64::from(STACK_BYTES) + data_span).div_ceil(PAGE).max(1);
        Some(MemoryFootprint {
            initial_pages,
            data_span,
            profile_pages,
        })
    }

    /// Whether the contract starts with more memory than the profile would give it.
    pub fn oversized(&self) -> bool {
        self.initial_pages > self.profile_pages
    }

    /// The warning to print for an oversized contract, given the gas one page costs.
    pub fn warning(&self, page_gas: u64) -> Option<MemoryWarning> {
        self.oversized().then(|| MemoryWarning {
            footprint: self.clone(),
            page_gas,
        })
    }
}

/// A contract starts with more memory than it needs: what it costs and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryWarning {
    /// The footprint found.
    pub footprint: MemoryFootprint,
    /// Gas per page in the chain's schedule.
    pub page_gas: u64,
}

impl fmt::Display for MemoryWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.footprint;
        write!(
            f,
            "it starts with {} memory pages ({} KiB), so every call pays {} gas for memory; \
             built with chainvm's contract profile (a {} KiB shadow stack) it would start \
             with {} ({} gas). Build it with `chainvm build`, or link with \
             `-C link-arg=-zstack-size={}`",
            m.initial_pages,
            m.initial_pages * 64,
            group(m.initial_pages * self.page_gas),
            STACK_BYTES / 1024,
            m.profile_pages,
            group(m.profile_pages * self.page_gas),
            STACK_BYTES,
        )
    }
}

/// `2359296` as `2,359,296`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(pages: u32, data_at: u32, len: usize) -> Vec<u8> {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") {pages})
                (data (i32.const {data_at}) "{}"))"#,
            "x".repeat(len)
        ))
        .unwrap()
    }

    #[test]
    fn a_one_mib_stack_is_flagged_with_its_cost_and_the_fix() {
        // rustc's default layout: 1 MiB of stack, then the data.
        let m = MemoryFootprint::of(&module(17, 1 << 20, 3000)).unwrap();
        assert_eq!(
            (m.initial_pages, m.data_span, m.profile_pages),
            (17, 3000, 2)
        );
        let w = m.warning(131_072).unwrap().to_string();
        assert!(w.contains("17 memory pages"), "{w}");
        assert!(w.contains("2,228,224 gas"), "{w}");
        assert!(w.contains("start with 2 (262,144 gas)"), "{w}");
        assert!(w.contains("chainvm build"), "{w}");
    }

    #[test]
    fn the_profile_layout_passes() {
        let m = MemoryFootprint::of(&module(2, 65_536, 3000)).unwrap();
        assert!(!m.oversized());
        assert!(m.warning(131_072).is_none());
        // No data at all: one page is what the stack needs.
        let bare = wat::parse_str(r#"(module (memory 1))"#).unwrap();
        assert_eq!(MemoryFootprint::of(&bare).unwrap().profile_pages, 1);
        assert!(MemoryFootprint::of(b"not wasm").is_none());
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(2_359_296), "2,359,296");
    }
}
