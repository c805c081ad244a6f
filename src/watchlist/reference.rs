//! References as incidents are found by them: their letters and digits, upper case,
//! and where their separators split a number.

use compact_str::CompactString;

/// Normalises a justifying reference for comparison: trimmed, upper case.
pub fn normalise_reference(r: &str) -> CompactString {
    let mut s = CompactString::from(r.trim());
    s.make_ascii_uppercase();
    s
}

/// A reference as incidents are found by it: its letters and digits, upper case, so
/// that `INC 20261025 03366`, `inc-20261025-03366` and `INC/20261025/03366` are the
/// same incident (officers type the separators as they please). A reference of no
/// letter or digit is kept whole (trimmed, upper case).
pub fn reference_key(r: &str) -> CompactString {
    let mut buf = [0u8; SHORT_REFERENCE];
    if let Some(key) = short_reference_key(r, &mut buf) {
        return key.into();
    }
    let key: CompactString = r.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect();
    if key.is_empty() {
        normalise_reference(r)
    } else {
        key
    }
}

/// The longest reference [`short_reference_key`] keys on the stack.
pub const SHORT_REFERENCE: usize = 64;

/// [`reference_key`] for nearly every reference, short ASCII, written into `buf`: no
/// string is built (it is looked up for every access). `None` for any other, or one
/// of no letter or digit.
pub fn short_reference_key<'b>(r: &str, buf: &'b mut [u8; SHORT_REFERENCE]) -> Option<&'b str> {
    if r.len() > SHORT_REFERENCE || !r.is_ascii() {
        return None;
    }
    // Every byte is written where the key goes on, and the key goes on only past a
    // letter or digit: no branch a byte (callgrind: about 400 instructions a reference
    // with a filter and a branch each byte, 130 with this).
    let mut n = 0;
    for &b in r.as_bytes() {
        let k = KEY_BYTE[b as usize];
        buf[n] = k;
        n += usize::from(k != 0);
    }
    (n > 0).then(|| std::str::from_utf8(&buf[..n]).ok()).flatten()
}

/// Whether two references with the same key ([`reference_key`]) split their numbers
/// in places that agree ([`splits`]): the places one marks are all among the other's
/// (`INC20261025-03366` and `INC-20261025-03366`, or one written without any), so
/// that `41/2345/26` is not `4/12345/26`.
pub fn same_grouping(a: &str, b: &str) -> bool {
    if a == b {
        return true; // nearly every look-up: the reference as the incident has it
    }
    if let (Some(a), Some(b)) = (short_splits(a), short_splits(b)) {
        return a & !b == 0 || b & !a == 0;
    }
    let (a, b) = (splits(a), splits(b));
    a.iter().all(|p| b.contains(p)) || b.iter().all(|p| a.contains(p))
}

/// [`splits`] of a short ASCII reference, as the bits of a word: without building a
/// list (every access with a known incident asks). `None` for any other.
pub(super) fn short_splits(r: &str) -> Option<u64> {
    if r.len() > 64 || !r.is_ascii() {
        return None;
    }
    let (mut bits, mut kept, mut pending, mut last_digit) = (0u64, 0u32, false, false);
    for &c in r.as_bytes() {
        if c.is_ascii_alphanumeric() {
            let digit = c.is_ascii_digit();
            if pending && last_digit && digit {
                bits |= 1 << kept;
            }
            pending = false;
            last_digit = digit;
            kept += 1;
        } else {
            pending = true;
        }
    }
    Some(bits)
}

/// Where a reference's separators split a number: after how many of its letters and
/// digits each run of other characters between two digits comes (`4/12345/26`: 1
/// and 6). A separator between a letter and a digit splits nothing a number could be
/// read across (`INC-2026` and `INC2026` are one).
pub fn splits(r: &str) -> smallvec::SmallVec<[u16; 8]> {
    let mut out = smallvec::SmallVec::new();
    let (mut kept, mut pending, mut last_digit) = (0u16, false, false);
    for c in r.chars() {
        if c.is_alphanumeric() {
            let digit = c.is_numeric();
            if pending && last_digit && digit {
                out.push(kept);
            }
            pending = false;
            last_digit = digit;
            kept = kept.saturating_add(1);
        } else {
            pending = true;
        }
    }
    out
}

/// A byte as a reference key holds it: a letter upper case, a digit itself, 0 for any
/// other byte (which the key leaves out).
static KEY_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] = c.to_ascii_uppercase();
        }
        b += 1;
    }
    t
};
