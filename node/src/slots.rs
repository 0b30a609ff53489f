//! A bound on how many views and simulations run at once. Each is capped in gas, but many at
//! once would still take every core from block production; past the bound a request is
//! refused at once (the client may retry) instead of queueing without end.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counting slots: [`Slots::take`] hands out at most `max` at a time.
pub struct Slots {
    busy: AtomicUsize,
    max: usize,
}

/// A taken slot; dropping it frees the slot.
pub struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Slots {
    /// At most `max` (at least 1) slots.
    pub fn new(max: usize) -> Slots {
        Slots {
            busy: AtomicUsize::new(0),
            max: max.max(1),
        }
    }

    /// The default bound: twice the machine's cores.
    pub fn default_max() -> usize {
        2 * std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// The bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot, or `None` if all are taken.
    pub fn take(&self) -> Option<Slot<'_>> {
        self.busy
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(&self.busy))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_slots_are_out_and_a_dropped_one_comes_back() {
        let slots = Slots::new(2);
        let a = slots.take().expect("first");
        let b = slots.take().expect("second");
        assert!(slots.take().is_none(), "a third is refused");
        drop(a);
        let c = slots.take().expect("a freed slot is reusable");
        assert!(slots.take().is_none());
        drop((b, c));
        assert!(slots.take().is_some());
        assert_eq!(Slots::new(0).max(), 1);
    }
}
