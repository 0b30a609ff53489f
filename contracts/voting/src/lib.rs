//! Voting: anyone creates a proposal with options and a block window; voting is open to all,
//! or to a registered list of voters. One account, one vote (not weighted: simple, and
//! predictable for voters). Anyone may finalize after the window closes; the option with the
//! most votes wins, ties going to the lowest index.
#![no_std]

use chainvm_sdk::prelude::*;

const NEXT_ID: Item<u64> = Item::new(b"next");
const PROPOSALS: Map<u64, Proposal> = Map::new(b"p");
const VOTED: Map<(u64, Address), u32> = Map::new(b"v");
const ELIGIBLE: Map<(u64, Address), bool> = Map::new(b"e");

/// Most options a proposal may have.
const MAX_OPTIONS: usize = 16;

/// A proposal.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize, AbiType)]
pub struct Proposal {
    pub creator: Address,
    pub title: String,
    pub options: Vec<String>,
    /// First block in which votes count.
    pub start: u64,
    /// Last block in which votes count.
    pub end: u64,
    /// Only registered voters may vote.
    pub restricted: bool,
    pub tally: Vec<u64>,
    pub finalized: bool,
    /// Winning option, once finalized.
    pub winner: Option<u32>,
}

/// Why a voting call was refused.
#[derive(Debug, BorshSerialize, BorshDeserialize, AbiType)]
pub enum VoteError {
    NotFound,
    /// Fewer than two or more than 16 options.
    BadOptions,
    /// `end` before `start`, or `start` in the past.
    BadWindow,
    /// The voting window has not opened.
    NotStarted,
    /// The voting window has closed.
    Ended,
    AlreadyVoted,
    /// Not on the proposal's voter list.
    NotEligible,
    /// No such option.
    BadOption,
    /// The window is still open.
    NotEnded,
    AlreadyFinalized,
}

#[event]
pub struct ProposalCreated {
    pub id: u64,
    pub creator: Address,
    pub start: u64,
    pub end: u64,
}

#[event]
pub struct Voted {
    pub id: u64,
    pub voter: Address,
    pub option: u32,
}

#[event]
pub struct Finalized {
    pub id: u64,
    pub winner: u32,
    pub tally: Vec<u64>,
}

#[derive(Default)]
pub struct Voting;

fn load(id: u64) -> Result<Proposal, VoteError> {
    PROPOSALS.get(&id).ok_or(VoteError::NotFound)
}

#[contract]
impl Voting {
    /// Creates a proposal open from block `start` to block `end` (inclusive). With a voter
    /// list, only those accounts may vote.
    pub fn create_proposal(
        &mut self,
        title: String,
        options: Vec<String>,
        start: u64,
        end: u64,
        voters: Option<Vec<Address>>,
    ) -> Result<u64, VoteError> {
        if options.len() < 2 || options.len() > MAX_OPTIONS {
            return Err(VoteError::BadOptions);
        }
        if end < start || start < env::block_height() {
            return Err(VoteError::BadWindow);
        }
        let id = NEXT_ID.get_or_default();
        NEXT_ID.set(&(id + 1));
        let restricted = voters.is_some();
        for v in voters.unwrap_or_default() {
            ELIGIBLE.set(&(id, v), &true);
        }
        let creator = env::caller();
        let tally = vec![0; options.len()];
        PROPOSALS.set(
            &id,
            &Proposal {
                creator,
                title,
                options,
                start,
                end,
                restricted,
                tally,
                finalized: false,
                winner: None,
            },
        );
        emit(&ProposalCreated {
            id,
            creator,
            start,
            end,
        });
        Ok(id)
    }

    /// Casts the caller's one vote.
    pub fn vote(&mut self, id: u64, option: u32) -> Result<(), VoteError> {
        let mut p = load(id)?;
        let now = env::block_height();
        if now < p.start {
            return Err(VoteError::NotStarted);
        }
        if now > p.end {
            return Err(VoteError::Ended);
        }
        let voter = env::caller();
        if p.restricted && !ELIGIBLE.contains(&(id, voter)) {
            return Err(VoteError::NotEligible);
        }
        if VOTED.contains(&(id, voter)) {
            return Err(VoteError::AlreadyVoted);
        }
        let Some(count) = p.tally.get_mut(option as usize) else {
            return Err(VoteError::BadOption);
        };
        *count += 1;
        VOTED.set(&(id, voter), &option);
        PROPOSALS.set(&id, &p);
        emit(&Voted { id, voter, option });
        Ok(())
    }

    /// Closes a proposal whose window has ended and records the winner.
    pub fn finalize(&mut self, id: u64) -> Result<u32, VoteError> {
        let mut p = load(id)?;
        if p.finalized {
            return Err(VoteError::AlreadyFinalized);
        }
        if env::block_height() <= p.end {
            return Err(VoteError::NotEnded);
        }
        let mut winner = 0u32;
        for (i, c) in p.tally.iter().enumerate() {
            if *c > p.tally[winner as usize] {
                winner = i as u32;
            }
        }
        p.finalized = true;
        p.winner = Some(winner);
        PROPOSALS.set(&id, &p);
        emit(&Finalized {
            id,
            winner,
            tally: p.tally.clone(),
        });
        Ok(winner)
    }

    /// Current vote counts per option.
    pub fn tally(&self, id: u64) -> Result<Vec<u64>, VoteError> {
        Ok(load(id)?.tally)
    }

    /// A proposal by id.
    pub fn get_proposal(&self, id: u64) -> Option<Proposal> {
        PROPOSALS.get(&id)
    }

    /// The option `voter` chose, if they voted.
    pub fn vote_of(&self, id: u64, voter: Address) -> Option<u32> {
        VOTED.get(&(id, voter))
    }
}
