//! Randomness: the operating system's generator, through `rand`'s `SysRng`
//! (getrandom underneath). Every draw comes straight from the OS: no
//! generator state lives in the process to leak or to be copied by a fork.

use rand::rngs::SysRng;
use rand::TryRng;

use crate::error::{Error, Result};

/// Fills `buf` with random bytes from the operating system.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    SysRng.try_fill_bytes(buf).map_err(|_| Error::Random)
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        super::fill(&mut a).unwrap();
        super::fill(&mut b).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }
}
