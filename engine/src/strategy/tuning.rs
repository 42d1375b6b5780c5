//! New strategy parameters on their way to a running strategy: parsed and
//! checked on the control side (by the strategy's registered tuner, with
//! the same checks as at start-up), carried to the decide stage through
//! the command ring, read there by [`super::Strategy::retune`], and handed
//! back through the ring, so that the decide stage neither allocates nor
//! frees them.

use std::any::Any;
use std::fmt;

/// A strategy's parameters, of the type its own tuner made.
pub struct Tuning(Box<dyn Any + Send>);

impl Tuning {
    /// Wraps `params` (allocates: call it on the control side).
    pub fn new<P: Any + Send>(params: P) -> Tuning {
        Tuning(Box::new(params))
    }

    /// The parameters, when they are a `P`.
    #[inline]
    pub fn get<P: Any>(&self) -> Option<&P> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Tuning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tuning(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tuning_reads_back_only_as_its_own_type() {
        let tuning = Tuning::new(7_u32);
        assert_eq!(tuning.get::<u32>(), Some(&7));
        assert_eq!(tuning.get::<i64>(), None);
    }
}
