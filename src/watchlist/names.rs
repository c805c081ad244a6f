//! Which operation names a reference contains, ASCII case aside, each as a word of
//! its own (no letter just before or after it: HAWK is not in HAWKINS, DOME not in
//! DOMESTIC; OP-NIGHTJAR and NIGHTJAR2 hold NIGHTJAR): every name in one pass over the
//! reference (an Aho-Corasick automaton), instead of one pass for each name. With 200 operation names, comparing each had taken a replay of the bench's
//! force from about 760k to 360k events/s.

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
        let Some(automaton) = &self.automaton else {
            return self.names.iter().filter(|n| contains_ignoring_case(text, n)).collect();
        };
        let mut found: SmallVec<[usize; 2]> = automaton
            .find_overlapping_iter(text)
            .filter(|m| a_word(text.as_bytes(), m.start(), m.end()))
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
        b.to_ascii_lowercase() == first && h[i..i + n.len()].eq_ignore_ascii_case(n) && a_word(h, i, i + n.len())
    })
}

/// Whether `text[start..end]` has no letter just before or after it.
fn a_word(text: &[u8], start: usize, end: usize) -> bool {
    let letter = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphabetic() || !b.is_ascii());
    !letter(start.checked_sub(1).and_then(|i| text.get(i))) && !letter(text.get(end))
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
            text in "[a-dA-D -]{0,40}|[A-Da-d]{0,5}É[A-Da-d]{0,5}",
        ) {
            let m = NameMatcher::new(names.iter().map(|n| CompactString::from(n.as_str())));
            let found: Vec<&str> = m.found_in(&text).iter().map(|n| n.as_str()).collect();
            let expected: Vec<&str> =
                m.names.iter().filter(|n| contains_ignoring_case(&text, n)).map(|n| n.as_str()).collect();
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
}
