//! Identity normalisation (spec/events.md, "Identity of a subject").
//!
//! Names are case folded (to upper case), accents, apostrophes and hyphens dropped,
//! other punctuation read as spaces (docs/contract.md: the spec drops it all, which
//! ran `J.Smith` together), titles left out, spaces collapsed. With a comma or slash the part before it is the
//! surname (`SMITH, John`, `smith/john`); without one the last word is (`John Smith`).
//! VRMs and postcodes lose their spaces and are upper-cased. User ids are upper-cased
//! (their ASCII letters) wherever they enter: events, watch lists, configuration.

use compact_str::CompactString;
use std::fmt;

/// A person's name reduced to the form the watch-list join compares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PersonName {
    /// Upper-case surname, its words run together: a double-barrelled name is typed
    /// with a space as often as with a hyphen (`OKONKWO BELL`, `Okonkwo-Bell`), and a
    /// particle with or without one (`DE SOUZA`, `DESOUZA`, `O'Brien`, `O BRIEN`).
    pub surname: CompactString,
    /// Upper-case forenames separated by one space; empty when none were given.
    pub forenames: CompactString,
}

impl PersonName {
    /// Normalises a name as typed or returned by a system. `None` when no surname is
    /// left after normalisation.
    pub fn parse(raw: &str) -> Option<PersonName> {
        let mut name = match parse_short_ascii(raw) {
            Some(name) => name,
            None => parse_any(raw),
        }?;
        drop_titles(&mut name);
        run_together(&mut name.surname);
        Some(name)
    }

    /// The surname as archives written before its words were run together may hold it
    /// (`OKONKWO BELL`, typed so), when it has more than one word: a look-up over them
    /// asks for both. A hyphen or apostrophe parts words here (`Okonkwo-Bell`,
    /// `O'Brien` asks for `O BRIEN` too).
    pub fn surname_in_words(raw: &str) -> Option<CompactString> {
        let spaced: String = raw.chars().map(|c| if matches!(c, '-' | '\'' | '\u{2019}') { ' ' } else { c }).collect();
        let mut name = match parse_short_ascii(&spaced) {
            Some(name) => name,
            None => parse_any(&spaced),
        }?;
        drop_titles(&mut name);
        name.surname.contains(' ').then_some(name.surname)
    }

    /// Builds a name from separate surname and forename columns (the staff table).
    pub fn from_parts(surname: &str, forenames: &str) -> Option<PersonName> {
        let mut name = PersonName { surname: words(&fold(surname)), forenames: words(&fold(forenames)) };
        if name.surname.is_empty() {
            return None;
        }
        drop_titles(&mut name);
        run_together(&mut name.surname);
        Some(name)
    }

    /// Surnames equal, and forenames equal or one list a prefix of the other by whole
    /// words or initials (`JOHN`, `J`, `JOHN PAUL`).
    pub fn matches(&self, other: &PersonName) -> bool {
        self.surname == other.surname && forenames_compatible(&self.forenames, &other.forenames)
    }

    /// Whether a match with `other` rests on an initial: some forename of one side is
    /// only the initial of the other's (`J` against `JOHN`). Meaningful when
    /// [`PersonName::matches`] holds.
    pub fn matches_by_initial(&self, other: &PersonName) -> bool {
        let xs = self.forenames.split(' ').filter(|w| !w.is_empty());
        let ys = other.forenames.split(' ').filter(|w| !w.is_empty());
        xs.zip(ys).any(|(x, y)| x != y && (x.len() == 1 || y.len() == 1))
    }

    pub fn has_forenames(&self) -> bool {
        !self.forenames.is_empty()
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.forenames.is_empty() {
            f.write_str(&self.surname)
        } else {
            write!(f, "{}, {}", self.surname, self.forenames)
        }
    }
}

/// [`PersonName::parse`] for any name: folded (accents and all), then split.
fn parse_any(raw: &str) -> Option<PersonName> {
    let folded = fold(raw);
    let (surname, forenames) = match folded.find([',', '/']) {
        Some(at) => (words(&folded[..at]), words(&folded[at + 1..])),
        None => {
            let all = words(&folded);
            match all.rfind(' ') {
                Some(at) => (CompactString::from(&all[at + 1..]), CompactString::from(&all[..at])),
                None => (all, CompactString::default()),
            }
        }
    };
    (!surname.is_empty()).then_some(PersonName { surname, forenames })
}

/// [`PersonName::parse`] for a short ASCII name (nearly every one), on the stack:
/// the same folding and splitting, with no string built until the two parts are
/// known. `None` when the name is not short ASCII.
fn parse_short_ascii(raw: &str) -> Option<Option<PersonName>> {
    const MAX: usize = 64;
    if !raw.is_ascii() || raw.len() > MAX {
        return None;
    }
    let mut folded = [0u8; MAX];
    let mut n = 0;
    for b in raw.bytes().filter_map(name_byte) {
        folded[n] = b;
        n += 1;
    }
    let folded = &folded[..n];
    // Words separated by one space, as `words` writes them.
    let words = |part: &[u8]| -> ([u8; MAX], usize) {
        let mut out = [0u8; MAX];
        let mut len = 0;
        for w in part.split(|b| matches!(b, b' ' | b',' | b'/')).filter(|w| !w.is_empty()) {
            if len > 0 {
                out[len] = b' ';
                len += 1;
            }
            out[len..len + w.len()].copy_from_slice(w);
            len += w.len();
        }
        (out, len)
    };
    // Only ASCII letters, digits and spaces were written.
    let text = |b: &[u8]| CompactString::from(std::str::from_utf8(b).unwrap_or_default());
    let (surname, forenames) = match folded.iter().position(|b| matches!(b, b',' | b'/')) {
        Some(at) => {
            let ((s, sn), (f, fn_)) = (words(&folded[..at]), words(&folded[at + 1..]));
            (text(&s[..sn]), text(&f[..fn_]))
        }
        None => {
            let (all, len) = words(folded);
            let all = &all[..len];
            match all.iter().rposition(|b| *b == b' ') {
                Some(at) => (text(&all[at + 1..]), text(&all[..at])),
                None => (text(all), CompactString::default()),
            }
        }
    };
    Some((!surname.is_empty()).then_some(PersonName { surname, forenames }))
}

/// A surname's words run together (see [`PersonName::surname`]).
fn run_together(surname: &mut CompactString) {
    if surname.contains(' ') {
        surname.retain(|c| c != ' ');
    }
}

/// Whether one forename list is a prefix of the other, word by word, where a single
/// letter matches any word with that initial, and a hyphenated forename (run together
/// as normalised: `Jean-Paul` is `JEANPAUL`) matches its words typed apart (`JEAN
/// PAUL`): an evaluator's `DUPONT/JEAN PAUL` was not the high-profile `DUPONT,
/// Jean-Paul`. Not `JEAN` alone: where the hyphen was is not kept, and `JO` is not
/// `JOHN`.
pub fn forenames_compatible(a: &str, b: &str) -> bool {
    let mut xs = a.split(' ').filter(|w| !w.is_empty());
    let mut ys = b.split(' ').filter(|w| !w.is_empty());
    loop {
        match (xs.next(), ys.next()) {
            (Some(x), Some(y)) => {
                let same = x == y
                    || (x.len() == 1 && y.as_bytes()[0] == x.as_bytes()[0])
                    || (y.len() == 1 && x.as_bytes()[0] == y.as_bytes()[0]);
                let mut joined = || match x.len() > y.len() {
                    true => run_of(x, y, &mut ys),
                    false => run_of(y, x, &mut xs),
                };
                if !same && !joined() {
                    return false;
                }
            }
            _ => return true,
        }
    }
}

/// Whether `word` is `first` and the words after it in `rest` run together, each a
/// name of more than one letter: `PAUL A` is Paul with a middle initial, not `PAULA`
/// (a review: a search for `SMITH/PAUL A` was a red for a high-profile Paula Smith).
fn run_of<'a>(word: &str, first: &str, rest: &mut impl Iterator<Item = &'a str>) -> bool {
    if first.len() < 2 {
        return false;
    }
    let Some(mut left) = word.strip_prefix(first) else { return false };
    while !left.is_empty() {
        match rest.next().filter(|next| next.len() > 1).and_then(|next| left.strip_prefix(next)) {
            Some(l) => left = l,
            None => return false,
        }
    }
    true
}

/// Upper-cases, strips accents, keeps letters, digits, spaces, commas and slashes.
fn fold(raw: &str) -> CompactString {
    if raw.is_ascii() && raw.len() <= 64 {
        // Byte by byte into a buffer on the stack: names are short and nearly always
        // ASCII, and this runs for every event that names a person.
        let mut buf = [0u8; 64];
        let mut n = 0;
        for b in raw.bytes().filter_map(name_byte) {
            buf[n] = b;
            n += 1;
        }
        // Only ASCII bytes were written.
        return CompactString::from(std::str::from_utf8(&buf[..n]).unwrap_or_default());
    }
    let mut out = CompactString::default();
    use unicode_normalization::char::{decompose_compatible, is_combining_mark};
    // Compatibility forms too: full-width letters and commas, mathematical letters,
    // ligatures are the letters they show. No name is longer than `NAME_CHARS`: the
    // rest of a longer one is not read (a record of 20,000 characters that decompose
    // eighteen-fold each took 25 ms to fold, several times an event: a probe).
    for c in raw.chars().take(NAME_CHARS) {
        match name_mark(c) {
            Some(NameMark::Joins) => continue,
            Some(NameMark::Is(mark)) => {
                out.push(mark);
                continue;
            }
            None => {}
        }
        decompose_compatible(c, |d| {
            if d.is_ascii() {
                out.extend(name_byte(d as u8).map(char::from));
            } else if is_combining_mark(d) || super::invisible(d) {
            } else if let Some(latin) = unaccented(d) {
                out.push_str(latin);
            } else if d.is_alphanumeric() {
                out.extend(d.to_uppercase().map(shown_latin));
            } else {
                out.push(' ');
            }
        });
    }
    out
}

/// The most characters of a name, VRM or postcode read (no real one comes near).
const NAME_CHARS: usize = 256;

/// What an ASCII byte of a name is to the fold: a letter upper-cased, a digit, the
/// comma or slash that ends the surname (a backslash is a slash typed with the key
/// beside it), nothing (an apostrophe or a hyphen joins the parts of a word: `O'Brien`,
/// `Smith-Jones`), or a space: any other punctuation or control character parts
/// words, as it shows (`J.Smith`, `Dexter_Vance`, a vertical tab), where dropping it
/// ran the words together and the name was no one's (a probe).
fn name_byte(b: u8) -> Option<u8> {
    match b {
        b'a'..=b'z' => Some(b - 32),
        b'A'..=b'Z' | b'0'..=b'9' | b',' | b'/' => Some(b),
        b'\\' => Some(b'/'),
        b'\'' | b'`' | b'-' => None,
        _ => Some(b' '),
    }
}

/// A character of a name that is read before its decomposition.
enum NameMark {
    /// An apostrophe or a dash of another form: joins the parts of a word.
    Joins,
    /// A space, comma or slash of another form.
    Is(char),
}

/// Apostrophes and dashes of other forms join; comma and slash forms that decompose to
/// something else are the comma and slash; characters that show as a blank (the
/// Braille blank, the Hangul fillers) part words as a space does, where dropping them
/// ran `Dexter\u{2800}Vance` together (a probe).
fn name_mark(c: char) -> Option<NameMark> {
    Some(match c {
        '\u{2018}'
        | '\u{2019}'
        | '\u{201B}'
        | '\u{02BB}'
        | '\u{02BC}'
        | '\u{02BD}'
        | '\u{02B9}'
        | '\u{2032}'
        | '\u{00B4}'
        | '\u{FF07}'
        | '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{2043}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}'
        | '\u{058A}'
        | '\u{05BE}'
        | '\u{1806}'
        | '\u{2E3A}'
        | '\u{2E3B}' => NameMark::Joins,
        '\u{2800}' | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => NameMark::Is(' '),
        '\u{201A}' | '\u{060C}' | '\u{3001}' | '\u{FF64}' => NameMark::Is(','),
        '\u{2044}' | '\u{2215}' | '\u{29F8}' | '\u{2216}' | '\u{29F5}' | '\u{29F9}' | '\u{FF3C}' => NameMark::Is('/'),
        _ => return None,
    })
}

/// Titles typed before a name (`Mr Dexter VANCE`, `VANCE, Mrs Ann`): not part of it.
const TITLES: [&str; 13] =
    ["MR", "MRS", "MISS", "MS", "MX", "DR", "REV", "REVD", "SIR", "DAME", "LADY", "LORD", "PROF"];

/// Leaves out titles at the start of the forenames, and at the start of a surname of
/// more than one word (`MR VANCE-HOLLOWAY, Dexter`): a title made the name another
/// person's, the date of birth notwithstanding (a probe). A surname of one word is kept
/// whatever it is (`LORD, John`).
fn drop_titles(name: &mut PersonName) {
    fn without_first_titles(words: &str, keep_one: bool) -> Option<CompactString> {
        let mut rest = words;
        while let Some((first, after)) = rest.split_once(' ') {
            if !TITLES.contains(&first) {
                break;
            }
            rest = after;
        }
        if !keep_one && TITLES.contains(&rest) {
            rest = "";
        }
        (rest.len() != words.len()).then(|| rest.into())
    }
    if let Some(s) = without_first_titles(&name.surname, true) {
        name.surname = s;
    }
    if let Some(f) = without_first_titles(&name.forenames, false) {
        name.forenames = f;
    }
}

/// Latin letters that no decomposition takes apart, written as a name is in ASCII
/// (PNC is ASCII: `ŁUKASZEWSKI` is searched as `LUKASZEWSKI`, `ØSTERGÅRD` as
/// `OSTERGARD`).
fn unaccented(c: char) -> Option<&'static str> {
    Some(match c {
        'Ł' | 'ł' | 'Ŀ' | 'ŀ' => "L",
        'Ø' | 'ø' => "O",
        'Đ' | 'đ' | 'Ð' | 'ð' => "D",
        'Ħ' | 'ħ' => "H",
        'Ŧ' | 'ŧ' => "T",
        'ı' => "I",
        'Œ' | 'œ' => "OE",
        'Æ' | 'æ' => "AE",
        'Þ' | 'þ' => "TH",
        'ß' | 'ẞ' => "SS",
        _ => return None,
    })
}

/// The Latin capital an upper-case Cyrillic, Greek or Armenian letter shows, or the
/// letter itself: `STАRLING` typed with a Cyrillic А is STARLING to a reader of the
/// log, and a search for the name (a probe: it matched no one). Upper-case letters
/// only, reached by upper-casing first, so that a letter folds alike in either case
/// (`а` and `А` are both A) and a genuine Cyrillic or Greek name written in mixed
/// case folds as its capitals do (`Иванов` and `ИВАНОВ` are both `ИBAHOB`): the
/// letters no Latin one looks like stay as they are.
fn shown_latin(c: char) -> char {
    match c {
        // Cyrillic
        'А' => 'A',
        'В' => 'B',
        'Е' | 'Ё' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' | 'Һ' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'У' | 'Ү' => 'Y',
        'Ѕ' => 'S',
        'І' | 'Ї' => 'I',
        'Ј' => 'J',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        'Ѵ' => 'V',
        // Greek
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'Ϲ' => 'C',
        'Ϳ' => 'J',
        // Armenian
        'Օ' => 'O',
        'Ս' => 'U',
        _ => c,
    }
}

/// Collapses runs of spaces (and stray separators) into single spaces, trimmed.
fn words(s: &str) -> CompactString {
    let mut out = CompactString::default();
    for w in s.split([' ', ',', '/']).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Keeps the letters and digits, upper-cased; `None` if nothing is left. A VRM or a
/// postcode is letters and digits alone: spaces, hyphens, dots and characters that
/// show nothing are how it was typed, not what it is (`KR11-AYS`, `KR11\u{200B}AYS`).
fn squash(raw: &str) -> Option<CompactString> {
    if raw.is_ascii() && raw.len() <= 32 {
        let mut buf = [0u8; 32];
        let mut n = 0;
        for b in raw.bytes().filter(u8::is_ascii_alphanumeric) {
            buf[n] = b.to_ascii_uppercase();
            n += 1;
        }
        return (n > 0).then(|| CompactString::from(std::str::from_utf8(&buf[..n]).unwrap_or_default()));
    }
    let mut out = CompactString::default();
    use unicode_normalization::char::{decompose_compatible, is_combining_mark};
    // Full-width letters and digits are the ASCII ones they show.
    for c in raw.chars().take(NAME_CHARS).filter(|c| name_mark(*c).is_none()) {
        decompose_compatible(c, |d| {
            if !d.is_alphanumeric() || is_combining_mark(d) {
                return;
            }
            match unaccented(d) {
                Some(latin) => out.push_str(latin),
                None => out.extend(d.to_uppercase().map(shown_latin)),
            }
        });
    }
    (!out.is_empty()).then_some(out)
}

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
    if padded || (!id.is_ascii() && id.chars().any(|c| super::invisible(c) || full_width(c).is_some())) {
        let shown: String = id.chars().filter(|c| !super::invisible(*c)).map(|c| full_width(c).unwrap_or(c)).collect();
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
pub fn record_id(id: CompactString) -> CompactString {
    if id.is_ascii() || !id.chars().any(|c| shown_ascii(c).is_some()) {
        return id;
    }
    id.chars().map(|c| shown_ascii(c).unwrap_or(c)).collect::<String>().trim().into()
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

/// A vehicle registration mark without spaces, upper case (`ab12 cde` -> `AB12CDE`).
pub fn vrm(raw: &str) -> Option<CompactString> {
    squash(raw)
}

/// A UK postcode without spaces, upper case (`sw1a 1aa` -> `SW1A1AA`).
pub fn postcode(raw: &str) -> Option<CompactString> {
    squash(raw)
}

/// The postcode sector of a normalised postcode: the postcode minus its last two
/// letters (`SW1A1AA` -> `SW1A1`). `None` when the postcode does not end in a digit
/// and two letters, as a full UK postcode does.
pub fn postcode_sector(normalised: &str) -> Option<&str> {
    let b = normalised.as_bytes();
    let n = b.len();
    if n >= 5 && b[n - 1].is_ascii_alphabetic() && b[n - 2].is_ascii_alphabetic() && b[n - 3].is_ascii_digit() {
        Some(&normalised[..n - 2])
    } else {
        None
    }
}

/// Writes a postcode sector in its usual form (`SW1A1` -> `SW1A 1`).
pub fn sector_display(sector: &str) -> String {
    if sector.len() > 1 && sector.is_ascii() {
        let (outward, digit) = sector.split_at(sector.len() - 1);
        format!("{outward} {digit}")
    } else {
        sector.to_string()
    }
}

/// Writes a normalised postcode in its usual spaced form (`SW1A1AA` -> `SW1A 1AA`).
pub fn postcode_display(normalised: &str) -> String {
    if normalised.len() > 3 && normalised.is_ascii() {
        let (outward, inward) = normalised.split_at(normalised.len() - 3);
        format!("{outward} {inward}")
    } else {
        normalised.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PersonName {
        PersonName::parse(s).unwrap()
    }

    #[test]
    fn spec_examples_normalise_alike() {
        let forms = ["SMITH, John", "John SMITH", "smith/john", "  john   smith ", "Smith,JOHN"];
        for f in forms {
            assert_eq!(name(f), PersonName { surname: "SMITH".into(), forenames: "JOHN".into() }, "{f}");
        }
    }

    #[test]
    fn accents_and_punctuation_are_dropped() {
        assert_eq!(name("O'Brien, Siân").surname, "OBRIEN");
        assert_eq!(name("O'Brien, Siân").forenames, "SIAN");
        assert_eq!(name("José Núñez").surname, "NUNEZ");
        assert_eq!(name("SMITH-JONES, Anne").surname, "SMITHJONES");
        assert_eq!(name("Smith, Mary-Jane"), name("MARYJANE SMITH"));
        // A double-barrelled surname or a particle, typed with a space or without
        // (found by a probe: a celebrity written `OKONKWO BELL, Kai` was missed).
        assert_eq!(name("OKONKWO BELL, Kai"), name("Okonkwo-Bell, Kai"));
        assert_eq!(name("de Souza / Ana").surname, "DESOUZA");
        assert_eq!(name("Ó Súilleabháin, Seán"), name("O'Suilleabhain, Sean"));
        assert_eq!(PersonName::from_parts("Okonkwo Bell", "Kai"), Some(name("OKONKWO-BELL, KAI")));
        assert_eq!(PersonName::surname_in_words("OKONKWO BELL, Kai").as_deref(), Some("OKONKWO BELL"));
        assert_eq!(PersonName::surname_in_words("Okonkwo-Bell, Kai").as_deref(), Some("OKONKWO BELL"));
        assert_eq!(PersonName::surname_in_words("Kai Okonkwo Bell"), None, "no comma: the last word");
    }

    /// Letters with a stroke or ligatures have no decomposition, and a PNC search
    /// writes them in ASCII; full-width and mathematical letters are the letters they
    /// show; a letter that shows nothing is not part of the name.
    #[test]
    fn letters_no_decomposition_takes_apart_are_written_as_ascii() {
        for (written, ascii) in [
            ("ŁUKASZEWSKI, Jan", "LUKASZEWSKI, Jan"),
            ("ØSTERGÅRD, Jan", "OSTERGARD, Jan"),
            ("ĐOKOVIĆ, Đorđe", "DOKOVIC, Dorde"),
            ("ŒUVRE, Hélène", "OEUVRE, Helene"),
            ("ÞÓRSDÓTTIR, Æsa", "THORSDOTTIR, AESA"),
            ("STRAẞE, Jo", "STRASSE, Jo"),
            ("ＦＥＡＴＨＥＲＳＴＯＮＥＨＡＵＧＨ，Ｒｕｐｅｒｔ", "FEATHERSTONEHAUGH, Rupert"),
            ("𝐊𝐑𝐀𝐘, Ronald", "KRAY, Ronald"),
        ] {
            assert_eq!(name(written), name(ascii), "{written}");
        }
        // A Hangul filler shows as a blank: it parts words, and a forename typed in
        // parts is the forename.
        assert!(name("KR\u{3164}AY, Ron\u{FFA0}ald").matches(&name("KRAY, Ronald")));
    }

    /// What a reader of the log sees as a space, a separator or a title is one to the
    /// fold (a probe's misses: `Mr Dexter VANCE-HOLLOWAY`, `Dexter\u{2800}Vance-Holloway`,
    /// `VANCE-HOLLOWAY\\DEXTER`, `Dexter\u{b}Vance-Holloway`, `D.Vance-Holloway`, each
    /// with the date of birth, were no one); an apostrophe or dash of any form joins.
    #[test]
    fn blanks_separators_and_titles_are_read_as_shown() {
        let dexter = name("VANCE-HOLLOWAY, Dexter");
        for written in [
            "Mr Dexter VANCE-HOLLOWAY",
            "VANCE-HOLLOWAY, Mr Dexter",
            "MR VANCE-HOLLOWAY, Dexter",
            "Dr Dexter Vance-Holloway",
            "mr. dexter vance-holloway",
            "Dexter\u{2800}Vance-Holloway",
            "Dexter\u{3164}Vance-Holloway",
            "VANCE-HOLLOWAY\\DEXTER",
            "VANCE-HOLLOWAY\u{2044}DEXTER",
            "VANCE-HOLLOWAY\u{2215}DEXTER",
            "VANCE-HOLLOWAY\u{201a} Dexter",
            "Dexter\u{b}Vance-Holloway",
            "Dexter\u{c}Vance-Holloway\u{a0}",
            "Dexter\u{1f}Vance-Holloway",
            "Dexter_Vance-Holloway",
            "Dexter.Vance-Holloway",
            "Dexter Vance\u{2013}Holloway",
            "Dexter Vance\u{2011}Holloway",
        ] {
            assert_eq!(name(written), dexter, "{written:?}");
        }
        assert!(name("D.Vance-Holloway").matches(&dexter));
        assert_eq!(name("O\u{2019}Brien, Siân"), name("OBRIEN, Sian"));
        assert_eq!(name("O\u{b4}Brien, Sian"), name("OBRIEN, Sian"));
        // A surname of one word is kept whatever it is; a title alone is no forename.
        assert_eq!(name("LORD, John"), PersonName { surname: "LORD".into(), forenames: "JOHN".into() });
        assert_eq!(name("John Lord"), name("LORD, John"));
        assert_eq!(name("SMITH, Mrs"), name("SMITH"));
        assert_eq!(PersonName::from_parts("Vance-Holloway", "Mr Dexter"), Some(dexter.clone()));
        assert_eq!(PersonName::surname_in_words("MR VANCE HOLLOWAY, Dexter").as_deref(), Some("VANCE HOLLOWAY"));
        // A name of 20,000 characters that decompose eighteen-fold is read in part.
        let long = "\u{FDFA}".repeat(20_000);
        assert!(name(&long).surname.chars().count() <= 18 * NAME_CHARS);
        assert!(vrm(&long).is_some_and(|v| v.chars().count() <= 18 * NAME_CHARS));
    }

    /// Cyrillic, Greek and Armenian letters that look like Latin ones are the Latin
    /// ones, in either case (a probe: `STАRLING` with a Cyrillic А matched no one); a
    /// name written in those scripts folds alike in any case, and is not transliterated.
    #[test]
    fn letters_that_look_latin_are_the_latin_ones() {
        for (written, latin) in [
            ("ST\u{0410}RLING, Mia", "STARLING, Mia"),
            ("St\u{0430}rling, Mi\u{0430}", "STARLING, MIA"),
            ("\u{039a}R\u{0391}Y, R\u{043e}nald", "KRAY, Ronald"),
            ("\u{0405}\u{041c}\u{0406}\u{0422}\u{041d}, \u{0408}\u{043e}hn", "SMITH, John"),
            ("\u{0555}'BRIEN, Siân", "O'Brien, Sian"),
        ] {
            assert_eq!(name(written), name(latin), "{written}");
        }
        assert_eq!(name("Иванов, Пётр"), name("ИВАНОВ, ПЁТР"));
        assert_eq!(name("Иванов").surname, "ИBAHOB", "only the letters that look Latin");
        assert_ne!(name("Иванов"), name("IVANOV"));
        assert_eq!(vrm("KR11\u{0410}Y\u{0405}").as_deref(), Some("KR11AYS"));
        assert_eq!(postcode("n\u{0455}1 8\u{0430}s").as_deref(), Some("NS18AS"));
        assert_eq!(record_id("11/111111\u{0410}".into()), "11/111111A");
        assert_eq!(record_id("11/111111\u{0430}".into()), "11/111111A");
        assert_eq!(record_id("\u{ff11}1/111111\u{0391}".into()), "11/111111A");
        assert_eq!(record_id("11/111111\u{0416}".into()), "11/111111\u{0416}", "Ж looks like no Latin letter");
        for shown in ["78/1023600\u{1d412}", "78/1023600\u{24c8}", "\u{ff17}8/1023600S\u{3000}", "78/1023600\u{15a}"] {
            assert_eq!(record_id(shown.into()), "78/1023600S", "{shown:?}");
        }
        assert_eq!(record_id("12\u{bd}".into()), "12\u{bd}", "½ is three characters, not one");
    }

    /// A user id from a watch list or the configuration is folded as an event's is:
    /// upper-cased, without what shows nothing, trimmed.
    #[test]
    fn a_user_id_is_folded_wherever_it_comes_from() {
        for typed in [
            "u9001",
            "U9001",
            "\u{feff}u9001",
            "U9001\u{200b}",
            " U90\u{2060}01 ",
            "U90\u{fff9}01",
            "U9001\u{e01ef}",
            "Ｕ９００１",
            "ｕ9001\u{3000}",
        ] {
            let mut id = CompactString::from(typed);
            user_id(&mut id);
            assert_eq!(id, "U9001", "{typed:?}");
        }
        let mut other = CompactString::from("Jörg.Weiß");
        user_id(&mut other);
        assert_eq!(other, "JöRG.WEIß", "ASCII letters alone");
    }

    /// A VRM or postcode is its letters and digits, however it was typed.
    #[test]
    fn vrms_and_postcodes_keep_letters_and_digits_alone() {
        for typed in ["KR11-AYS", "kr11 ays", "KR11\u{200B}AYS", "ＫＲ１１ＡＹＳ", "KR11.AYS\u{FEFF}"] {
            assert_eq!(vrm(typed).as_deref(), Some("KR11AYS"), "{typed:?}");
        }
        assert_eq!(postcode("ns1-8as").as_deref(), Some("NS18AS"));
        assert_eq!(vrm(" - "), None);
    }

    #[test]
    fn surname_only_and_empty() {
        assert_eq!(name("SMITH"), PersonName { surname: "SMITH".into(), forenames: "".into() });
        assert!(PersonName::parse(", John").is_none());
        assert!(PersonName::parse("  ").is_none());
        assert!(PersonName::parse("'.-").is_none());
    }

    #[test]
    fn forename_prefixes_and_initials() {
        let john = name("SMITH, John");
        assert!(john.matches(&name("SMITH, J")));
        assert!(john.matches(&name("SMITH, John Paul")));
        assert!(name("SMITH, J P").matches(&name("John Paul Smith")));
        assert!(name("SMITH, J").matches(&name("SMITH, John Paul")));
        assert!(!john.matches(&name("SMITH, James")));
        assert!(!john.matches(&name("SMITH, Paul John")));
        assert!(!john.matches(&name("SMYTH, John")));
        assert!(name("SMITH").matches(&john), "no forenames is a prefix of any list");
    }

    /// A hyphenated forename typed with a space is the same forename (an evaluator's
    /// `DUPONT/JEAN PAUL` missed the high-profile `DUPONT, Jean-Paul`); a forename
    /// that is only the start of another still is not.
    #[test]
    fn a_hyphenated_forename_typed_apart_matches() {
        let jean_paul = name("DUPONT, Jean-Paul");
        assert!(jean_paul.matches(&name("DUPONT/JEAN PAUL")));
        assert!(name("Jean Paul Dupont").matches(&jean_paul));
        assert!(name("WATSON, Mary-Jane Ann").matches(&name("WATSON/MARY JANE")));
        assert!(!jean_paul.matches_by_initial(&name("DUPONT/JEAN PAUL")), "a whole-name match");
        assert!(!jean_paul.matches(&name("DUPONT/JEAN PIERRE")));
        assert!(!name("SMITH, Jo").matches(&name("SMITH, John")));
        for (initialled, other) in
            [("SMITH/PAUL A", "SMITH, Paula"), ("Eric A Jones", "JONES, Erica"), ("JAN E SMITH", "SMITH, Jane")]
        {
            assert!(!name(initialled).matches(&name(other)), "{initialled} is not {other}");
        }
    }

    #[test]
    fn the_short_ascii_reader_agrees_with_the_general_one() {
        for raw in [
            "SMITH, John",
            "John SMITH",
            "smith/john",
            "  john   smith ",
            "Smith,JOHN",
            "O'Brien, Sian",
            ", John",
            "  ",
            "'.-",
            "SMITH",
            "a/b/c",
            "x,, y",
            "van der Berg, Anna-Marie",
            "\tJo\nBloggs\r",
            "/",
            "9 9",
            "Dexter\u{b}Vance\u{c}Holloway",
            "Dexter\u{1f}Vance\\Holloway",
            "J.Smith_Jones;x",
            "O`Brien - Smith",
        ] {
            assert_eq!(parse_short_ascii(raw), Some(parse_any(raw)), "{raw:?}");
            // The general reader on the same name with a character of its own.
            let wide = format!("{raw}\u{a0}");
            assert_eq!(parse_short_ascii(raw), Some(parse_any(&wide)), "{wide:?}");
        }
        assert_eq!(parse_short_ascii("Siân"), None, "not ASCII: the general reader's");
    }

    #[test]
    fn vehicles_and_addresses() {
        assert_eq!(vrm("ab12 cde").unwrap(), "AB12CDE");
        assert_eq!(postcode("sw1a1aa").unwrap(), postcode(" SW1A 1AA ").unwrap());
        assert_eq!(postcode_sector("SW1A1AA"), Some("SW1A1"));
        assert_eq!(postcode_sector("M11AE"), Some("M11"));
        assert_eq!(postcode_sector("SW1A"), None);
        assert_eq!(postcode_display("SW1A1AA"), "SW1A 1AA");
        assert!(vrm("   ").is_none());
    }
}
