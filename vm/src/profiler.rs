//! Profiled execution: the profiling engine, its hooks and the recorder they feed.
//!
//! A profiling build ([`crate::instrument::instrument_profiling`]) calls a hook before and
//! after every call into a defined function, through `ref.func` + `call_ref`. User code can
//! never contain those operators (validation rejects reference instructions), and the
//! profiling engine prices exactly those two at 0 fuel, with every other cost the schedule's.
//! So a hook changes no fuel at all: the profiled run's fuel is the normal run's at every
//! instruction, and so are its fuel checks, outcome and gas. The hooks only read fuel
//! (wasmtime flushes it to the store before any call) and never set it.
//!
//! Between two hook events the stack does not change, so everything charged in between
//! belongs to the stack on top: host-function gas (diffed from the per-function counters)
//! goes under `stack + [Host(name)]`, memory pages charged by the limiter under
//! `stack + [Memory]`, and the rest of the fuel consumed is the stack's own wasm gas.

use crate::config::VmConfig;
use crate::engine::engine_config;
use crate::error::VmError;
use crate::gas::HostFnGas;
use crate::imports::{MemoryGas, StoreData};
use crate::instrument::{PROFILE_IMPORT_MODULE, PROFILE_LEAVE, profile_enter_name};
use crate::profile::{Frame, GasProfile};
use crate::validate::ModuleInfo;
use chainvm_abi as abi;
use std::collections::{BTreeMap, HashMap};
use wasmparser::{ExternalKind, Parser, Payload};
use wasmtime::{Caller, Engine, InstanceAllocationStrategy, Linker, WasmFeatures};

/// Bumped whenever profiling builds change; part of their (memory-only) cache key.
pub(crate) const PROFILING_VERSION: u32 = 1;

/// The profiling engine: [`engine_config`] with function references on (for `call_ref`),
/// `ref.func` and `call_ref` free, and on-demand instance allocation (profiled runs are rare
/// and must not take slots of the consensus engine's pool).
pub(crate) fn build_profiling_engine(cfg: &VmConfig) -> Result<Engine, VmError> {
    let mut c = engine_config(cfg);
    c.wasm_features(WasmFeatures::FUNCTION_REFERENCES, true);
    let mut cost = cfg.schedule.operator_cost();
    cost.RefFunc = 0;
    cost.CallRef = 0;
    c.operator_cost(cost);
    c.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    Engine::new(&c).map_err(VmError::engine)
}

/// Links the hooks of a profiling build of a module with these functions.
pub(crate) fn link_hooks(
    linker: &mut Linker<StoreData>,
    info: &ModuleInfo,
) -> wasmtime::Result<()> {
    let imported = info.imported_funcs;
    for i in 0..info.funcs.len() as u32 {
        let func = imported + i;
        linker.func_wrap(
            PROFILE_IMPORT_MODULE,
            &profile_enter_name(func),
            move |mut caller: Caller<'_, StoreData>| event(&mut caller, Some(func)),
        )?;
    }
    linker.func_wrap(
        PROFILE_IMPORT_MODULE,
        PROFILE_LEAVE,
        |mut caller: Caller<'_, StoreData>| event(&mut caller, None),
    )?;
    Ok(())
}

/// One hook event: attribute what was charged since the last one, then enter `func` (or
/// leave the top frame if `None`).
fn event(caller: &mut Caller<'_, StoreData>, func: Option<u32>) -> wasmtime::Result<()> {
    let fuel = caller.get_fuel()?;
    let StoreData {
        call,
        limiter,
        profile,
        ..
    } = caller.data_mut();
    if let Some(r) = profile {
        r.observe(fuel, &call.host_gas, &limiter.gas);
        match func {
            Some(f) => r.enter(f),
            None => r.leave(),
        }
    }
    Ok(())
}

/// The entry point functions of `code` by export name (original indices), for the profile's
/// fallback frame. `code` must have passed validation.
pub(crate) fn export_funcs(code: &[u8]) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for payload in Parser::new(0).parse_all(code) {
        if let Ok(Payload::ExportSection(r)) = payload {
            for e in r.into_iter().flatten() {
                if e.kind == ExternalKind::Func {
                    out.insert(e.name.to_string(), e.index);
                }
            }
        }
    }
    out
}

/// A node of the recorder's stack trie.
struct Node {
    parent: usize,
    /// `None` for the root (the empty stack).
    frame: Option<Frame>,
    /// Self gas.
    gas: u64,
}

/// Records a profiled execution's gas by stack, from the hook events.
pub(crate) struct Recorder {
    /// The stack trie; node 0 is the root.
    nodes: Vec<Node>,
    /// Child lookup (never iterated).
    children: HashMap<(usize, Frame), usize>,
    /// The stack on top.
    current: usize,
    /// Fuel at the last event.
    fuel: u64,
    /// Host-function counters at the last event.
    host: Vec<HostFnGas>,
    /// Memory gas charged (pending + settled) at the last event.
    memory_charged: u64,
    /// Memory gas settled at the last event.
    memory_settled: u64,
    /// Memory gas attributed, in order, as (node, gas): a measured ending may leave some
    /// charged gas unsettled, which is then taken back from the latest.
    memory_log: Vec<(usize, u64)>,
    /// The entry function (original index), where gas charged at the root ends up.
    entry: Option<u32>,
}

impl Recorder {
    /// A recorder starting at `fuel`, before anything was charged; `entry` is the function
    /// the call enters, if known.
    pub fn new(fuel: u64, entry: Option<u32>) -> Self {
        Recorder {
            nodes: vec![Node {
                parent: 0,
                frame: None,
                gas: 0,
            }],
            children: HashMap::new(),
            current: 0,
            fuel,
            host: vec![HostFnGas::default(); abi::HOST_FUNCTIONS.len()],
            memory_charged: 0,
            memory_settled: 0,
            memory_log: Vec::new(),
            entry,
        }
    }

    fn child(&mut self, parent: usize, frame: Frame) -> usize {
        if let Some(&n) = self.children.get(&(parent, frame.clone())) {
            return n;
        }
        let n = self.nodes.len();
        self.nodes.push(Node {
            parent,
            frame: Some(frame.clone()),
            gas: 0,
        });
        self.children.insert((parent, frame), n);
        n
    }

    fn charge(&mut self, node: usize, gas: u64) {
        let g = &mut self.nodes[node].gas;
        *g = g.saturating_add(gas);
    }

    /// Attributes everything charged since the last event to the stack on top: `fuel` is
    /// the fuel now, `host` the per-function counters, `memory` the memory gas.
    pub fn observe(&mut self, fuel: u64, host: &[HostFnGas], memory: &MemoryGas) {
        let spent = self.fuel.saturating_sub(fuel);
        self.fuel = fuel;
        let mut host_spent = 0u64;
        for (slot, now) in host.iter().enumerate() {
            let Some(before) = self.host.get_mut(slot) else {
                continue;
            };
            let d = now.gas.saturating_sub(before.gas);
            *before = *now;
            if d > 0 {
                host_spent = host_spent.saturating_add(d);
                let name = abi::HOST_FUNCTIONS
                    .get(slot)
                    .map_or_else(|| format!("#{slot}"), |f| f.name.to_string());
                let n = self.child(self.current, Frame::Host(name));
                self.charge(n, d);
            }
        }
        let settled = memory.settled.saturating_sub(self.memory_settled);
        self.memory_settled = memory.settled;
        let charged_now = memory.pending.saturating_add(memory.settled);
        // Pending gas dropped by an out-of-gas settle makes this go down: nothing charged.
        let charged = charged_now.saturating_sub(self.memory_charged);
        self.memory_charged = charged_now;
        if charged > 0 {
            let n = self.child(self.current, Frame::Memory);
            self.charge(n, charged);
            self.memory_log.push((n, charged));
        }
        let wasm = spent.saturating_sub(host_spent).saturating_sub(settled);
        self.charge(self.current, wasm);
    }

    /// Enters defined function `func` (original index).
    pub fn enter(&mut self, func: u32) {
        self.current = self.child(self.current, Frame::Func(func));
    }

    /// Leaves the function on top.
    pub fn leave(&mut self) {
        self.current = self.nodes[self.current].parent;
    }

    /// The profile of an execution that charged `loading` for the load and used `gas_used`
    /// in all; the last [`Recorder::observe`] must have seen the end. Gas the events did not
    /// see (a whole-limit ending charges more than was consumed) goes to the stack on top, or
    /// to the entry function; memory gas charged but never settled (a measured ending before
    /// the final settle) is taken back.
    pub fn finish(mut self, loading: u64, gas_used: u64) -> GasProfile {
        let seen = self
            .nodes
            .iter()
            .fold(loading, |sum, n| sum.saturating_add(n.gas));
        let target = |r: &mut Recorder| match (r.current, r.entry) {
            (0, Some(f)) => r.child(0, Frame::Func(f)),
            (c, _) => c,
        };
        if gas_used > seen {
            let t = target(&mut self);
            self.charge(t, gas_used - seen);
        } else {
            let mut excess = seen - gas_used;
            while excess > 0 {
                let Some((n, g)) = self.memory_log.pop() else {
                    break;
                };
                let take = g.min(excess).min(self.nodes[n].gas);
                self.nodes[n].gas -= take;
                excess -= take;
            }
        }
        // The root has no frame: what it holds (only possible without hooks) is the entry's.
        let root = std::mem::take(&mut self.nodes[0].gas);
        if root > 0 {
            let t = match self.entry {
                Some(f) => self.child(0, Frame::Func(f)),
                None => 0,
            };
            self.charge(t, root);
        }
        let mut profile = GasProfile::default();
        profile.add(vec![Frame::Loading], loading);
        for i in 0..self.nodes.len() {
            let gas = self.nodes[i].gas;
            if gas == 0 {
                continue;
            }
            let mut stack = Vec::new();
            let mut n = i;
            while let Some(f) = &self.nodes[n].frame {
                stack.push(f.clone());
                n = self.nodes[n].parent;
            }
            stack.reverse();
            profile.add(stack, gas);
        }
        profile
    }
}
