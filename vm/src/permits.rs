//! Bounds on executions: a semaphore of top-level executions (so the instance pool can never
//! be exhausted) and the per-thread depth of nested ones.

use std::cell::Cell;
use std::sync::{Condvar, Mutex};

/// A counting semaphore bounding concurrent top-level executions, so the instance pool
/// (sized for them and their nested calls) can never be exhausted.
pub(crate) struct Permits {
    state: Mutex<PermitState>,
    cv: Condvar,
}

/// Free permits and threads waiting for one.
struct PermitState {
    free: u32,
    waiting: u32,
}

pub(crate) struct Permit<'a>(&'a Permits);

impl Permits {
    pub(crate) fn new(count: u32) -> Self {
        Permits {
            state: Mutex::new(PermitState {
                free: count,
                waiting: 0,
            }),
            cv: Condvar::new(),
        }
    }

    pub(crate) fn acquire(&self) -> Permit<'_> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while s.free == 0 {
            s.waiting += 1;
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
            s.waiting -= 1;
        }
        s.free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        s.free += 1;
        // A notify is a futex syscall even with nobody waiting: only wake a waiter.
        if s.waiting > 0 {
            drop(s);
            self.0.cv.notify_one();
        }
    }
}

thread_local! {
    /// Executions in progress on this thread (nested through `call_contract`).
    pub(crate) static DEPTH: Cell<u32> = const { Cell::new(0) };
}

pub(crate) struct DepthGuard;
impl Drop for DepthGuard {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}
