//! Identifiers as every join compares them: user ids (case, invisible characters,
//! full-width forms) and record ids (characters that show ASCII ones, PNC ids written
//! long).

use super::shown_latin;
use compact_str::CompactString;

/// A user id as every join compares it: its ASCII letters upper-cased, so that `u10040`
/// in one system's log is `U10040` of the staff list and of another system (directory
/// account names are case-insensitive, and systems log them as they were typed).
///
/// Characters that show nothing are dropped and white space trimmed, as an event's
/// identifiers are where they are read: a watch list's or the configuration's id must
/// not keep what an event's loses (`U9001\u{200b}` in a staff list matched no event).
///
/// Full-width forms (`Ｕ９００１`, as an East Asian input method or a spreadsheet's
/// width conversion writes them) are the ASCII characters they show.
pub fn user_id(id: &mut CompactString) {
    let padded = id.starts_with(char::is_whitespace) || id.ends_with(char::is_whitespace);
    if padded || (!id.is_ascii() && id.chars().any(|c| crate::event::invisible(c) || full_width(c).is_some())) {
        let shown: String =
            id.chars().filter(|c| !crate::event::invisible(*c)).map(|c| full_width(c).unwrap_or(c)).collect();
        *id = shown.trim().into();
    }
    if id.bytes().any(|b| b.is_ascii_lowercase()) {
        id.make_ascii_uppercase();
    }
}

/// A record id as the watch-list joins compare it: each character that shows an ASCII
/// one is that character ([`shown_ascii`]: full-width forms, `１１/１１１１１１Ａ`, as in user
/// ids; mathematical and circled letters, `78/1023600𝐒`; Cyrillic, Greek and Armenian
/// letters that look Latin, `11/111111А`: probes whose ids so typed matched nothing);
/// its case is left to the comparison.
///
/// A PNC id in its long form (`1985/0905299S`: the year in four digits, the serial
/// padded to seven) is its short form (`85/905299S`), as PNC shows it: a probe's
/// look-ups of a high-profile person and of an operation's subject so written matched
/// nothing.
pub fn record_id(id: CompactString) -> CompactString {
    let id = if id.is_ascii() || !id.chars().any(|c| shown_ascii(c).is_some()) {
        id
    } else {
        id.chars().map(|c| shown_ascii(c).unwrap_or(c)).collect::<String>().trim().into()
    };
    pnc_short_form(&id).unwrap_or(id)
}

/// The short form of a PNC id written long or spaced (`1985/0905299S`, `85/0905299S`,
/// `85 / 905299 S`, `1985-0905299S`, `1985\0905299S` -> `85/905299S`): a year of two
/// digits, or of four from 1900 to 2099, a slash or backslash (for a year of four, a
/// dash or dot too) with spaces about it, a serial of up to seven digits after its
/// leading zeros and a check letter. `None` for any other id, or one already short.
fn pnc_short_form(id: &str) -> Option<CompactString> {
    let b = id.as_bytes();
    let year = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let long_year = year == 4 && (b.starts_with(b"19") || b.starts_with(b"20"));
    if year != 2 && !long_year {
        return None;
    }
    let rest = &b[year..];
    let seps = rest.iter().take_while(|c| matches!(c, b' ' | b'/' | b'\\' | b'-' | b'.')).count();
    let marks: Vec<u8> = rest[..seps].iter().copied().filter(|c| *c != b' ').collect();
    let mark_ok =
        matches!(marks.as_slice(), [b'/'] | [b'\\']) || (long_year && matches!(marks.as_slice(), [b'-'] | [b'.']));
    let rest = &rest[seps..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let (serial, tail) = rest.split_at(digits);
    let tail_spaces = tail.iter().take_while(|c| **c == b' ').count();
    let ([letter], false) = (&tail[tail_spaces..], serial.is_empty()) else { return None };
    if !mark_ok || !letter.is_ascii_alphabetic() {
        return None;
    }
    let zeros = serial.iter().take(serial.len() - 1).take_while(|&&d| d == b'0').count();
    let short = year == 2 && seps == 1 && marks == [b'/'] && zeros == 0 && tail_spaces == 0;
    if short || serial.len() - zeros > 7 {
        return None;
    }
    let (yy, serial) =
        (&id[year - 2..year], &id[id.len() - 1 - tail_spaces - digits + zeros..id.len() - 1 - tail_spaces]);
    Some(compact_str::format_compact!("{yy}/{serial}{}", char::from(*letter)))
}

/// The ASCII character a non-ASCII one shows, if any: its compatibility decomposition
/// when that is one ASCII character and accents (`Ｓ`, `𝐒`, `Ⓢ`, `Ś` are S; the
/// ideographic space a space), or the Latin capital a Cyrillic, Greek or Armenian
/// letter looks like ([`shown_latin`], read from its capital). `None` for ASCII.
pub fn shown_ascii(c: char) -> Option<char> {
    use unicode_normalization::char::{decompose_compatible, is_combining_mark};
    if c.is_ascii() {
        return None;
    }
    let (mut first, mut count) = (None, 0);
    decompose_compatible(c, |d| {
        if !is_combining_mark(d) {
            first = first.or(Some(d));
            count += 1;
        }
    });
    let d = first.filter(|_| count == 1)?;
    if d.is_ascii() {
        return Some(d);
    }
    let mut upper = d.to_uppercase();
    let (Some(u), None) = (upper.next(), upper.next()) else { return None };
    Some(shown_latin(u)).filter(char::is_ascii)
}

/// The ASCII character a full-width form shows (U+FF01-FF5E), or the ideographic space.
fn full_width(c: char) -> Option<char> {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        '\u{3000}' => Some(' '),
        _ => None,
    }
}
