//! Two threads move 10 million sequenced items through small rings: every
//! item arrives once, in order, through single pushes, claims and drains.

use std::thread;

use redline_engine::ring;

const ITEMS: u64 = 10_000_000;

/// A payload that fills most of a slot, so a torn read would show as a
/// mismatch between its words.
#[derive(Clone, Copy)]
struct Item {
    seq: u64,
    check: [u64; 5],
}

impl Item {
    fn new(seq: u64) -> Self {
        Item {
            seq,
            check: [seq.wrapping_mul(0x9E37_79B9_7F4A_7C15); 5],
        }
    }

    fn verify(&self, expected: u64) {
        assert_eq!(self.seq, expected, "out of order, lost or duplicated");
        assert_eq!(
            self.check,
            Item::new(expected).check,
            "torn item {expected}"
        );
    }
}

#[test]
fn ten_million_single_items_arrive_once_in_order() {
    let (mut tx, mut rx) = ring::new::<Item>(64);
    let producer = thread::spawn(move || {
        for seq in 0..ITEMS {
            let mut item = Item::new(seq);
            while let Err(ring::Full(back)) = tx.push(item) {
                item = back;
                thread::yield_now();
            }
        }
    });
    let mut expected = 0;
    while expected < ITEMS {
        match rx.pop() {
            Some(item) => {
                item.verify(expected);
                expected += 1;
            }
            None => thread::yield_now(),
        }
    }
    producer.join().unwrap();
    assert!(rx.pop().is_none(), "an item beyond the last was received");
}

#[test]
fn ten_million_items_in_claims_and_drains_arrive_once_in_order() {
    let (mut tx, mut rx) = ring::new::<Item>(256);
    let producer = thread::spawn(move || {
        let mut seq = 0;
        while seq < ITEMS {
            // Vary the batch size so claims straddle the end of the slots.
            let want = (seq % 37 + 1) as usize;
            let mut claim = tx.claim(want);
            if claim.remaining() == 0 {
                drop(claim);
                thread::yield_now();
                continue;
            }
            while seq < ITEMS && claim.write(Item::new(seq)).is_ok() {
                seq += 1;
            }
        }
    });
    let mut expected = 0;
    while expected < ITEMS {
        let before = expected;
        for item in rx.drain((expected % 53 + 1) as usize) {
            item.verify(expected);
            expected += 1;
        }
        if expected == before {
            thread::yield_now();
        }
    }
    producer.join().unwrap();
    assert!(rx.pop().is_none(), "an item beyond the last was received");
}
