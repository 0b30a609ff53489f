//! A test fixture for SDK behaviour: a view that tries to write, a plain panic, typed
//! cross-contract calls and raw storage.
#![no_std]

use chainvm_sdk::prelude::*;

const NOTE: Item<String> = Item::new(b"note");

#[derive(Default)]
pub struct Probe;

#[contract]
impl Probe {
    /// A view that tries to write: must abort.
    pub fn sneaky_view(&self) -> u64 {
        NOTE.set(&String::from("written from a view"));
        1
    }

    pub fn set_note(&mut self, note: String) {
        NOTE.set(&note);
    }

    pub fn note(&self) -> Option<String> {
        NOTE.get()
    }

    /// Panics with a formatted message.
    pub fn boom(&mut self, n: u32) {
        if n > 3 {
            panic!("n too large: {n}");
        }
    }

    /// Asks a token contract for a balance through the typed call helper.
    pub fn token_balance(&self, token: Address, owner: Address) -> u128 {
        match chainvm_sdk::call::<_, u128>(&token, "balance_of", &(owner,), 0, 0) {
            Ok(b) => b,
            Err(e) => panic!("call failed: {} {}", e.code, e.message),
        }
    }

    /// Calls a method that fails; returns the status code and message it got.
    pub fn call_failing(&mut self, target: Address, method: String) -> (i32, String) {
        match chainvm_sdk::call_raw(&target, &method, &[], 0, 0) {
            Ok(_) => (0, String::new()),
            Err(e) => (e.code, e.message),
        }
    }

    pub fn hash(&self, data: Vec<u8>) -> [u8; 32] {
        chainvm_sdk::keccak256(&data)
    }

    pub fn context(&self) -> (Address, Address, u64, u128) {
        (
            env::caller(),
            env::self_address(),
            env::block_height(),
            env::balance(),
        )
    }
}
