//! chainvm-sdk: write chainvm contracts in plain Rust.
//!
//! ```ignore
//! #![no_std]
//! use chainvm_sdk::prelude::*;
//!
//! const COUNT: Item<u64> = Item::new(b"count");
//!
//! #[derive(Default)]
//! pub struct Counter;
//!
//! #[contract]
//! impl Counter {
//!     pub fn init(&mut self, start: u64) { COUNT.set(&start); }
//!     pub fn incr(&mut self) -> u64 { let n = COUNT.get_or_default() + 1; COUNT.set(&n); n }
//!     pub fn get(&self) -> u64 { COUNT.get_or_default() }
//! }
//! ```
//!
//! `#[contract]` turns each `pub fn` into an exported entry point whose arguments and return
//! value are borsh-encoded; `&self` methods are views and may not write storage; `init` is the
//! constructor; a returned `Err(e)` reaches the caller as the typed, encoded error with its
//! name and source location. The contract's ABI is embedded in the wasm's custom sections.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};

pub use borsh;
pub use borsh::{BorshDeserialize, BorshSerialize};
pub use chainvm_abi as abi;
pub use chainvm_sdk_macros::{AbiType, contract, event};

// The allocator and the panic handler exist only inside a contract; on the host (an
// author's `cargo test` links the contract crate for its types) std provides both.
#[cfg(target_arch = "wasm32")]
mod alloc_impl;
mod sys;

/// Everything a contract usually needs.
pub mod prelude {
    pub use crate::{
        AbiType, Address, BorshDeserialize, BorshSerialize, CallError, Event, Item, Map,
        TransferError, contract, emit, env, event, transfer,
    };
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

/// A 20-byte account or contract address.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Address(pub [u8; 20]);

impl core::fmt::Debug for Address {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "0x")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Aborts the call as a contract panic with a message and source location. Never returns.
pub fn abort(message: &str, file: &str, line: u32, column: u32) -> ! {
    // SAFETY: the pointers and lengths describe live slices; the host reads them and traps.
    unsafe {
        sys::abort(
            message.as_ptr(),
            message.len() as u32,
            file.as_ptr(),
            file.len() as u32,
            line,
            column,
        );
    }
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("{file}:{line}:{column}: {message}")
}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let mut message = String::new();
    let _ = write!(message, "{}", info.message());
    match info.location() {
        Some(l) => abort(&message, l.file(), l.line(), l.column()),
        None => abort(&message, "", 0, 0),
    }
}

/// Reads a value the host writes into a buffer, retrying once with the exact size if the
/// first guess was too small.
fn read_sized(guess: usize, mut read: impl FnMut(*mut u8, u32) -> i64) -> Option<Vec<u8>> {
    let mut buf: Vec<u8> = vec![0; guess];
    let len = read(buf.as_mut_ptr(), buf.len() as u32);
    if len < 0 {
        return None;
    }
    let len = len as usize;
    if len > buf.len() {
        buf.resize(len, 0);
        read(buf.as_mut_ptr(), len as u32);
    }
    buf.truncate(len);
    Some(buf)
}

/// The raw input of this call (the encoded arguments).
pub fn input() -> Vec<u8> {
    // SAFETY: the host writes at most `cap` bytes at `ptr`.
    read_sized(256, |ptr, cap| unsafe { sys::input(ptr, cap) as i64 }).unwrap_or_default()
}

/// Sets the raw return data of this call.
pub fn set_return(data: &[u8]) {
    // SAFETY: a live slice.
    unsafe { sys::set_return(data.as_ptr(), data.len() as u32) }
}

/// keccak256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // SAFETY: live slices; the host writes 32 bytes to `out`.
    unsafe { sys::keccak256(data.as_ptr(), data.len() as u32, out.as_mut_ptr()) };
    out
}

static READ_ONLY: AtomicBool = AtomicBool::new(false);

/// Raw storage of the executing contract. Keys are at most 256 bytes, values at most 64 KiB.
pub mod storage {
    use super::*;

    /// The value at `key`.
    pub fn get(key: &[u8]) -> Option<Vec<u8>> {
        // SAFETY: live slices; the host writes at most `cap` bytes.
        read_sized(64, |ptr, cap| unsafe {
            sys::storage_get(key.as_ptr(), key.len() as u32, ptr, cap)
        })
    }

    /// Writes `value` at `key`. Panics in a view (`&self`) method.
    #[track_caller]
    pub fn set(key: &[u8], value: &[u8]) {
        check_writable();
        // SAFETY: live slices.
        unsafe {
            sys::storage_set(
                key.as_ptr(),
                key.len() as u32,
                value.as_ptr(),
                value.len() as u32,
            )
        }
    }

    /// Removes `key`; whether it existed. Panics in a view method.
    #[track_caller]
    pub fn remove(key: &[u8]) -> bool {
        check_writable();
        // SAFETY: a live slice.
        unsafe { sys::storage_remove(key.as_ptr(), key.len() as u32) != 0 }
    }

    /// Whether `key` has a value.
    pub fn has(key: &[u8]) -> bool {
        // SAFETY: a live slice.
        unsafe { sys::storage_has(key.as_ptr(), key.len() as u32) != 0 }
    }

    #[track_caller]
    fn check_writable() {
        if READ_ONLY.load(Ordering::Relaxed) {
            panic!("storage write in a view method");
        }
    }
}

fn encode<T: BorshSerialize + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = v.serialize(&mut out);
    out
}

#[track_caller]
fn decode<T: BorshDeserialize>(bytes: &[u8], what: &str) -> T {
    match borsh::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => panic!("stored {what} does not decode"),
    }
}

/// One typed value in storage under a fixed key.
pub struct Item<T> {
    key: &'static [u8],
    _t: PhantomData<T>,
}

impl<T: BorshSerialize + BorshDeserialize> Item<T> {
    /// An item stored under `key`.
    pub const fn new(key: &'static [u8]) -> Self {
        Item {
            key,
            _t: PhantomData,
        }
    }

    /// The value, if set.
    #[track_caller]
    pub fn get(&self) -> Option<T> {
        storage::get(self.key).map(|b| decode(&b, "item"))
    }

    /// The value, or `T::default()` if unset.
    #[track_caller]
    pub fn get_or_default(&self) -> T
    where
        T: Default,
    {
        self.get().unwrap_or_default()
    }

    /// Stores the value.
    #[track_caller]
    pub fn set(&self, value: &T) {
        storage::set(self.key, &encode(value));
    }

    /// Removes the value.
    #[track_caller]
    pub fn remove(&self) {
        storage::remove(self.key);
    }
}

/// A typed map in storage: entry `k` lives at `prefix ‖ borsh(k)`.
pub struct Map<K, V> {
    prefix: &'static [u8],
    _t: PhantomData<(K, V)>,
}

impl<K: BorshSerialize, V: BorshSerialize + BorshDeserialize> Map<K, V> {
    /// A map whose keys start with `prefix` (give each map its own).
    pub const fn new(prefix: &'static [u8]) -> Self {
        Map {
            prefix,
            _t: PhantomData,
        }
    }

    fn key(&self, k: &K) -> Vec<u8> {
        let mut key = self.prefix.to_vec();
        let _ = k.serialize(&mut key);
        key
    }

    /// The value at `k`.
    #[track_caller]
    pub fn get(&self, k: &K) -> Option<V> {
        storage::get(&self.key(k)).map(|b| decode(&b, "map value"))
    }

    /// Stores `v` at `k`.
    #[track_caller]
    pub fn set(&self, k: &K, v: &V) {
        storage::set(&self.key(k), &encode(v));
    }

    /// Removes `k`; whether it existed.
    #[track_caller]
    pub fn remove(&self, k: &K) -> bool {
        storage::remove(&self.key(k))
    }

    /// Whether `k` has a value.
    pub fn contains(&self, k: &K) -> bool {
        storage::has(&self.key(k))
    }
}

/// Facts about the current call and block.
pub mod env {
    use super::*;

    fn address(f: unsafe extern "C" fn(*mut u8)) -> Address {
        let mut a = [0u8; 20];
        // SAFETY: the host writes 20 bytes.
        unsafe { f(a.as_mut_ptr()) };
        Address(a)
    }

    fn amount(f: unsafe extern "C" fn(*mut u8)) -> u128 {
        let mut a = [0u8; 32];
        // SAFETY: the host writes 32 bytes.
        unsafe { f(a.as_mut_ptr()) };
        if a[..16].iter().any(|b| *b != 0) {
            panic!("amount does not fit in u128");
        }
        let mut low = [0u8; 16];
        low.copy_from_slice(&a[16..]);
        u128::from_be_bytes(low)
    }

    /// The immediate caller: the account that sent the transaction, or the calling contract.
    pub fn caller() -> Address {
        address(sys::caller)
    }

    /// This contract's address.
    pub fn self_address() -> Address {
        address(sys::self_address)
    }

    /// Value attached to this call (already in this contract's balance).
    pub fn value() -> u128 {
        amount(sys::value)
    }

    /// This contract's balance.
    pub fn balance() -> u128 {
        amount(sys::balance)
    }

    /// Height of the current block.
    pub fn block_height() -> u64 {
        // SAFETY: no arguments.
        unsafe { sys::block_height() as u64 }
    }

    /// Timestamp of the current block, in seconds.
    pub fn block_timestamp() -> u64 {
        // SAFETY: no arguments.
        unsafe { sys::block_timestamp() as u64 }
    }
}

fn amount_bytes(v: u128) -> [u8; 32] {
    let mut a = [0u8; 32];
    a[16..].copy_from_slice(&v.to_be_bytes());
    a
}

/// Why a transfer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// The contract's balance is too small.
    InsufficientFunds,
}

/// Sends `amount` from this contract to `to`.
pub fn transfer(to: &Address, amount: u128) -> Result<(), TransferError> {
    let a = amount_bytes(amount);
    // SAFETY: live buffers of 20 and 32 bytes.
    match unsafe { sys::transfer(to.0.as_ptr(), a.as_ptr()) } {
        0 => Ok(()),
        _ => Err(TransferError::InsufficientFunds),
    }
}

/// A typed event; `#[event]` implements it with the struct's name as topic.
pub trait Event: BorshSerialize {
    /// The event's topic.
    const TOPIC: &'static str;
}

/// Emits an event.
pub fn emit<E: Event>(event: &E) {
    let data = encode(event);
    // SAFETY: live slices.
    unsafe {
        sys::emit_event(
            E::TOPIC.as_ptr(),
            E::TOPIC.len() as u32,
            data.as_ptr(),
            data.len() as u32,
        )
    }
}

/// Why a cross-contract call failed (the [`chainvm_abi::error_code`] status), with what the
/// callee set as return data before failing (its encoded typed error, or nothing: the host
/// passes codes, never message text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// Status code.
    pub code: i32,
    /// The callee's return data read as UTF-8 (lossy); empty unless it set some.
    pub message: String,
}

/// Calls `method` on `contract` with borsh-encoded `args` (a tuple of the arguments),
/// attaching `value` and forwarding at most `gas` (0: all remaining). Returns the callee's
/// raw return data.
pub fn call_raw(
    contract: &Address,
    method: &str,
    args: &[u8],
    value: u128,
    gas: u64,
) -> Result<Vec<u8>, CallError> {
    let v = amount_bytes(value);
    // SAFETY: live slices.
    let code = unsafe {
        sys::call_contract(
            contract.0.as_ptr(),
            method.as_ptr(),
            method.len() as u32,
            args.as_ptr(),
            args.len() as u32,
            v.as_ptr(),
            gas as i64,
        )
    };
    // SAFETY: the host writes at most `cap` bytes.
    let data =
        read_sized(64, |ptr, cap| unsafe { sys::return_data(ptr, cap) as i64 }).unwrap_or_default();
    if code == abi::error_code::OK {
        Ok(data)
    } else {
        Err(CallError {
            code,
            message: String::from_utf8_lossy(&data).into_owned(),
        })
    }
}

/// Typed cross-contract call: encodes `args`, decodes the callee's return value as `R`.
#[track_caller]
pub fn call<A: BorshSerialize, R: BorshDeserialize>(
    contract: &Address,
    method: &str,
    args: &A,
    value: u128,
    gas: u64,
) -> Result<R, CallError> {
    let data = call_raw(contract, method, &encode(args), value, gas)?;
    Ok(decode(&data, "call result"))
}

/// Support for the code `#[contract]` generates. Not a stable API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    /// Marks the call as a view (no storage writes) or not.
    pub fn begin(view: bool) {
        READ_ONLY.store(view, Ordering::Relaxed);
    }

    /// Decodes the call's arguments or aborts with a clear message.
    pub fn args<T: BorshDeserialize>(method: &str, file: &str, line: u32) -> T {
        let input = input();
        match borsh::from_slice(&input) {
            Ok(v) => v,
            Err(_) => {
                let mut m = String::from("invalid arguments for `");
                m.push_str(method);
                m.push('`');
                abort(&m, file, line, 0)
            }
        }
    }

    /// Returns a value to the caller.
    pub fn ret<T: BorshSerialize>(value: &T) {
        set_return(&encode(value));
    }

    /// Returns a typed error: the encoded error as return data, its name as the message.
    pub fn fail<E: BorshSerialize + core::fmt::Debug>(error: &E, file: &str, line: u32) -> ! {
        set_return(&encode(error));
        let mut m = String::new();
        let _ = core::fmt::write(&mut m, format_args!("{error:?}"));
        abort(&m, file, line, 0)
    }
}
