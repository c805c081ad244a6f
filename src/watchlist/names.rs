//! Which operation names a reference contains, ASCII case aside, each as a word of
//! its own (no letter just before or after it: HAWK is not in HAWKINS, DOME not in
//! DOMESTIC; OP-NIGHTJAR and NIGHTJAR2 hold NIGHTJAR), or run together with the word
//! for an operation before it (OPNIGHTJAR, OpNightjar, OPERATIONNIGHTJAR: the
//! prefix is how forces write an operation's name, and a probe's reference so typed
//! named nothing): every name in one pass over the reference (an Aho-Corasick
//! automaton), instead of one pass for each name. With 200 operation names, comparing
//! each had taken a replay of the bench's force from about 760k to 360k events/s.
//!
//! A reference with other than ASCII in it is read as shown first ([`shown`]): what
//! shows nothing dropped, look-alike and full-width letters the ASCII they show
//! (`NIGHT\u{200b}JAR`, `NIGHTJАR` with a Cyrillic А), as names are folded the same way.

use aho_corasick::AhoCorasick;
use compact_str::CompactString;
use smallvec::SmallVec;

/// A set of names, and the automaton that finds them in a text.
#[derive(Debug, Default)]
pub struct NameMatcher {
    names: Vec<CompactString>,
    /// `None` with fewer than [`AUTOMATON_FROM`] names, or if the automaton could not
    /// be built: then each name is compared in turn.
    automaton: Option<AhoCorasick>,
}

/// Starting the automaton's search costs about what comparing two names does
/// (callgrind: 130 instructions more an access than one name compared, where each
/// further name costs about 7 ns): below this many names, each is compared.
const AUTOMATON_FROM: usize = 3;

impl NameMatcher {
    pub fn new(names: impl Iterator<Item = CompactString>) -> NameMatcher {
        let names: Vec<CompactString> = names.collect();
        let automaton = if names.len() < AUTOMATON_FROM {
            None
        } else {
            match AhoCorasick::builder().ascii_case_insensitive(true).build(&names) {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::warn!(error = %e, names = names.len(), "the operation names' automaton could not be built; each name is compared in turn");
                    None
                }
            }
        };
        NameMatcher { names, automaton }
    }

    /// The names `text` contains as words, ASCII case aside, each once.
    pub fn found_in(&self, text: &str) -> SmallVec<[&CompactString; 2]> {
        let text = shown(text);
        let text = text.as_ref();
        let Some(automaton) = &self.automaton else {
            return self.names.iter().filter(|n| contains_ignoring_case(text, n)).collect();
        };
        let mut found: SmallVec<[usize; 2]> = automaton
            .find_overlapping_iter(text)
            .filter(|m| named_at(text.as_bytes(), m.start(), m.end()))
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|i| &self.names[i]).collect()
    }
}

/// Whether `needle` occurs in `hay` as a word, ASCII case aside; only where the first
/// byte occurs is the rest compared (references are short: a loop over their bytes
/// costs less than a vector search's set-up).
fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(first) = n.first().map(u8::to_ascii_lowercase) else { return false };
    let Some(last_start) = h.len().checked_sub(n.len()) else { return false };
    h[..=last_start].iter().enumerate().any(|(i, b)| {
        b.to_ascii_lowercase() == first && h[i..i + n.len()].eq_ignore_ascii_case(n) && named_at(h, i, i + n.len())
    })
}

/// The words for an operation written before its name with nothing between.
const PREFIXES: [&[u8]; 4] = [b"OPERATION", b"OPS", b"OPN", b"OP"];

/// Whether `text[start..end]` is a name as written: no letter just after it, and none
/// just before it, or one of [`PREFIXES`] just before it with no letter before that.
fn named_at(text: &[u8], start: usize, end: usize) -> bool {
    let letter = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphabetic() || !b.is_ascii());
    let starts_word = |at: usize| !letter(at.checked_sub(1).and_then(|i| text.get(i)));
    let prefixed = || {
        PREFIXES.iter().any(|p| {
            start.checked_sub(p.len()).is_some_and(|at| text[at..start].eq_ignore_ascii_case(p) && starts_word(at))
        })
    };
    !letter(text.get(end)) && (starts_word(start) || prefixed())
}

/// `text` as shown: characters that show nothing dropped, each that shows an ASCII
/// one (full-width, mathematical, look-alike Cyrillic or Greek) that one. ASCII text
/// is borrowed as it is.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    use crate::event::normalise::shown_ascii;
    if text.is_ascii() {
        return text.into();
    }
    let shown: String =
        text.chars().filter(|c| !crate::event::raw::invisible(*c)).map(|c| shown_ascii(c).unwrap_or(c)).collect();
    shown.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The automaton finds what comparing each name finds: names that overlap,
        /// repeat, nest in one another, in any case, among other text.
        #[test]
        fn the_automaton_finds_what_comparing_each_name_finds(
            names in proptest::collection::btree_set("[A-D]{4,6}|[A-D]{2}É[A-D]", 0..12),
            text in "[a-dA-DoOpP -]{0,40}|[A-Da-d]{0,5}É[A-Da-d]{0,5}",
        ) {
            // Names as the watch lists key them (`operation_name_key`), the text as shown.
            let names: std::collections::BTreeSet<String> = names.iter().map(|n| shown(n).to_ascii_uppercase()).collect();
            let m = NameMatcher::new(names.into_iter().map(CompactString::from));
            let found: Vec<&str> = m.found_in(&text).iter().map(|n| n.as_str()).collect();
            let expected: Vec<&str> =
                m.names.iter().filter(|n| contains_ignoring_case(&shown(&text), n)).map(|n| n.as_str()).collect();
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn a_name_is_found_once_however_often_it_occurs() {
        let m = NameMatcher::new(["NIGHT", "NIGHTJAR", "JAR1"].into_iter().map(CompactString::from));
        assert!(m.automaton.is_some());
        let found: Vec<&str> = m.found_in("op nightjar / NIGHTJAR-2 night").iter().map(|n| n.as_str()).collect();
        assert_eq!(found, ["NIGHT", "NIGHTJAR"]);
        let found: Vec<&str> = m.found_in("OP-NIGHTJAR2").iter().map(|n| n.as_str()).collect();
        assert_eq!(found, ["NIGHTJAR"], "NIGHT is inside a word");
        // A name inside a longer word is not named (a review: HAWK in HAWKINS).
        let m = NameMatcher::new(["HAWK", "DOME", "NIGHTJAR"].into_iter().map(CompactString::from));
        assert!(m.found_in("hawkins / domestic").is_empty());
        assert_eq!(m.found_in("op hawk").len(), 1);
        assert!(NameMatcher::default().found_in("NIGHTJAR").is_empty());
    }

    /// A probe named an operation in ways a reader takes for its name and the matcher
    /// did not: run together with the word for an operation, a zero-width space inside
    /// it, a Cyrillic letter, full-width letters.
    #[test]
    fn a_name_run_together_with_its_prefix_or_typed_to_hide_is_found() {
        for names in [vec!["NIGHTJAR"], vec!["NIGHTJAR", "HAWK", "DOME"]] {
            let m = NameMatcher::new(names.into_iter().map(CompactString::from));
            for named in [
                "OPNIGHTJAR",
                "re OpNightjar 12",
                "OPERATIONNIGHTJAR",
                "opsnightjar",
                "OPN NIGHTJAR",
                "NIGHT\u{200b}JAR",
                "NIGHTJ\u{0410}R",
                "\u{FF2E}\u{FF29}\u{FF27}\u{FF28}\u{FF34}\u{FF2A}\u{FF21}\u{FF32}",
            ] {
                let found: Vec<&str> = m.found_in(named).iter().map(|n| n.as_str()).collect();
                assert_eq!(found, ["NIGHTJAR"], "{named:?}");
            }
            for not in ["TOPNIGHTJAR", "STOPNIGHTJAR", "OPNIGHTJARS", "OPXNIGHTJAR", "NIGHTJARÉ"] {
                assert!(m.found_in(not).is_empty(), "{not:?}");
            }
        }
    }
}
