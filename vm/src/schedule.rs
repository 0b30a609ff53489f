//! The gas schedule: what every operator, host call, memory page and byte of code costs.
//!
//! One gas unit is one wasmtime fuel unit. A simple integer op costs 4 so that per-byte costs
//! (at least 1) can be a fraction of an op. The schedule is versioned and serialisable; its
//! version and fingerprint are part of every compiled-artifact cache key, because wasmtime
//! bakes operator costs into compiled code.

use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use wasmtime::OperatorCost;

/// Flat costs per class of wasm operator. Each value is a wasmtime `u8` fuel cost.
///
/// Classes follow how much native work an operator does on Cranelift (see
/// `docs/design.md` appendix A.3); `block`, `end`, `else`, `nop`, `drop`,
/// `return` and `unreachable` generate no code and stay free.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OperatorCosts {
    /// `*.const`, `local.*`, `global.*`.
    pub local: u8,
    /// Integer add/sub/logic/shift/compare/extend/wrap, `select`.
    pub alu: u8,
    /// `i32.mul`, `i64.mul`.
    pub mul: u8,
    /// Integer division and remainder.
    pub div_rem: u8,
    /// Every `*.load*`.
    pub load: u8,
    /// Every `*.store*`.
    pub store: u8,
    /// `br`, `br_if`, `br_table`, `if`.
    pub branch: u8,
    /// `loop` (pays for the fuel check at every iteration).
    pub loop_header: u8,
    /// Direct `call`.
    pub call: u8,
    /// `call_indirect`.
    pub call_indirect: u8,
    /// `memory.size`.
    pub memory_size: u8,
    /// `memory.grow`, flat; pages are charged by the resource limiter.
    pub memory_grow: u8,
    /// Flat part of `memory.copy` and `memory.fill`.
    pub bulk_base: u8,
    /// Float add/sub/mul/compare/min/max/abs/neg/copysign/rounding.
    pub float: u8,
    /// Float division and square root.
    pub float_heavy: u8,
    /// Conversions between floats and integers, reinterpretations.
    pub float_convert: u8,
}

/// Costs that scale with a runtime quantity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryCosts {
    /// Per byte copied by `memory.copy`.
    pub copy_per_byte: u8,
    /// Per byte written by `memory.fill`.
    pub fill_per_byte: u8,
    /// Per 64 KiB page of linear memory, initial or grown, charged by the resource limiter
    /// only for growth that succeeds.
    pub per_page: u64,
}

/// Cost of making a contract ready to run, charged on every call whether or not the compiled
/// module is cached, so the cache never shows in gas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoadCosts {
    /// Flat cost per instantiation.
    pub base: u64,
    /// Per byte of the contract's original wasm.
    pub per_byte: u64,
}

/// Costs of host functions: a base cost on every import call, charged before anything else,
/// plus per-byte costs charged before any guest memory is read or written.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostCosts {
    /// Charged on entry to every host function.
    pub base: u64,
    /// Per byte read from guest memory.
    pub read_per_byte: u64,
    /// Per byte written to guest memory.
    pub write_per_byte: u64,
    /// Storage read, flat; also charged by `balance`, which reads an account record.
    pub storage_read: u64,
    /// Storage read, per byte of key and of value found.
    pub storage_read_per_byte: u64,
    /// Storage write, flat.
    pub storage_write: u64,
    /// Storage write, per byte of key and value written (state growth is the expensive
    /// resource).
    pub storage_write_per_byte: u64,
    /// Storage remove, flat.
    pub storage_remove: u64,
    /// Storage presence check, flat.
    pub storage_has: u64,
    /// Event emission, flat.
    pub event: u64,
    /// Event emission, per byte of topic and data.
    pub event_per_byte: u64,
    /// keccak256, flat.
    pub keccak: u64,
    /// keccak256, per byte hashed.
    pub keccak_per_byte: u64,
    /// Value transfer out of the contract, flat.
    pub transfer: u64,
    /// Cross-contract call, flat (the callee's own gas is charged on top).
    pub call_contract: u64,
}

/// The complete, versioned gas schedule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GasSchedule {
    /// Bumped on every change; part of every compiled-artifact cache key.
    pub version: u32,
    /// Flat operator costs by class.
    pub ops: OperatorCosts,
    /// Bulk-memory and memory-growth costs.
    pub memory: MemoryCosts,
    /// Module loading costs.
    pub load: LoadCosts,
    /// Host-call costs.
    pub host: HostCosts,
}

impl Default for GasSchedule {
    /// Version 4: the costs of version 3. It marks a protocol change in what contracts
    /// spend: the SDK's bump allocator now starts at `__heap_base` inside the initial memory
    /// instead of growing memory on every call's first allocation, which changes the sample
    /// contracts' bytecode and saves most calls one page (131,072 gas); and instantiation
    /// never spends fuel (data segments are paid for by the load's per-byte cost), whether or
    /// not wasmtime has a copy-on-write memory image for the module.
    ///
    /// Version 3: the costs of version 2; what is charged changes in two places. A failed
    /// `call_contract` hands the caller only the callee's return data (its typed error, or
    /// nothing) instead of an error message, so reading it with `return_data` costs
    /// `write_per_byte` on those bytes only; and an `emit_event` past the transaction's or
    /// block's event-byte cap (chain parameters) ends the call with measured gas.
    ///
    /// Version 2: version 1 re-priced from the calibration in `BENCHMARKS.md`
    /// (`cargo bench -p chainvm-bench -- calibrate`): loads, multiplication, division, branches,
    /// calls, bulk-memory base, floats, the host-call base, keccak and `balance` were at or
    /// above 2x the median ns/gas; storage writes and removals are priced on their
    /// end-to-end cost (tree update and durable commit included).
    fn default() -> Self {
        GasSchedule {
            version: 4,
            ops: OperatorCosts {
                local: 2,
                alu: 4,
                mul: 10,
                div_rem: 80,
                load: 14,
                store: 8,
                branch: 8,
                loop_header: 4,
                call: 70,
                call_indirect: 56,
                memory_size: 4,
                memory_grow: 255,
                bulk_base: 200,
                float: 30,
                float_heavy: 110,
                float_convert: 28,
            },
            memory: MemoryCosts {
                copy_per_byte: 1,
                fill_per_byte: 1,
                per_page: 131_072,
            },
            load: LoadCosts {
                base: 100_000,
                per_byte: 2,
            },
            host: HostCosts {
                base: 600,
                read_per_byte: 1,
                write_per_byte: 1,
                storage_read: 20_000,
                storage_read_per_byte: 20,
                storage_write: 250_000,
                storage_write_per_byte: 600,
                storage_remove: 500_000,
                storage_has: 15_000,
                event: 4_000,
                event_per_byte: 16,
                keccak: 6_000,
                keccak_per_byte: 45,
                transfer: 20_000,
                call_contract: 40_000,
            },
        }
    }
}

impl GasSchedule {
    /// keccak256 of the canonical JSON form: changes whenever any cost changes, even if
    /// someone forgot to bump `version`.
    pub fn fingerprint(&self) -> [u8; 32] {
        // Serialising plain structs of integers cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        Keccak256::digest(&json).into()
    }

    /// The flat cost class of a wasm operator, by its wasmparser name.
    fn op_cost(&self, name: &str) -> u8 {
        let o = &self.ops;
        match name {
            "Nop" | "Drop" | "Block" | "End" | "Else" | "Unreachable" | "Return" => 0,
            "Loop" => o.loop_header,
            "If" | "Br" | "BrIf" | "BrTable" => o.branch,
            "Call" => o.call,
            "CallIndirect" => o.call_indirect,
            "Select" | "TypedSelect" => o.alu,
            "LocalGet" | "LocalSet" | "LocalTee" | "GlobalGet" | "GlobalSet" | "I32Const"
            | "I64Const" | "F32Const" | "F64Const" => o.local,
            "MemorySize" => o.memory_size,
            "MemoryGrow" => o.memory_grow,
            "MemoryCopy" | "MemoryFill" | "MemoryInit" | "DataDrop" => o.bulk_base,
            "I32Mul" | "I64Mul" => o.mul,
            _ if name.contains("Load") => o.load,
            _ if name.contains("Store") => o.store,
            _ if (name.starts_with("I32") || name.starts_with("I64"))
                && (name.contains("Div") || name.contains("Rem")) =>
            {
                o.div_rem
            }
            _ if name.contains("Convert")
                || name.contains("Demote")
                || name.contains("Promote")
                || name.contains("Reinterpret")
                || (name.contains("Trunc") && name.contains('F') && name.starts_with('I')) =>
            {
                o.float_convert
            }
            _ if (name.starts_with("F32") || name.starts_with("F64"))
                && (name.contains("Div") || name.contains("Sqrt")) =>
            {
                o.float_heavy
            }
            _ if name.starts_with("F32") || name.starts_with("F64") => o.float,
            // Integer ALU ops; everything else is rejected by validation anyway.
            _ => o.alu,
        }
    }

    /// The wasmtime fuel table this schedule compiles to.
    pub fn operator_cost(&self) -> OperatorCost {
        let mut cost = OperatorCost::new();
        macro_rules! fill {
            ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*) )*) => {
                $( cost.$op = self.op_cost(stringify!($op)); )*
            };
        }
        wasmparser::for_each_operator!(fill);
        let v = &mut cost.variable;
        v.memory_copy_per_byte = self.memory.copy_per_byte;
        v.memory_fill_per_byte = self.memory.fill_per_byte;
        // memory.init is rejected by validation; price it like memory.copy anyway.
        v.memory_init_per_byte = self.memory.copy_per_byte;
        // Pages are charged by the resource limiter, only for growth that succeeds: wasmtime's
        // own per-page charge would also bill failed grows.
        v.memory_grow_per_page = 0;
        cost
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::Operator;

    #[test]
    fn classes_map_to_expected_operators() {
        let s = GasSchedule::default();
        let c = s.operator_cost();
        let o = &s.ops;
        let cases: &[(Operator, u8)] = &[
            (Operator::Nop, 0),
            (Operator::End, 0),
            (Operator::I32Add, o.alu),
            (Operator::I64Mul, o.mul),
            (Operator::I64DivU, o.div_rem),
            (Operator::I32RemS, o.div_rem),
            (Operator::LocalGet { local_index: 0 }, o.local),
            (Operator::I32Const { value: 0 }, o.local),
            (Operator::Call { function_index: 0 }, o.call),
            (
                Operator::Loop {
                    blockty: wasmparser::BlockType::Empty,
                },
                o.loop_header,
            ),
            (Operator::F64Div, o.float_heavy),
            (Operator::F32Sqrt, o.float_heavy),
            (Operator::F32Add, o.float),
            (Operator::I32TruncF32S, o.float_convert),
            (Operator::I64TruncSatF64U, o.float_convert),
            (Operator::F64ConvertI64S, o.float_convert),
            (Operator::I64ExtendI32U, o.alu),
            (Operator::I32WrapI64, o.alu),
            (Operator::MemoryFill { mem: 0 }, o.bulk_base),
        ];
        for (op, want) in cases {
            assert_eq!(c.cost(op), *want as i64, "{op:?}");
        }
        assert_eq!(c.variable.memory_grow_per_page, 0);
    }

    #[test]
    fn fingerprint_tracks_every_cost() {
        let a = GasSchedule::default();
        let mut b = a.clone();
        b.host.storage_write_per_byte += 1;
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), GasSchedule::default().fingerprint());
    }

    #[test]
    fn schedule_round_trips_through_json() {
        let a = GasSchedule::default();
        let json = serde_json::to_string(&a).unwrap();
        let b: GasSchedule = serde_json::from_str(&json).unwrap();
        assert_eq!(a, b);
    }
}
