//! Gas profiles: where one execution's gas went, by call stack of the deployed code.
//!
//! A profile is produced by a profiled run ([`crate::Vm::execute_profiled`] on a build from
//! [`crate::Vm::load_profiling`]); it never reaches consensus data. Its JSON form (one
//! writer, serde) is a list of `{"stack": [...], "gas": n}` with frames as `{"func": 12}`,
//! `"loading"`, `"memory"`, `{"host": "storage_set"}` and `"intrinsic"`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One frame of a profiled call stack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Gas charged before any code ran (a transaction's intrinsic gas; added by the runtime).
    Intrinsic,
    /// Loading the module (base + per byte of code), charged on every call.
    Loading,
    /// Linear-memory pages: at the root for the initial pages, under a function for pages
    /// its code grew.
    Memory,
    /// A defined function, by its index in the original (deployed, un-instrumented) module's
    /// function index space, imports first: the name section of a byte-identical build names
    /// it.
    Func(u32),
    /// A host function, by import name. For `call_contract` this includes the callee's whole
    /// gas: nested calls are not profiled.
    Host(String),
}

/// Gas by call stack: each entry is the gas charged while exactly that stack (root first)
/// was on top ("self" gas), so the entries add up to the execution's gas used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<StackGas>", from = "Vec<StackGas>")]
pub struct GasProfile {
    /// Self gas of every stack that was charged any.
    pub stacks: BTreeMap<Vec<Frame>, u64>,
}

/// One entry of a profile's JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackGas {
    /// The stack, root first.
    pub stack: Vec<Frame>,
    /// Gas charged while it was on top.
    pub gas: u64,
}

impl From<GasProfile> for Vec<StackGas> {
    fn from(p: GasProfile) -> Self {
        p.stacks
            .into_iter()
            .map(|(stack, gas)| StackGas { stack, gas })
            .collect()
    }
}

impl From<Vec<StackGas>> for GasProfile {
    /// Entries naming the same stack add up.
    fn from(entries: Vec<StackGas>) -> Self {
        let mut p = GasProfile::default();
        for e in entries {
            p.add(e.stack, e.gas);
        }
        p
    }
}

impl GasProfile {
    /// Sum of every stack's gas: the execution's gas used.
    pub fn total(&self) -> u64 {
        self.stacks
            .values()
            .fold(0u64, |sum, g| sum.saturating_add(*g))
    }

    /// Adds `gas` to `stack` (nothing if `gas` is 0, so every entry is charged some gas).
    pub fn add(&mut self, stack: Vec<Frame>, gas: u64) {
        if gas > 0 {
            let e = self.stacks.entry(stack).or_default();
            *e = e.saturating_add(gas);
        }
    }

    /// The gas of `stack` itself and of every stack below it (its "total" gas).
    pub fn inclusive(&self, stack: &[Frame]) -> u64 {
        self.stacks
            .iter()
            .filter(|(s, _)| s.starts_with(stack))
            .fold(0u64, |sum, (_, g)| sum.saturating_add(*g))
    }

    /// The stack charged the most self gas (the first in stack order on a tie).
    pub fn heaviest(&self) -> Option<(&[Frame], u64)> {
        self.stacks
            .iter()
            .fold(None, |best: Option<(&[Frame], u64)>, (s, g)| match best {
                Some((_, b)) if b >= *g => best,
                _ => Some((s.as_slice(), *g)),
            })
    }

    /// Self gas by frame kind and function: total gas per leaf frame (what a "top functions"
    /// table shows).
    pub fn by_leaf(&self) -> BTreeMap<Frame, u64> {
        let mut out: BTreeMap<Frame, u64> = BTreeMap::new();
        for (s, g) in &self.stacks {
            if let Some(leaf) = s.last() {
                let e = out.entry(leaf.clone()).or_default();
                *e = e.saturating_add(*g);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_list_of_stacks_with_tagged_frames_and_round_trips() {
        let mut p = GasProfile::default();
        p.add(vec![Frame::Intrinsic], 21_000);
        p.add(vec![Frame::Loading], 100);
        p.add(vec![Frame::Func(3), Frame::Host("storage_set".into())], 7);
        p.add(vec![Frame::Func(3), Frame::Memory], 5);
        p.add(vec![Frame::Func(3)], 0);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"stack": ["intrinsic"], "gas": 21000},
                {"stack": ["loading"], "gas": 100},
                {"stack": [{"func": 3}, "memory"], "gas": 5},
                {"stack": [{"func": 3}, {"host": "storage_set"}], "gas": 7},
            ])
        );
        let back: GasProfile = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        assert_eq!(p.total(), 21_112);
        assert_eq!(p.inclusive(&[Frame::Func(3)]), 12);
        assert_eq!(p.heaviest().unwrap().1, 21_000);
        assert_eq!(p.by_leaf()[&Frame::Memory], 5);
    }
}
