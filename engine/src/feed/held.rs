//! Packets that arrive past a gap, held in arrival order until the gap is
//! filled, so that a loss costs only the missing packets' round trip to
//! the re-request server, not a second fetch of everything sent while the
//! answer was on its way. A fixed byte ring sized once: each entry is its
//! length, its receipt time and its bytes, whole (an entry that does not
//! fit before the ring's end starts again at its beginning). When the ring
//! is full a packet is not held, and is asked for again like the missing
//! ones; nothing is ever overwritten.

/// Bytes before each entry's packet: its length and its receipt time.
const ENTRY_HEADER: usize = 4 + 8;

/// The ring.
#[derive(Debug)]
pub struct Held {
    buf: Box<[u8]>,
    /// Where the oldest entry begins.
    head: usize,
    /// Where the next entry goes.
    tail: usize,
    /// Whether the newest entries start again at the ring's beginning,
    /// before `head`.
    wrapped: bool,
    /// Where the entries before a wrap end.
    end: usize,
    entries: usize,
}

impl Held {
    /// Room for `bytes` of entries (each packet and 12 bytes more); 0 holds
    /// nothing.
    pub fn new(bytes: usize) -> Held {
        Held {
            buf: vec![0; bytes].into_boxed_slice(),
            head: 0,
            tail: 0,
            wrapped: false,
            end: bytes,
            entries: 0,
        }
    }

    /// Packets held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
    }

    /// Holds `packet`, received at `received`; `false` when there is no
    /// room for it.
    pub fn push(&mut self, packet: &[u8], received: u64) -> bool {
        let need = ENTRY_HEADER + packet.len();
        let at = if !self.wrapped {
            // The free space runs from the tail to the ring's end, then
            // from its start to the head.
            if self.buf.len() - self.tail >= need {
                self.tail
            } else if self.head >= need {
                self.wrapped = true;
                self.end = self.tail;
                0
            } else {
                return false;
            }
        } else if self.head - self.tail >= need {
            self.tail
        } else {
            return false;
        };
        let len = packet.len() as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[at + 4..at + ENTRY_HEADER].copy_from_slice(&received.to_le_bytes());
        self.buf[at + ENTRY_HEADER..at + need].copy_from_slice(packet);
        self.tail = at + need;
        self.entries += 1;
        true
    }

    /// The oldest packet held, and when it was received.
    pub fn front(&self) -> Option<(&[u8], u64)> {
        if self.entries == 0 {
            return None;
        }
        let at = self.head;
        let len = u32::from_le_bytes(self.buf[at..at + 4].try_into().expect("4 bytes")) as usize;
        let received = u64::from_le_bytes(
            self.buf[at + 4..at + ENTRY_HEADER]
                .try_into()
                .expect("8 bytes"),
        );
        Some((
            &self.buf[at + ENTRY_HEADER..at + ENTRY_HEADER + len],
            received,
        ))
    }

    /// Lets the oldest go.
    pub fn pop(&mut self) {
        let Some((packet, _)) = self.front() else {
            return;
        };
        self.head += ENTRY_HEADER + packet.len();
        self.entries -= 1;
        if self.entries == 0 {
            self.clear();
        } else if self.wrapped && self.head == self.end {
            // The entries after the wrap are next.
            self.head = 0;
            self.wrapped = false;
            self.end = self.buf.len();
        }
    }

    /// Lets every one go.
    pub fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.wrapped = false;
        self.end = self.buf.len();
        self.entries = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn packets_come_back_in_order_with_their_receipt_times() {
        let mut held = Held::new(100);
        assert!(held.push(b"first", 1));
        assert!(held.push(b"second", 2));
        assert_eq!(held.front(), Some((&b"first"[..], 1)));
        held.pop();
        assert_eq!(held.front(), Some((&b"second"[..], 2)));
        held.pop();
        assert_eq!((held.front(), held.len()), (None, 0));
    }

    #[test]
    fn a_full_ring_refuses_and_keeps_what_it_holds() {
        let mut held = Held::new(2 * (ENTRY_HEADER + 10));
        assert!(held.push(&[1; 10], 1));
        assert!(held.push(&[2; 10], 2));
        assert!(!held.push(&[3; 1], 3));
        assert_eq!(held.front(), Some((&[1u8; 10][..], 1)));
        // Room at the start once the oldest is gone: the next one wraps.
        held.pop();
        assert!(held.push(&[4; 10], 4));
        assert_eq!(held.front(), Some((&[2u8; 10][..], 2)));
        held.pop();
        assert_eq!(held.front(), Some((&[4u8; 10][..], 4)));
        assert!(!Held::new(0).push(b"", 0));
    }

    /// The largest entry the property below pushes.
    const MAX_ENTRY: usize = ENTRY_HEADER + 89;

    proptest! {
        /// Any pushes and pops: the ring gives back what a queue of the
        /// same packets would, and refuses one only when it is nearly full
        /// (an entry's worth may be lost at the ring's end, and another
        /// may not fit in what is left).
        #[test]
        fn it_behaves_as_a_queue(
            size in 0usize..400,
            steps in proptest::collection::vec((any::<bool>(), 0usize..90), 0..300),
        ) {
            let mut held = Held::new(size);
            let mut model: VecDeque<(Vec<u8>, u64)> = VecDeque::new();
            for (n, (push, len)) in steps.into_iter().enumerate() {
                if push {
                    let packet = vec![n as u8; len];
                    let used: usize = model.iter().map(|(p, _)| ENTRY_HEADER + p.len()).sum();
                    let fitted = held.push(&packet, n as u64);
                    if fitted {
                        model.push_back((packet, n as u64));
                    } else if model.is_empty() {
                        prop_assert!(ENTRY_HEADER + len > size);
                    } else {
                        prop_assert!(used + 2 * MAX_ENTRY > size, "{used} of {size}");
                    }
                } else {
                    held.pop();
                    model.pop_front();
                }
                prop_assert_eq!(held.len(), model.len());
                prop_assert_eq!(
                    held.front(),
                    model.front().map(|(p, r)| (p.as_slice(), *r))
                );
            }
        }
    }
}
