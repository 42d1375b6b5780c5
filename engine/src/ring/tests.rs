//! Single-threaded behaviour of the ring, and drop accounting.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{new, Full};

#[test]
fn push_then_pop_returns_items_in_order() {
    let (mut tx, mut rx) = new::<u64>(4);
    for i in 0..4 {
        tx.push(i).unwrap();
    }
    assert_eq!(tx.push(99), Err(Full(99)));
    for i in 0..4 {
        assert_eq!(rx.pop(), Some(i));
    }
    assert_eq!(rx.pop(), None);
}

#[test]
fn wraps_around_many_laps() {
    let (mut tx, mut rx) = new::<usize>(2);
    for i in 0..1000 {
        tx.push(i).unwrap();
        assert!(!rx.is_empty());
        assert_eq!(rx.pop(), Some(i));
        assert!(rx.is_empty());
    }
}

#[test]
fn capacity_one_alternates() {
    let (mut tx, mut rx) = new::<u8>(1);
    tx.push(1).unwrap();
    assert_eq!(tx.push(2), Err(Full(2)));
    assert_eq!(rx.pop(), Some(1));
    tx.push(2).unwrap();
    assert_eq!(rx.pop(), Some(2));
}

#[test]
#[should_panic(expected = "power of two")]
fn rejects_capacity_not_power_of_two() {
    let _ = new::<u8>(3);
}

#[test]
fn claim_is_bounded_by_free_room_and_publishes_on_drop() {
    let (mut tx, mut rx) = new::<u32>(8);
    tx.push(0).unwrap();
    {
        let mut claim = tx.claim(100);
        assert_eq!(claim.remaining(), 7);
        for i in 1..=7 {
            claim.write(i).unwrap();
        }
        assert!(claim.is_full());
        assert_eq!(claim.write(8), Err(Full(8)));
        // Nothing but the first item is visible until the claim is dropped.
        assert_eq!(rx.pop(), Some(0));
        assert!(rx.is_empty());
    }
    let got: Vec<u32> = rx.drain(usize::MAX).collect();
    assert_eq!(got, (1..=7).collect::<Vec<_>>());
}

#[test]
fn partly_written_claim_publishes_only_what_was_written() {
    let (mut tx, mut rx) = new::<u32>(8);
    let mut claim = tx.claim(4);
    claim.write(10).unwrap();
    claim.write(11).unwrap();
    claim.publish();
    tx.push(12).unwrap();
    assert_eq!(rx.drain(10).collect::<Vec<_>>(), vec![10, 11, 12]);
}

#[test]
fn drain_stops_at_max_and_frees_room_when_dropped() {
    let (mut tx, mut rx) = new::<u32>(4);
    for i in 0..4 {
        tx.push(i).unwrap();
    }
    assert_eq!(rx.drain(3).collect::<Vec<_>>(), vec![0, 1, 2]);
    let mut claim = tx.claim(4);
    assert_eq!(claim.remaining(), 3);
    claim.write(4).unwrap();
    drop(claim);
    assert_eq!(rx.drain(10).collect::<Vec<_>>(), vec![3, 4]);
}

/// Counts drops of values tagged with an id, to prove each is dropped once.
struct Counted<'a>(&'a [AtomicUsize], usize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0[self.1].fetch_add(1, Ordering::Relaxed);
    }
}

fn counters(n: usize) -> Vec<AtomicUsize> {
    (0..n).map(|_| AtomicUsize::new(0)).collect()
}

#[test]
fn dropping_ring_drops_unread_items_exactly_once() {
    let drops = counters(13);
    {
        let (mut tx, mut rx) = new(8);
        // Wrap once so the unread items straddle the end of the slot array.
        for i in 0..5 {
            tx.push(Counted(&drops, i)).unwrap();
        }
        drop(rx.drain(5).collect::<Vec<_>>());
        for i in 5..13 {
            tx.push(Counted(&drops, i)).unwrap();
        }
        drop(rx.pop());
        // Items 6..13 stay in the ring when both halves are dropped.
    }
    for (i, count) in drops.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), 1, "item {i}");
    }
}

#[test]
fn forgotten_drain_does_not_drop_taken_items_twice() {
    let drops = counters(4);
    {
        let (mut tx, mut rx) = new(4);
        for i in 0..4 {
            tx.push(Counted(&drops, i)).unwrap();
        }
        let mut drain = rx.drain(2);
        let taken: Vec<_> = drain.by_ref().collect();
        std::mem::forget(drain);
        drop(taken);
    }
    for (i, count) in drops.iter().enumerate() {
        assert_eq!(count.load(Ordering::Relaxed), 1, "item {i}");
    }
}

#[test]
fn forgotten_claim_leaks_but_never_exposes_its_items() {
    let drops = counters(2);
    let (mut tx, mut rx) = new(4);
    let mut claim = tx.claim(2);
    claim.write(Counted(&drops, 0)).unwrap();
    std::mem::forget(claim);
    assert!(rx.pop().is_none());
    tx.push(Counted(&drops, 1)).unwrap();
    drop(rx.pop());
    assert_eq!(drops[0].load(Ordering::Relaxed), 0, "leaked, not dropped");
    assert_eq!(drops[1].load(Ordering::Relaxed), 1);
}

#[test]
fn drain_takes_exactly_what_was_published_for_every_count() {
    for published in 0..=16 {
        for max in 0..=20 {
            let (mut tx, mut rx) = new::<usize>(16);
            // Start mid-array so runs wrap around the end of the slots.
            for i in 0..5 {
                tx.push(i).unwrap();
            }
            assert_eq!(rx.drain(5).count(), 5);
            for i in 0..published {
                tx.push(i).unwrap();
            }
            let drain = rx.drain(max);
            assert_eq!(
                drain.len(),
                published.min(max),
                "published {published}, max {max}"
            );
            let got: Vec<usize> = drain.collect();
            assert_eq!(got, (0..published.min(max)).collect::<Vec<_>>());
        }
    }
}

#[test]
fn a_drain_dropped_early_leaves_the_rest_for_the_next_call() {
    let (mut tx, mut rx) = new::<u32>(8);
    for i in 0..6 {
        tx.push(i).unwrap();
    }
    let mut drain = rx.drain(8);
    assert_eq!(drain.len(), 6);
    assert_eq!(drain.next(), Some(0));
    assert_eq!(drain.next(), Some(1));
    drop(drain);
    // The producer sees only the two taken slots freed.
    assert_eq!(tx.claim(8).remaining(), 4);
    assert_eq!(rx.drain(8).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
}

#[test]
fn a_forgotten_partly_taken_drain_leaks_the_rest_and_never_exposes_it_again() {
    let drops = counters(4);
    {
        let (mut tx, mut rx) = new(4);
        for i in 0..4 {
            tx.push(Counted(&drops, i)).unwrap();
        }
        let mut drain = rx.drain(4);
        drop(drain.next());
        std::mem::forget(drain);
        assert!(rx.pop().is_none(), "items 1..4 must not be read again");
    }
    assert_eq!(drops[0].load(Ordering::Relaxed), 1);
    for (i, count) in drops.iter().enumerate().skip(1) {
        assert_eq!(
            count.load(Ordering::Relaxed),
            0,
            "item {i} leaked, not dropped"
        );
    }
}

#[test]
fn a_gauge_reports_occupancy_and_times_the_producer_was_short_of_room() {
    use super::Level;
    // Line-sized items, so that every pop publishes the head at once (see
    // the next test for smaller ones).
    let w = |i: u32| [i; 14];
    let (mut tx, mut rx) = new::<[u32; 14]>(4);
    let gauge = tx.gauge();
    assert_eq!(
        gauge.level(),
        super::RingLevel {
            len: 0,
            capacity: 4,
            short: 0
        }
    );
    for i in 0..3 {
        tx.push(w(i)).unwrap();
    }
    assert_eq!(rx.pop(), Some(w(0)));
    assert_eq!(gauge.level().len, 2);
    let mut claim = tx.claim(4);
    assert_eq!(claim.remaining(), 2, "two free of the four asked for");
    claim.write(w(3)).unwrap();
    claim.write(w(4)).unwrap();
    drop(claim);
    assert_eq!(gauge.level().len, 4);
    assert_eq!(gauge.level().short, 1);
    assert!(tx.push(w(5)).is_err());
    assert_eq!(tx.room(1), 0);
    assert_eq!(gauge.level().short, 3);
    rx.drain(4).for_each(drop);
    assert_eq!(gauge.level().len, 0);
    assert_eq!(tx.room(4), 4, "enough room is not counted");
    assert_eq!(gauge.level().short, 3);
}

#[test]
fn pops_of_small_items_publish_the_head_per_line_at_a_drain_and_when_empty() {
    use super::Level;
    // 16-byte slots: four to a cache line.
    let (mut tx, mut rx) = new::<u64>(8);
    let gauge = tx.gauge();
    for i in 0..8 {
        tx.push(i).unwrap();
    }
    assert_eq!(rx.pop(), Some(0));
    assert_eq!(tx.room(8), 0, "a pop inside a line is not published yet");
    assert_eq!(
        gauge.level().len,
        8,
        "the gauge counts from the published head"
    );
    for i in 1..4 {
        assert_eq!(rx.pop(), Some(i));
    }
    assert_eq!(tx.room(8), 4, "the pop that ends a line publishes");
    assert_eq!(gauge.level().len, 4);
    assert_eq!(rx.pop(), Some(4));
    assert_eq!(rx.pop(), Some(5));
    assert_eq!(tx.room(8), 4);
    assert_eq!(rx.drain(1).collect::<Vec<_>>(), vec![6]);
    assert_eq!(tx.room(8), 7, "a drain publishes where it ends");
    tx.push(8).unwrap();
    assert_eq!(rx.pop(), Some(7));
    assert_eq!(rx.pop(), Some(8));
    assert_eq!(tx.room(8), 7);
    assert_eq!(rx.pop(), None);
    assert_eq!(tx.room(8), 8, "a pop that finds the ring empty publishes");
    assert_eq!(gauge.level().len, 0);
}

#[test]
fn a_producer_waiting_for_the_whole_ring_gets_it_from_single_pops() {
    // The strictest wait there is: room for every slot. Pops that end
    // inside a line must still let it through once the consumer has read
    // everything and polls again.
    let (mut tx, mut rx) = new::<u32>(4);
    for round in 0..10u32 {
        assert_eq!(tx.room(4), 4, "round {round}");
        for i in 0..3 {
            tx.push(round * 10 + i).unwrap();
        }
        for i in 0..3 {
            assert_eq!(rx.pop(), Some(round * 10 + i));
        }
        assert_eq!(rx.pop(), None);
    }
}

#[test]
fn a_loop_of_is_empty_and_pop_leaves_the_producer_all_the_room() {
    let (mut tx, mut rx) = new::<u32>(4);
    for round in 0..10u32 {
        assert_eq!(tx.room(4), 4, "round {round}");
        for i in 0..3 {
            tx.push(round * 10 + i).unwrap();
        }
        let mut taken = 0;
        while !rx.is_empty() {
            assert_eq!(rx.pop(), Some(round * 10 + taken));
            taken += 1;
        }
        assert_eq!(taken, 3);
    }
}

#[test]
fn a_drain_after_a_full_one_still_stops_where_the_producer_did() {
    let (mut tx, mut rx) = new::<u64>(4);
    for i in 0..4 {
        tx.push(i).unwrap();
    }
    assert_eq!(rx.drain(4).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    // The next drain first tries its last slot, which holds the last lap's
    // stamp: not this lap's item, so it searches and finds the two.
    tx.push(4).unwrap();
    tx.push(5).unwrap();
    assert_eq!(rx.drain(4).collect::<Vec<_>>(), vec![4, 5]);
    for i in 6..10 {
        tx.push(i).unwrap();
    }
    assert_eq!(rx.drain(4).collect::<Vec<_>>(), vec![6, 7, 8, 9]);
    assert_eq!(rx.drain(4).count(), 0);
    tx.push(10).unwrap();
    assert_eq!(rx.drain(4).collect::<Vec<_>>(), vec![10]);
}
