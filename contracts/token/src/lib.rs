//! A fungible token: fixed supply minted to the deployer, transfers, allowances.
#![no_std]

use chainvm_sdk::prelude::*;

const NAME: Item<String> = Item::new(b"name");
const SYMBOL: Item<String> = Item::new(b"symbol");
const SUPPLY: Item<u128> = Item::new(b"supply");
const BALANCES: Map<Address, u128> = Map::new(b"b");
const ALLOWANCES: Map<(Address, Address), u128> = Map::new(b"a");

/// Why a token operation was refused.
#[derive(Debug, BorshSerialize, BorshDeserialize, AbiType)]
pub enum TokenError {
    /// The sender's balance is below the amount.
    InsufficientBalance,
    /// The spender's allowance is below the amount.
    InsufficientAllowance,
}

/// Tokens moved.
#[event]
pub struct Transfer {
    pub from: Address,
    pub to: Address,
    pub amount: u128,
}

/// An allowance was set.
#[event]
pub struct Approval {
    pub owner: Address,
    pub spender: Address,
    pub amount: u128,
}

#[derive(Default)]
pub struct Token;

fn move_tokens(from: Address, to: Address, amount: u128) -> Result<(), TokenError> {
    let have = BALANCES.get(&from).unwrap_or(0);
    if have < amount {
        return Err(TokenError::InsufficientBalance);
    }
    BALANCES.set(&from, &(have - amount));
    let to_balance = BALANCES.get(&to).unwrap_or(0);
    BALANCES.set(&to, &(to_balance + amount));
    emit(&Transfer { from, to, amount });
    Ok(())
}

#[contract]
impl Token {
    /// Mints the whole supply to the deployer.
    pub fn init(&mut self, name: String, symbol: String, supply: u128) {
        NAME.set(&name);
        SYMBOL.set(&symbol);
        SUPPLY.set(&supply);
        let owner = env::caller();
        BALANCES.set(&owner, &supply);
        emit(&Transfer {
            from: Address::default(),
            to: owner,
            amount: supply,
        });
    }

    pub fn name(&self) -> String {
        NAME.get_or_default()
    }

    pub fn symbol(&self) -> String {
        SYMBOL.get_or_default()
    }

    pub fn total_supply(&self) -> u128 {
        SUPPLY.get_or_default()
    }

    pub fn balance_of(&self, owner: Address) -> u128 {
        BALANCES.get(&owner).unwrap_or(0)
    }

    pub fn allowance(&self, owner: Address, spender: Address) -> u128 {
        ALLOWANCES.get(&(owner, spender)).unwrap_or(0)
    }

    pub fn transfer(&mut self, to: Address, amount: u128) -> Result<(), TokenError> {
        move_tokens(env::caller(), to, amount)
    }

    pub fn approve(&mut self, spender: Address, amount: u128) {
        let owner = env::caller();
        ALLOWANCES.set(&(owner, spender), &amount);
        emit(&Approval {
            owner,
            spender,
            amount,
        });
    }

    pub fn transfer_from(
        &mut self,
        from: Address,
        to: Address,
        amount: u128,
    ) -> Result<(), TokenError> {
        let spender = env::caller();
        let allowed = ALLOWANCES.get(&(from, spender)).unwrap_or(0);
        if allowed < amount {
            return Err(TokenError::InsufficientAllowance);
        }
        move_tokens(from, to, amount)?;
        ALLOWANCES.set(&(from, spender), &(allowed - amount));
        Ok(())
    }
}
