//! The application messages a session sent that it would send again if
//! the other side asked: a fixed byte ring of whole messages, each under
//! its MsgSeqNum, the oldest overwritten when room runs out. A
//! ResendRequest for a number no longer held is answered with a gap fill.
//! Nothing allocates after [`ResendStore::new`].

/// One held message: its number and where its bytes lie.
#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    /// Offset in the ring, taken modulo its length.
    at: u64,
    len: usize,
}

/// The store. See the module docs.
#[derive(Debug)]
pub struct ResendStore {
    bytes: Box<[u8]>,
    /// Bytes written since the start: where the next message goes.
    written: u64,
    /// Entries, oldest first, as a ring of `entries.len()` slots.
    entries: Box<[Entry]>,
    first: usize,
    count: usize,
}

impl ResendStore {
    /// A store of `bytes` bytes and at most `messages` messages (either
    /// may be 0: nothing is held).
    pub fn new(bytes: usize, messages: usize) -> ResendStore {
        ResendStore {
            bytes: vec![0; bytes].into_boxed_slice(),
            written: 0,
            entries: vec![
                Entry {
                    seq: 0,
                    at: 0,
                    len: 0
                };
                messages
            ]
            .into_boxed_slice(),
            first: 0,
            count: 0,
        }
    }

    /// Forgets everything (sequence numbers start again).
    pub fn clear(&mut self) {
        self.first = 0;
        self.count = 0;
    }

    /// Holds `message`, numbered `seq` (above every number held), letting
    /// the oldest go as room needs; one larger than the store is not held.
    pub fn keep(&mut self, seq: u64, message: &[u8]) {
        let size = self.bytes.len();
        if message.len() > size || self.entries.is_empty() {
            return;
        }
        let at = self.written;
        // The oldest whose bytes the new one would overwrite go.
        while self.count > 0 {
            let oldest = self.entries[self.first];
            let free_from = oldest.at + size as u64;
            if at + message.len() as u64 <= free_from && self.count < self.entries.len() {
                break;
            }
            self.first = (self.first + 1) % self.entries.len();
            self.count -= 1;
        }
        for (i, &b) in message.iter().enumerate() {
            self.bytes[((at + i as u64) % size as u64) as usize] = b;
        }
        self.written += message.len() as u64;
        let slot = (self.first + self.count) % self.entries.len();
        self.entries[slot] = Entry {
            seq,
            at,
            len: message.len(),
        };
        self.count += 1;
    }

    /// Copies the message numbered `seq` into `out` (at least as large as
    /// it) and returns its length, if it is held.
    pub fn get(&self, seq: u64, out: &mut [u8]) -> Option<usize> {
        let size = self.bytes.len() as u64;
        let entry = (0..self.count)
            .map(|i| self.entries[(self.first + i) % self.entries.len()])
            .find(|e| e.seq == seq)?;
        let out = out.get_mut(..entry.len)?;
        for (i, b) in out.iter_mut().enumerate() {
            *b = self.bytes[((entry.at + i as u64) % size) as usize];
        }
        Some(entry.len)
    }

    /// The lowest number held at or above `seq`, if any.
    pub fn next_held(&self, seq: u64) -> Option<u64> {
        (0..self.count)
            .map(|i| self.entries[(self.first + i) % self.entries.len()].seq)
            .find(|&s| s >= seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    proptest! {
        /// Against a model that keeps the newest messages that fit both
        /// limits: every message the store says it holds is the one kept,
        /// and it holds at least the newest that fit.
        #[test]
        fn holds_the_newest_that_fit(
            sizes in proptest::collection::vec(1usize..300, 1..200),
            bytes in 0usize..2000,
            messages in 0usize..20,
        ) {
            let mut store = ResendStore::new(bytes, messages);
            let mut model: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
            for (i, &len) in sizes.iter().enumerate() {
                let seq = i as u64 + 10;
                let message: Vec<u8> = (0..len).map(|j| (seq as usize * 7 + j) as u8).collect();
                store.keep(seq, &message);
                if len <= bytes && messages > 0 {
                    model.push_back((seq, message));
                }
                while model.len() > messages
                    || model.iter().map(|(_, m)| m.len()).sum::<usize>() > bytes
                {
                    model.pop_front();
                }
                let mut out = vec![0u8; 300];
                for (seq, message) in &model {
                    let len = store.get(*seq, &mut out);
                    prop_assert_eq!(len, Some(message.len()), "seq {}", seq);
                    prop_assert_eq!(&out[..message.len()], &message[..]);
                }
                for old in 0..10 {
                    prop_assert_eq!(store.get(old, &mut out), None);
                }
            }
        }
    }

    #[test]
    fn next_held_skips_what_is_not_held() {
        let mut store = ResendStore::new(1000, 10);
        store.keep(3, b"three");
        store.keep(7, b"seven");
        assert_eq!(store.next_held(1), Some(3));
        assert_eq!(store.next_held(4), Some(7));
        assert_eq!(store.next_held(8), None);
        store.clear();
        assert_eq!(store.next_held(1), None);
    }
}
