//! Escrow: a buyer locks funds for a seller; the seller marks the goods delivered; the buyer
//! confirms (funds go to the seller) or, if nothing was delivered by the deadline, takes a
//! refund. Either party may open a dispute, which the deal's arbiter resolves.
//!
//! States: `Funded` -> `Delivered` -> `Released`; `Funded` -> `Refunded` (after the deadline);
//! `Funded`/`Delivered` -> `Disputed` -> `Released` or `Refunded` (arbiter).
#![no_std]

use chainvm_sdk::prelude::*;

const NEXT_ID: Item<u64> = Item::new(b"next");
const DEALS: Map<u64, Deal> = Map::new(b"d");

/// Where a deal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize, AbiType)]
pub enum DealState {
    Funded,
    Delivered,
    Disputed,
    Released,
    Refunded,
}

/// One escrowed deal.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize, AbiType)]
pub struct Deal {
    pub buyer: Address,
    pub seller: Address,
    pub arbiter: Option<Address>,
    pub amount: u128,
    /// Block height after which an undelivered deal can be refunded.
    pub deadline: u64,
    pub state: DealState,
}

/// Why an escrow call was refused.
#[derive(Debug, BorshSerialize, BorshDeserialize, AbiType)]
pub enum EscrowError {
    /// No deal with that id.
    NotFound,
    /// Only the buyer may do this.
    NotBuyer,
    /// Only the seller may do this.
    NotSeller,
    /// Only the deal's arbiter may do this.
    NotArbiter,
    /// Only the buyer or the seller may do this.
    NotParty,
    /// The deal is not in a state that allows this.
    WrongState,
    /// The deadline has not passed yet.
    DeadlineNotReached,
    /// A deal needs attached value.
    NoFunds,
    /// The deal has no arbiter to resolve a dispute.
    NoArbiter,
    /// Buyer and seller must differ.
    SameParty,
}

#[event]
pub struct DealCreated {
    pub id: u64,
    pub buyer: Address,
    pub seller: Address,
    pub amount: u128,
    pub deadline: u64,
}

#[event]
pub struct Delivered {
    pub id: u64,
}

#[event]
pub struct Released {
    pub id: u64,
    pub to: Address,
    pub amount: u128,
}

#[event]
pub struct Refunded {
    pub id: u64,
    pub to: Address,
    pub amount: u128,
}

#[event]
pub struct Disputed {
    pub id: u64,
    pub by: Address,
}

#[derive(Default)]
pub struct Escrow;

fn load(id: u64) -> Result<Deal, EscrowError> {
    DEALS.get(&id).ok_or(EscrowError::NotFound)
}

fn pay_out(id: u64, deal: &mut Deal, to: Address, state: DealState) {
    deal.state = state;
    DEALS.set(&id, deal);
    if transfer(&to, deal.amount).is_err() {
        // The contract always holds every funded deal's amount; failing here is a bug.
        panic!("escrow balance is short of a funded deal");
    }
    if state == DealState::Released {
        emit(&Released {
            id,
            to,
            amount: deal.amount,
        });
    } else {
        emit(&Refunded {
            id,
            to,
            amount: deal.amount,
        });
    }
}

#[contract]
impl Escrow {
    /// Buyer opens a deal with the attached value; refundable `deadline_blocks` from now.
    pub fn create(
        &mut self,
        seller: Address,
        arbiter: Option<Address>,
        deadline_blocks: u64,
    ) -> Result<u64, EscrowError> {
        let buyer = env::caller();
        let amount = env::value();
        if amount == 0 {
            return Err(EscrowError::NoFunds);
        }
        if seller == buyer {
            return Err(EscrowError::SameParty);
        }
        let id = NEXT_ID.get_or_default();
        NEXT_ID.set(&(id + 1));
        let deadline = env::block_height() + deadline_blocks;
        DEALS.set(
            &id,
            &Deal {
                buyer,
                seller,
                arbiter,
                amount,
                deadline,
                state: DealState::Funded,
            },
        );
        emit(&DealCreated {
            id,
            buyer,
            seller,
            amount,
            deadline,
        });
        Ok(id)
    }

    /// Seller reports the goods delivered.
    pub fn mark_delivered(&mut self, id: u64) -> Result<(), EscrowError> {
        let mut deal = load(id)?;
        if env::caller() != deal.seller {
            return Err(EscrowError::NotSeller);
        }
        if deal.state != DealState::Funded {
            return Err(EscrowError::WrongState);
        }
        deal.state = DealState::Delivered;
        DEALS.set(&id, &deal);
        emit(&Delivered { id });
        Ok(())
    }

    /// Buyer confirms receipt: the funds go to the seller.
    pub fn confirm(&mut self, id: u64) -> Result<(), EscrowError> {
        let mut deal = load(id)?;
        if env::caller() != deal.buyer {
            return Err(EscrowError::NotBuyer);
        }
        if !matches!(deal.state, DealState::Funded | DealState::Delivered) {
            return Err(EscrowError::WrongState);
        }
        let seller = deal.seller;
        pay_out(id, &mut deal, seller, DealState::Released);
        Ok(())
    }

    /// Buyer takes the funds back once the deadline passed without delivery.
    pub fn refund(&mut self, id: u64) -> Result<(), EscrowError> {
        let mut deal = load(id)?;
        if env::caller() != deal.buyer {
            return Err(EscrowError::NotBuyer);
        }
        if deal.state != DealState::Funded {
            return Err(EscrowError::WrongState);
        }
        if env::block_height() <= deal.deadline {
            return Err(EscrowError::DeadlineNotReached);
        }
        let buyer = deal.buyer;
        pay_out(id, &mut deal, buyer, DealState::Refunded);
        Ok(())
    }

    /// Buyer or seller hands the deal to the arbiter.
    pub fn dispute(&mut self, id: u64) -> Result<(), EscrowError> {
        let mut deal = load(id)?;
        let by = env::caller();
        if by != deal.buyer && by != deal.seller {
            return Err(EscrowError::NotParty);
        }
        if deal.arbiter.is_none() {
            return Err(EscrowError::NoArbiter);
        }
        if !matches!(deal.state, DealState::Funded | DealState::Delivered) {
            return Err(EscrowError::WrongState);
        }
        deal.state = DealState::Disputed;
        DEALS.set(&id, &deal);
        emit(&Disputed { id, by });
        Ok(())
    }

    /// The arbiter decides a dispute: to the seller, or back to the buyer.
    pub fn resolve(&mut self, id: u64, to_seller: bool) -> Result<(), EscrowError> {
        let mut deal = load(id)?;
        if Some(env::caller()) != deal.arbiter {
            return Err(EscrowError::NotArbiter);
        }
        if deal.state != DealState::Disputed {
            return Err(EscrowError::WrongState);
        }
        if to_seller {
            let seller = deal.seller;
            pay_out(id, &mut deal, seller, DealState::Released);
        } else {
            let buyer = deal.buyer;
            pay_out(id, &mut deal, buyer, DealState::Refunded);
        }
        Ok(())
    }

    /// A deal by id.
    pub fn get_deal(&self, id: u64) -> Option<Deal> {
        DEALS.get(&id)
    }

    /// Number of deals created.
    pub fn deal_count(&self) -> u64 {
        NEXT_ID.get_or_default()
    }
}
