//! Hashes that state keeps: in snapshots, read back by another instance, perhaps on
//! another machine or another build. xxHash64, whose output its specification fixes;
//! ahash's output may change with its version and build flags, so it is used only for
//! maps that live and die in one process.

/// The xxHash64 of a string's bytes.
pub fn stable(seed: u64, s: &str) -> u64 {
    twox_hash::XxHash64::oneshot(seed, s.as_bytes())
}

/// The xxHash64 of a tag and parts: `tag`, then each part followed by 0xff (a byte no
/// UTF-8 string holds, so `("ab", "c")` and `("a", "bc")` differ). Built on the stack
/// and hashed in one go: the streaming hasher costs twice as much on short keys.
pub fn stable_parts(seed: u64, tag: u8, parts: &[&[u8]]) -> u64 {
    let len = 1 + parts.iter().map(|p| p.len() + 1).sum::<usize>();
    let mut stack = [0u8; 256];
    let mut heap = Vec::new();
    let bytes = if len <= stack.len() {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap[..]
    };
    bytes[0] = tag;
    let mut at = 1;
    for part in parts {
        bytes[at..at + part.len()].copy_from_slice(part);
        at += part.len();
        bytes[at] = 0xff;
        at += 1;
    }
    twox_hash::XxHash64::oneshot(seed, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values fixed by xxHash64's specification: a snapshot written by one build is
    /// read by the next only while these hold.
    #[test]
    fn the_hashes_do_not_move_between_builds() {
        assert_eq!(stable(0, ""), 0xEF46_DB37_51D8_E999);
        assert_eq!(stable(0, "abc"), 0x44BC_2CF5_AD77_0999);
        assert_eq!(stable_parts(7, 1, &[b"ab", b"c"]), twox_hash::XxHash64::oneshot(7, b"\x01ab\xffc\xff"));
        assert_ne!(stable_parts(7, 1, &[b"ab", b"c"]), stable_parts(7, 1, &[b"a", b"bc"]));
        assert_ne!(stable_parts(7, 1, &[b"ab"]), stable_parts(7, 2, &[b"ab"]));
        // Longer than the stack buffer: the same bytes hashed from the heap.
        let long = "é".repeat(200);
        let mut bytes = vec![3u8];
        bytes.extend_from_slice(long.as_bytes());
        bytes.push(0xff);
        assert_eq!(stable_parts(7, 3, &[long.as_bytes()]), twox_hash::XxHash64::oneshot(7, &bytes));
    }
}
