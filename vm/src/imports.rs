//! The host functions linked into every contract, and the per-call state they work on.
//!
//! Every import charges the base host-call cost first, then checks its arguments, then
//! charges per-byte costs, and only then touches guest memory or the [`Host`]. Running out of
//! gas is returned as an error that unwinds the contract, never by just zeroing fuel.

use crate::error::Panic;
use crate::gas::GasBreakdown;
use crate::host::{Address, CallContext, CallRequest, EventError, Host, HostFault, TransferError};
use crate::schedule::HostCosts;
use chainvm_abi::{self as abi, error_code, limits, names};
use sha3::{Digest, Keccak256};
use std::ptr::NonNull;
use thiserror::Error;
use wasmtime::{Caller, Linker, Memory, ResourceLimiter};

/// Why a host function stopped the contract.
#[derive(Debug, Error)]
pub(crate) enum HostTrap {
    /// Not enough gas for what the call costs.
    #[error("out of gas")]
    OutOfGas,
    /// The contract aborted (panicked) with a message and location.
    #[error("contract panicked: {0}")]
    Abort(Panic),
    /// The contract passed arguments the host ABI does not accept. The text is for
    /// debugging only: the outcome carries just [`crate::TrapKind::BadHostArgument`].
    #[error("invalid host call argument: {0}")]
    BadArgument(String),
    /// The host refused an event (event-byte allowance used up).
    #[error("event bytes exceeded")]
    EventRefused,
    /// The host itself failed.
    #[error(transparent)]
    Fault(HostFault),
}

type HResult<T> = wasmtime::Result<T>;

fn trap<T>(t: HostTrap) -> HResult<T> {
    Err(wasmtime::Error::new(t))
}

fn bad<T>(msg: impl Into<String>) -> HResult<T> {
    trap(HostTrap::BadArgument(msg.into()))
}

fn fault<T>(f: HostFault) -> HResult<T> {
    trap(HostTrap::Fault(f))
}

/// Per-execution state reachable from host functions.
pub(crate) struct StoreData {
    /// The chain's host for this execution; see [`StoreData::host`].
    host: NonNull<dyn Host>,
    pub ctx: CallContext,
    pub input: Vec<u8>,
    pub return_data: Vec<u8>,
    pub last_call_data: Vec<u8>,
    pub costs: HostCosts,
    pub limiter: Limiter,
    pub memory: Option<Memory>,
    pub host_gas: Vec<(u64, u64)>,
    pub memory_gas: u64,
}

impl StoreData {
    /// Builds the state for one execution.
    ///
    /// # Safety
    /// `host` must outlive the `Store` this data is moved into. `Vm::execute` guarantees it:
    /// the store is created and dropped inside the call that borrows the host.
    pub unsafe fn new(
        host: &mut dyn Host,
        ctx: CallContext,
        input: Vec<u8>,
        costs: HostCosts,
        page_cost: u64,
        max_memory_bytes: usize,
    ) -> Self {
        let ptr: NonNull<dyn Host + '_> = NonNull::from(host);
        // SAFETY: only the lifetime is erased; the caller keeps the borrow alive for as long
        // as this value exists (see above).
        let host = unsafe { std::mem::transmute::<NonNull<dyn Host + '_>, NonNull<dyn Host>>(ptr) };
        StoreData {
            host,
            ctx,
            input,
            return_data: Vec::new(),
            last_call_data: Vec::new(),
            costs,
            limiter: Limiter {
                pending_gas: 0,
                page_cost,
                max_memory_bytes,
            },
            memory: None,
            host_gas: vec![(0, 0); abi::HOST_FUNCTIONS.len()],
            memory_gas: 0,
        }
    }

    fn host(&mut self) -> &mut dyn Host {
        // SAFETY: see `new`; `&mut self` makes this the only live reference.
        unsafe { self.host.as_mut() }
    }

    /// Fills the host part of a breakdown from the per-function counters.
    pub fn fill_breakdown(&self, b: &mut GasBreakdown) {
        for (f, &(calls, gas)) in abi::HOST_FUNCTIONS.iter().zip(&self.host_gas) {
            if calls > 0 {
                b.host
                    .insert(f.name.to_string(), crate::gas::HostFnGas { calls, gas });
            }
        }
        b.memory = self.memory_gas;
    }
}

/// Caps linear memory and charges gas for every page that is actually added.
pub(crate) struct Limiter {
    /// Memory-growth gas charged and not yet taken from fuel (see [`settle`]).
    pending_gas: u64,
    page_cost: u64,
    max_memory_bytes: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            // A deterministic -1 from memory.grow; nothing charged for what did not happen.
            return Ok(false);
        }
        let pages = (desired.saturating_sub(current) / 65_536) as u64;
        self.pending_gas = self
            .pending_gas
            .saturating_add(pages.saturating_mul(self.page_cost));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Table instructions are rejected at validation; this only bounds the initial table.
        Ok(desired <= 10_000)
    }

    fn instances(&self) -> usize {
        1
    }
    fn tables(&self) -> usize {
        1
    }
    fn memories(&self) -> usize {
        1
    }
}

/// Takes `gas` plus any pending memory-growth gas from fuel; out of gas if it does not fit.
pub(crate) fn settle(
    store: &mut impl wasmtime::AsContextMut<Data = StoreData>,
    gas: u64,
) -> Result<(), HostTrap> {
    let mut ctx = store.as_context_mut();
    let pending = std::mem::take(&mut ctx.data_mut().limiter.pending_gas);
    let total = gas.saturating_add(pending);
    let fuel = ctx
        .get_fuel()
        .map_err(|e| HostTrap::Fault(HostFault(e.to_string())))?;
    if total > fuel {
        let _ = ctx.set_fuel(0);
        return Err(HostTrap::OutOfGas);
    }
    ctx.set_fuel(fuel - total)
        .map_err(|e| HostTrap::Fault(HostFault(e.to_string())))?;
    ctx.data_mut().memory_gas += pending;
    Ok(())
}

/// Charges `gas` to host function `f`.
fn charge(caller: &mut Caller<'_, StoreData>, f: usize, gas: u64) -> HResult<()> {
    settle(caller, gas).map_err(wasmtime::Error::new)?;
    let slot = &mut caller.data_mut().host_gas[f];
    slot.1 += gas;
    Ok(())
}

/// Counts a call to `f` and charges the base cost plus `flat`.
fn begin(caller: &mut Caller<'_, StoreData>, f: usize, flat: u64) -> HResult<()> {
    caller.data_mut().host_gas[f].0 += 1;
    let base = caller.data().costs.base;
    charge(caller, f, base.saturating_add(flat))
}

fn check_len(len: i32, max: u32, what: &str) -> HResult<usize> {
    let len = len as u32;
    if len > max {
        return bad(format!("{what} of {len} bytes exceeds the limit of {max}"));
    }
    Ok(len as usize)
}

fn memory(caller: &Caller<'_, StoreData>) -> HResult<Memory> {
    match caller.data().memory {
        Some(m) => Ok(m),
        None => bad("the contract has no exported memory"),
    }
}

fn read(caller: &mut Caller<'_, StoreData>, ptr: i32, len: usize) -> HResult<Vec<u8>> {
    let mem = memory(caller)?;
    let start = ptr as u32 as usize;
    let Some(end) = start.checked_add(len) else {
        return bad("pointer + length overflows");
    };
    match mem.data(&caller).get(start..end) {
        Some(s) => Ok(s.to_vec()),
        None => bad(format!("read of {len} bytes at {start} is out of bounds")),
    }
}

fn write(caller: &mut Caller<'_, StoreData>, ptr: i32, bytes: &[u8]) -> HResult<()> {
    let mem = memory(caller)?;
    let start = ptr as u32 as usize;
    let Some(end) = start.checked_add(bytes.len()) else {
        return bad("pointer + length overflows");
    };
    match mem.data_mut(&mut *caller).get_mut(start..end) {
        Some(s) => {
            s.copy_from_slice(bytes);
            Ok(())
        }
        None => bad(format!(
            "write of {} bytes at {start} is out of bounds",
            bytes.len()
        )),
    }
}

/// Charges per-byte write cost, then writes `bytes` to guest memory.
fn charged_write(
    caller: &mut Caller<'_, StoreData>,
    f: usize,
    ptr: i32,
    bytes: &[u8],
) -> HResult<()> {
    let per = caller.data().costs.write_per_byte;
    charge(caller, f, per.saturating_mul(bytes.len() as u64))?;
    write(caller, ptr, bytes)
}

/// Charges `per_byte` plus the guest-read cost for `len` bytes, then reads them.
fn charged_read(
    caller: &mut Caller<'_, StoreData>,
    f: usize,
    ptr: i32,
    len: usize,
    per_byte: u64,
) -> HResult<Vec<u8>> {
    let per = caller.data().costs.read_per_byte.saturating_add(per_byte);
    charge(caller, f, per.saturating_mul(len as u64))?;
    read(caller, ptr, len)
}

fn index(name: &str) -> usize {
    abi::HOST_FUNCTIONS
        .iter()
        .position(|f| f.name == name)
        .unwrap_or_else(|| unreachable!("{name} is not in the host ABI"))
}

fn host_result<T>(r: Result<T, HostFault>) -> HResult<T> {
    r.or_else(fault)
}

/// Links every host function of [`chainvm_abi::HOST_FUNCTIONS`] into `linker`.
pub(crate) fn link(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    let m = abi::IMPORT_MODULE;

    let f = index(names::INPUT);
    linker.func_wrap(
        m,
        names::INPUT,
        move |mut c: Caller<'_, StoreData>, out: i32, cap: i32| {
            begin(&mut c, f, 0)?;
            let input = std::mem::take(&mut c.data_mut().input);
            let res = if input.len() <= cap as u32 as usize {
                charged_write(&mut c, f, out, &input)
            } else {
                Ok(())
            };
            let len = input.len() as i32;
            c.data_mut().input = input;
            res.map(|()| len)
        },
    )?;

    let f = index(names::SET_RETURN);
    linker.func_wrap(
        m,
        names::SET_RETURN,
        move |mut c: Caller<'_, StoreData>, ptr: i32, len: i32| {
            begin(&mut c, f, 0)?;
            let len = check_len(len, limits::MAX_RETURN_LEN, "return data")?;
            let data = charged_read(&mut c, f, ptr, len, 0)?;
            c.data_mut().return_data = data;
            Ok(())
        },
    )?;

    let f = index(names::STORAGE_GET);
    linker.func_wrap(
        m,
        names::STORAGE_GET,
        move |mut c: Caller<'_, StoreData>, kp: i32, kl: i32, out: i32, cap: i32| -> HResult<i64> {
            let costs = c.data().costs.clone();
            begin(&mut c, f, costs.storage_read)?;
            let kl = check_len(kl, limits::MAX_KEY_LEN, "storage key")?;
            let key = charged_read(&mut c, f, kp, kl, costs.storage_read_per_byte)?;
            let Some(value) = host_result(c.data_mut().host().storage_get(&key))? else {
                return Ok(-1);
            };
            charge(
                &mut c,
                f,
                costs
                    .storage_read_per_byte
                    .saturating_mul(value.len() as u64),
            )?;
            if value.len() <= cap as u32 as usize {
                charged_write(&mut c, f, out, &value)?;
            }
            Ok(value.len() as i64)
        },
    )?;

    let f = index(names::STORAGE_SET);
    linker.func_wrap(
        m,
        names::STORAGE_SET,
        move |mut c: Caller<'_, StoreData>, kp: i32, kl: i32, vp: i32, vl: i32| -> HResult<()> {
            let costs = c.data().costs.clone();
            begin(&mut c, f, costs.storage_write)?;
            let kl = check_len(kl, limits::MAX_KEY_LEN, "storage key")?;
            let vl = check_len(vl, limits::MAX_VALUE_LEN, "storage value")?;
            let key = charged_read(&mut c, f, kp, kl, costs.storage_write_per_byte)?;
            let value = charged_read(&mut c, f, vp, vl, costs.storage_write_per_byte)?;
            host_result(c.data_mut().host().storage_set(&key, &value))
        },
    )?;

    let f = index(names::STORAGE_REMOVE);
    linker.func_wrap(
        m,
        names::STORAGE_REMOVE,
        move |mut c: Caller<'_, StoreData>, kp: i32, kl: i32| -> HResult<i32> {
            let flat = c.data().costs.storage_remove;
            begin(&mut c, f, flat)?;
            let kl = check_len(kl, limits::MAX_KEY_LEN, "storage key")?;
            let key = charged_read(&mut c, f, kp, kl, 0)?;
            host_result(c.data_mut().host().storage_remove(&key)).map(i32::from)
        },
    )?;

    let f = index(names::STORAGE_HAS);
    linker.func_wrap(
        m,
        names::STORAGE_HAS,
        move |mut c: Caller<'_, StoreData>, kp: i32, kl: i32| -> HResult<i32> {
            let flat = c.data().costs.storage_has;
            begin(&mut c, f, flat)?;
            let kl = check_len(kl, limits::MAX_KEY_LEN, "storage key")?;
            let key = charged_read(&mut c, f, kp, kl, 0)?;
            host_result(c.data_mut().host().storage_has(&key)).map(i32::from)
        },
    )?;

    for (name, pick) in [
        (
            names::CALLER,
            (|c: &CallContext| c.caller.to_vec()) as fn(&CallContext) -> Vec<u8>,
        ),
        (names::SELF_ADDRESS, |c: &CallContext| {
            c.self_address.to_vec()
        }),
        (names::VALUE, |c: &CallContext| c.value.to_vec()),
    ] {
        let f = index(name);
        linker.func_wrap(
            m,
            name,
            move |mut c: Caller<'_, StoreData>, out: i32| -> HResult<()> {
                begin(&mut c, f, 0)?;
                let bytes = pick(&c.data().ctx);
                charged_write(&mut c, f, out, &bytes)
            },
        )?;
    }

    let f = index(names::BALANCE);
    linker.func_wrap(
        m,
        names::BALANCE,
        move |mut c: Caller<'_, StoreData>, out: i32| -> HResult<()> {
            // Reading the balance reads an account record from state: priced as a storage
            // read (calibration measured it ~9x under-priced at the bare host-call base).
            let read = c.data().costs.storage_read;
            begin(&mut c, f, read)?;
            let per = c.data().costs.write_per_byte;
            charge(&mut c, f, per * abi::AMOUNT_LEN as u64)?;
            let balance = host_result(c.data_mut().host().balance())?;
            write(&mut c, out, &balance)
        },
    )?;

    let f = index(names::BLOCK_HEIGHT);
    linker.func_wrap(
        m,
        names::BLOCK_HEIGHT,
        move |mut c: Caller<'_, StoreData>| -> HResult<i64> {
            begin(&mut c, f, 0)?;
            Ok(c.data().ctx.block_height as i64)
        },
    )?;

    let f = index(names::BLOCK_TIMESTAMP);
    linker.func_wrap(
        m,
        names::BLOCK_TIMESTAMP,
        move |mut c: Caller<'_, StoreData>| -> HResult<i64> {
            begin(&mut c, f, 0)?;
            Ok(c.data().ctx.block_timestamp as i64)
        },
    )?;

    let f = index(names::TRANSFER);
    linker.func_wrap(
        m,
        names::TRANSFER,
        move |mut c: Caller<'_, StoreData>, to: i32, amount: i32| -> HResult<i32> {
            let flat = c.data().costs.transfer;
            begin(&mut c, f, flat)?;
            let to = charged_read(&mut c, f, to, abi::ADDRESS_LEN, 0)?;
            let amount = charged_read(&mut c, f, amount, abi::AMOUNT_LEN, 0)?;
            let (Ok(to), Ok(amount)) = (
                Address::try_from(to.as_slice()),
                <[u8; 32]>::try_from(amount.as_slice()),
            ) else {
                return bad("malformed address or amount");
            };
            Ok(
                match host_result(c.data_mut().host().transfer(&to, &amount))? {
                    Ok(()) => error_code::OK,
                    Err(TransferError::InsufficientFunds) => error_code::INSUFFICIENT_FUNDS,
                },
            )
        },
    )?;

    let f = index(names::EMIT_EVENT);
    linker.func_wrap(
        m,
        names::EMIT_EVENT,
        move |mut c: Caller<'_, StoreData>, tp: i32, tl: i32, dp: i32, dl: i32| -> HResult<()> {
            let costs = c.data().costs.clone();
            begin(&mut c, f, costs.event)?;
            let tl = check_len(tl, limits::MAX_TOPIC_LEN, "event topic")?;
            let dl = check_len(dl, limits::MAX_EVENT_DATA_LEN, "event data")?;
            let topic = charged_read(&mut c, f, tp, tl, costs.event_per_byte)?;
            let data = charged_read(&mut c, f, dp, dl, costs.event_per_byte)?;
            match host_result(c.data_mut().host().emit_event(&topic, &data))? {
                Ok(()) => Ok(()),
                Err(EventError::LimitReached) => trap(HostTrap::EventRefused),
            }
        },
    )?;

    let f = index(names::KECCAK256);
    linker.func_wrap(
        m,
        names::KECCAK256,
        move |mut c: Caller<'_, StoreData>, dp: i32, dl: i32, out: i32| -> HResult<()> {
            let costs = c.data().costs.clone();
            begin(&mut c, f, costs.keccak)?;
            let dl = check_len(dl, limits::MAX_DATA_LEN, "keccak256 input")?;
            let data = charged_read(&mut c, f, dp, dl, costs.keccak_per_byte)?;
            let hash: [u8; 32] = Keccak256::digest(&data).into();
            charged_write(&mut c, f, out, &hash)
        },
    )?;

    let f = index(names::ABORT);
    linker.func_wrap(
        m,
        names::ABORT,
        move |mut c: Caller<'_, StoreData>,
              mp: i32,
              ml: i32,
              fp: i32,
              fl: i32,
              line: i32,
              column: i32|
              -> HResult<()> {
            begin(&mut c, f, 0)?;
            let ml = (ml as u32).min(limits::MAX_MESSAGE_LEN) as usize;
            let fl = (fl as u32).min(limits::MAX_MESSAGE_LEN) as usize;
            let message = charged_read(&mut c, f, mp, ml, 0)?;
            let file = charged_read(&mut c, f, fp, fl, 0)?;
            trap(HostTrap::Abort(Panic {
                message: String::from_utf8_lossy(&message).into_owned(),
                file: (!file.is_empty()).then(|| String::from_utf8_lossy(&file).into_owned()),
                line: line as u32,
                column: column as u32,
            }))
        },
    )?;

    let f = index(names::CALL_CONTRACT);
    linker.func_wrap(
        m,
        names::CALL_CONTRACT,
        move |mut c: Caller<'_, StoreData>,
              ap: i32,
              mp: i32,
              ml: i32,
              argp: i32,
              argl: i32,
              vp: i32,
              gas: i64|
              -> HResult<i32> {
            let flat = c.data().costs.call_contract;
            begin(&mut c, f, flat)?;
            let ml = check_len(ml, limits::MAX_METHOD_LEN, "method name")?;
            let argl = check_len(argl, limits::MAX_DATA_LEN, "call arguments")?;
            let to = charged_read(&mut c, f, ap, abi::ADDRESS_LEN, 0)?;
            let method = charged_read(&mut c, f, mp, ml, 0)?;
            let args = charged_read(&mut c, f, argp, argl, 0)?;
            let value = charged_read(&mut c, f, vp, abi::AMOUNT_LEN, 0)?;
            let (Ok(to), Ok(value)) = (
                Address::try_from(to.as_slice()),
                <[u8; 32]>::try_from(value.as_slice()),
            ) else {
                return bad("malformed address or amount");
            };
            let Ok(method) = String::from_utf8(method) else {
                return bad("method name is not UTF-8");
            };
            let available = c.get_fuel()?;
            let requested = gas as u64;
            let gas_limit = if requested == 0 {
                available
            } else {
                requested.min(available)
            };
            let request = CallRequest {
                to,
                method,
                args,
                value,
                gas_limit,
            };
            let result = host_result(c.data_mut().host().call_contract(request))?;
            charge(&mut c, f, result.gas_used.min(gas_limit))?;
            c.data_mut().last_call_data = result.data;
            Ok(result.code)
        },
    )?;

    let f = index(names::RETURN_DATA);
    linker.func_wrap(
        m,
        names::RETURN_DATA,
        move |mut c: Caller<'_, StoreData>, out: i32, cap: i32| -> HResult<i32> {
            begin(&mut c, f, 0)?;
            let data = std::mem::take(&mut c.data_mut().last_call_data);
            let res = if data.len() <= cap as u32 as usize {
                charged_write(&mut c, f, out, &data)
            } else {
                Ok(())
            };
            let len = data.len() as i32;
            c.data_mut().last_call_data = data;
            res.map(|()| len)
        },
    )?;

    Ok(())
}
