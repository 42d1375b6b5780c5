//! Model checks of the seqlock with loom: in every interleaving of a writer
//! and a reader (up to `LOOM_MAX_PREEMPTIONS` preemptions), a read that
//! succeeds returns one whole snapshot, never a mix of two, and never one
//! older than a snapshot the reader already saw.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p redline-engine --release --test seqlock_loom`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use redline_engine::seqlock::SeqLock;

#[test]
fn reads_see_whole_snapshots_in_order() {
    loom::model(|| {
        let lock = Arc::new(SeqLock::new(2));
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                for round in 1..=2 {
                    lock.write(|w| {
                        w.set(0, round);
                        w.set(1, round);
                    });
                }
            })
        };
        let mut last = 0;
        for _ in 0..2 {
            let mut out = [0; 2];
            if lock.read(&mut out) {
                assert_eq!(out[0], out[1], "torn snapshot");
                assert!(out[0] >= last, "went back");
                last = out[0];
            }
        }
        writer.join().unwrap();
        let mut out = [0; 2];
        assert!(lock.read(&mut out));
        assert_eq!(out, [2, 2]);
    });
}
