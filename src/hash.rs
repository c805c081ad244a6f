//! Hashes that state keeps: in snapshots, read back by another instance, perhaps on
//! another machine or another build. xxHash64, whose output its specification fixes;
//! ahash's output may change with its version and build flags, so it is used only for
//! maps that live and die in one process.

use std::hash::{BuildHasher, Hash};

/// The xxHash64 of a string's bytes.
pub fn stable(seed: u64, s: &str) -> u64 {
    twox_hash::XxHash64::oneshot(seed, s.as_bytes())
}

/// The xxHash64 of a value as `Hash` writes it: strings as their bytes and a 0xff,
/// integers little-endian on every target this builds for.
pub fn stable_of<T: Hash + ?Sized>(seed: u64, value: &T) -> u64 {
    twox_hash::xxhash64::State::with_seed(seed).hash_one(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values fixed by xxHash64's specification and `Hash`'s layout: a snapshot written
    /// by one build is read by the next only while these hold.
    #[test]
    fn the_hashes_do_not_move_between_builds() {
        assert_eq!(stable(0, ""), 0xEF46_DB37_51D8_E999);
        assert_eq!(stable(0, "abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(stable_of(0, "abc"), twox_hash::XxHash64::oneshot(0, b"abc\xff"));
        assert_eq!(stable_of(7, &(1u8, "ab", 5i32)), twox_hash::XxHash64::oneshot(7, b"\x01ab\xff\x05\x00\x00\x00"));
    }
}
