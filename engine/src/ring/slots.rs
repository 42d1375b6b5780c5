//! The ring's slot array: stamped slots laid out so that no slot straddles a
//! cache line.
//!
//! A slot is a stamp followed by a value. Its *stride* (the distance from one
//! slot to the next) is the slot's size rounded up to a power of two while
//! that fits in a cache line, and to whole cache lines beyond; the array
//! starts on a line boundary. So a stamp and a value of up to 56 bytes always
//! share one line (the one-transfer-per-message property), and small items
//! share lines with their neighbours instead of each taking a whole line:
//! a `u64` slot takes 16 bytes, four to a line, which is what keeps
//! saturated throughput up (see bench/README.md).
//!
//! It owns the memory and the slots' own state; the values in them belong to
//! the ring, which drops the unread ones before this array goes.

use std::alloc::{self, Layout};
use std::mem::{self, MaybeUninit};
use std::ptr::NonNull;

use crate::sync::{AtomicUsize, UnsafeCell};

/// The cache-line size the layout is planned for.
const LINE: usize = 64;

/// One slot.
#[repr(C)]
pub(super) struct Slot<T> {
    /// `pos + 1` (wrapping) once the producer has written the item for
    /// position `pos` into this slot; 0 before the first write. Written only
    /// by the producer, last, with `Release`.
    pub(super) stamp: AtomicUsize,
    /// Initialised exactly when `stamp == pos + 1` for a position `pos` in
    /// `head .. head + capacity` that the consumer has not yet read.
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
}

/// `len` slots, [`Slots::STRIDE`] bytes apart, from a line-aligned block.
pub(super) struct Slots<T> {
    base: NonNull<Slot<T>>,
    /// A power of two.
    len: usize,
}

impl<T> Slots<T> {
    /// Bytes from one slot to the next: a power of two up to [`LINE`], a
    /// multiple of it beyond; at least `size_of::<Slot<T>>()`. A constant
    /// per `T`, so finding a slot is a mask, a shift and an add.
    const STRIDE: usize = stride_of(mem::size_of::<Slot<T>>());

    /// Slots that share one cache line: `LINE / STRIDE` for slots smaller
    /// than a line, 1 otherwise. A power of two.
    pub(super) const PER_LINE: usize = if Self::STRIDE >= LINE {
        1
    } else {
        LINE / Self::STRIDE
    };

    /// Allocates `len` empty slots (stamp 0).
    ///
    /// # Panics
    ///
    /// If `len` is not a power of two, or the array would not fit in memory.
    pub(super) fn new(len: usize) -> Self {
        assert!(
            len.is_power_of_two(),
            "ring capacity must be a power of two, got {len}"
        );
        let layout = Self::layout(len);
        // SAFETY: the layout's size is non-zero: at least one slot, and a
        // slot holds at least its stamp.
        let block = unsafe { alloc::alloc(layout) };
        let Some(base) = NonNull::new(block.cast::<Slot<T>>()) else {
            alloc::handle_alloc_error(layout)
        };
        let slots = Slots { base, len };
        for index in 0..len {
            // SAFETY: `index < len`, so the slot lies inside the block, and
            // it is aligned (see `slot_ptr`); it holds nothing yet.
            unsafe {
                slots.slot_ptr(index).write(Slot {
                    stamp: AtomicUsize::new(0),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                });
            }
        }
        slots
    }

    /// The number of slots.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// A cursor over these slots for a batch (a `Claim` or a `Drain`) to
    /// keep in registers while it walks them.
    #[inline(always)]
    pub(super) fn cursor(&self) -> SlotCursor<T> {
        SlotCursor {
            base: self.base,
            mask: self.len - 1,
        }
    }

    /// The slot at `index`, in `0 .. len`.
    #[inline(always)]
    pub(super) fn get(&self, index: usize) -> &Slot<T> {
        debug_assert!(index < self.len);
        // SAFETY: slots `0 .. len` were initialised in `new` and live until
        // `drop`; callers pass an index masked into `0 .. len`.
        unsafe { &*self.slot_ptr(index) }
    }

    /// A pointer to the slot at `index`, in `0 .. len`.
    ///
    /// It is aligned for `Slot<T>`: the block is aligned to
    /// `max(LINE, align_of::<Slot<T>>())`, and the stride is a multiple of
    /// the slot's alignment (a slot's size is, and the stride is the size
    /// rounded up to a power of two or to a multiple of `LINE`).
    #[inline(always)]
    unsafe fn slot_ptr(&self, index: usize) -> *mut Slot<T> {
        // SAFETY: passed on from the caller.
        unsafe { slot_at(self.base, index) }
    }

    fn layout(len: usize) -> Layout {
        let size = Self::STRIDE
            .checked_mul(len)
            .expect("ring too large for the address space");
        let align = LINE.max(mem::align_of::<Slot<T>>());
        Layout::from_size_align(size, align).expect("ring too large for the address space")
    }
}

impl<T> Drop for Slots<T> {
    fn drop(&mut self) {
        for index in 0..self.len {
            // SAFETY: each slot was initialised in `new` and is dropped once
            // here (a no-op but for loom's bookkeeping); the values inside are
            // `MaybeUninit` and were already dropped by the ring.
            unsafe { self.slot_ptr(index).drop_in_place() };
        }
        let layout = Self::layout(self.len);
        // SAFETY: the block was allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.base.as_ptr().cast(), layout) };
    }
}

/// Where the slots of a [`Slots`] are, copied out so that a batch loop
/// finds each slot with a mask, a shift and an add on registers.
pub(super) struct SlotCursor<T> {
    base: NonNull<Slot<T>>,
    /// `len - 1`.
    mask: usize,
}

impl<T> SlotCursor<T> {
    /// The slot that holds position `pos` (any position: it is masked).
    ///
    /// # Safety
    ///
    /// The [`Slots`] this cursor came from must outlive `'a`: a batch holds a
    /// borrow of the ring half, whose `Arc` owns them.
    #[inline(always)]
    pub(super) unsafe fn get<'a>(&self, pos: usize) -> &'a Slot<T> {
        let index = pos & self.mask;
        // SAFETY: `index` is in `0 .. len` (`mask` is `len - 1`, `len` a
        // power of two); such a slot was initialised in `Slots::new`, is
        // aligned (see `Slots::slot_ptr`), and lives as long as the `Slots`,
        // which the caller guarantees outlives `'a`.
        unsafe { &*slot_at(self.base, index) }
    }
}

/// A pointer to slot `index` of the block at `base`.
///
/// # Safety
///
/// `index` must be below the number of slots the block was allocated for,
/// so that the offset stays inside it.
#[inline(always)]
unsafe fn slot_at<T>(base: NonNull<Slot<T>>, index: usize) -> *mut Slot<T> {
    // SAFETY: `index * STRIDE` is within the block of `len * STRIDE` bytes
    // for `index < len`, as the caller guarantees.
    unsafe {
        base.as_ptr()
            .cast::<u8>()
            .add(index * Slots::<T>::STRIDE)
            .cast::<Slot<T>>()
    }
}

/// The stride for slots of `size` bytes: the next power of two while it
/// fits in a line, whole lines beyond.
const fn stride_of(size: usize) -> usize {
    if size <= LINE {
        size.next_power_of_two()
    } else {
        size.div_ceil(LINE) * LINE
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stride_never_lets_a_slot_straddle_a_line() {
        assert_eq!(stride_of(8), 8);
        assert_eq!(stride_of(16), 16);
        assert_eq!(stride_of(24), 32);
        assert_eq!(stride_of(48), 64);
        assert_eq!(stride_of(64), 64);
        assert_eq!(stride_of(65), 128);
        assert_eq!(stride_of(200), 256);
        for size in 1..=LINE {
            let stride = stride_of(size);
            assert!(stride >= size && LINE.is_multiple_of(stride), "size {size}");
        }
    }

    #[test]
    fn slots_of_small_items_share_lines_without_straddling() {
        let slots = Slots::<u64>::new(8);
        let addr = |i: usize| slots.get(i) as *const Slot<u64> as usize;
        assert_eq!(addr(0) % LINE, 0, "the array starts on a line");
        assert_eq!(addr(1) - addr(0), 16);
        let slots = Slots::<[u64; 7]>::new(4);
        let addr = |i: usize| slots.get(i) as *const Slot<[u64; 7]> as usize;
        assert_eq!(addr(1) - addr(0), 64, "a 56-byte item takes a line");
        let slots = Slots::<[u8; 40]>::new(4);
        let addr = |i: usize| slots.get(i) as *const Slot<[u8; 40]> as usize;
        assert_eq!(addr(1) - addr(0), 64, "48-byte slots are padded to a line");
    }

    #[test]
    fn over_aligned_items_stay_aligned() {
        #[repr(align(128))]
        struct Wide(#[allow(dead_code)] u8);
        let slots = Slots::<Wide>::new(4);
        for i in 0..4 {
            assert_eq!(slots.get(i) as *const Slot<Wide> as usize % 128, 0);
        }
    }

    #[test]
    fn zero_sized_items_take_only_their_stamp() {
        let slots = Slots::<()>::new(4);
        assert_eq!(slots.len(), 4);
        let addr = |i: usize| slots.get(i) as *const Slot<()> as usize;
        assert_eq!(addr(1) - addr(0), 8);
    }
}
