//! A bump allocator. Every call runs in a fresh instance, so memory never needs to be given
//! back: allocation is a pointer bump and freeing is a no-op, which is both the smallest and
//! the cheapest (in gas) allocator for contracts.
//!
//! The heap starts at the linker's `__heap_base` (just after the data segments) and first
//! uses what is left of the initial memory; only an allocation that does not fit grows memory.
//! Growing on the first allocation instead would cost every call a page of gas and, on the
//! host, a fresh page and a permission change.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

const PAGE: usize = 65_536;

struct Bump {
    next: UnsafeCell<usize>,
    end: UnsafeCell<usize>,
}

// SAFETY: wasm32-unknown-unknown contracts are single-threaded.
unsafe impl Sync for Bump {}

#[cfg(all(target_arch = "wasm32", not(test)))]
#[global_allocator]
static ALLOC: Bump = Bump {
    next: UnsafeCell::new(0),
    end: UnsafeCell::new(0),
};

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// Synthesised by wasm-ld: the first byte after the stack and the data segments.
    static __heap_base: u8;
}

/// Where the heap starts: `__heap_base`, within the initial memory.
#[cfg(target_arch = "wasm32")]
fn heap_base() -> usize {
    // Only the symbol's address is taken (safe for an extern static); it is never read.
    (&raw const __heap_base) as usize
}

// SAFETY: returns either null or a fresh, suitably aligned region that is never handed out
// again.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded; no other reference to these cells is live.
        let (next, end) = unsafe { (&mut *self.next.get(), &mut *self.end.get()) };
        if *end == 0 {
            // First allocation: the free part of the initial memory.
            *next = heap_base();
            *end = core::arch::wasm32::memory_size(0) * PAGE;
        }
        let start = (*next + layout.align() - 1) & !(layout.align() - 1);
        let Some(new_next) = start.checked_add(layout.size()) else {
            return core::ptr::null_mut();
        };
        if new_next > *end {
            let needed = new_next - (*end).max(start);
            let pages = needed.div_ceil(PAGE).max(1);
            let old = core::arch::wasm32::memory_grow(0, pages);
            if old == usize::MAX {
                return core::ptr::null_mut();
            }
            let base = old * PAGE;
            if *end != base {
                // Memory was grown by someone else: start on the new pages.
                let start = (base + layout.align() - 1) & !(layout.align() - 1);
                *next = start + layout.size();
                *end = base + pages * PAGE;
                if *next > *end {
                    return core::ptr::null_mut();
                }
                return start as *mut u8;
            }
            *end = base + pages * PAGE;
        }
        *next = new_next;
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
