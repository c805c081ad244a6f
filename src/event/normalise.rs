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

mod ids;
pub use ids::{record_id, shown_ascii, user_id};

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

    /// [`PersonName::matches`], or forenames typed in part ([`forenames_in_part`]: this
    /// name typed, `record` on the record or list): for two names with the same date
    /// of birth, where `JACKSON/JOH` is John Jackson
    /// as `JACKSON/J` is (a probe: more of the name typed was less of a match). Not
    /// without the date: `PAUL` is not `PAULA`.
    pub fn matches_born_alike(&self, record: &PersonName) -> bool {
        self.matches(record)
            || (self.surname == record.surname && forenames_in_part(&self.forenames, &record.forenames))
    }

    /// Whether a match with `other` rests on an initial: some forename of one side is
    /// only the initial of the other's (`J` against `JOHN`). Meaningful when
    /// [`PersonName::matches`] holds.
    pub fn matches_by_initial(&self, other: &PersonName) -> bool {
        let xs = self.forenames.split(' ').filter(|w| !w.is_empty());
        let ys = other.forenames.split(' ').filter(|w| !w.is_empty());
        xs.zip(ys).any(|(x, y)| x != y && (one_letter(x) || one_letter(y)))
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
    // A comma or slash before any word ends no surname: `, Dexter Vance` is read as
    // `Dexter Vance` (a review: the name was no one's, its surname empty).
    let folded = folded.trim_start_matches([' ', ',', '/']);
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
    for b in raw.bytes() {
        if let Some(b) = name_byte(b, &folded[..n]) {
            folded[n] = b;
            n += 1;
        }
    }
    let lead = folded[..n].iter().take_while(|b| matches!(b, b' ' | b',' | b'/')).count();
    let folded = &folded[lead..n];
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
                let same = x == y || (one_letter(x) && y.starts_with(x)) || (one_letter(y) && x.starts_with(y));
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

/// Whether each forename typed begins the record's in the same place, as far as both
/// go (at least one forename each), as a search typed in part: of three letters at
/// most (`JOH` for `JOHN`, `PAT` for `PATRICIA`), or three letters or more short of the
/// whole (`CHRIS` for `CHRISTOPHER`). Not the other way (a record's `ANN` is not a
/// search for `ANNA`), nor a name one or two letters longer, which is most often
/// another name (`PAUL` and `PAULA`, `DANIEL` and `DANIELLE`: twins share a surname and
/// a date of birth; reviews).
pub fn forenames_in_part(typed: &str, record: &str) -> bool {
    let xs = typed.split(' ').filter(|w| !w.is_empty());
    let ys = record.split(' ').filter(|w| !w.is_empty());
    let mut pairs = xs.zip(ys).peekable();
    let in_part = |short: &str, long: &str| {
        let (s, l) = (short.chars().count(), long.chars().count());
        long.starts_with(short) && (s <= 3 || l >= s + 3)
    };
    pairs.peek().is_some() && pairs.all(|(x, y)| x == y || in_part(x, y))
}

/// Whether a forename is an initial: one letter, of any script (`Д`: a review found
/// initials counted by bytes, so that `Д Иванов` was not `ИВАНОВ, Дмитрий`).
fn one_letter(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some() && chars.next().is_none()
}

/// Whether `word` is `first` and the words after it in `rest` run together, each a
/// name of more than one letter: `PAUL A` is Paul with a middle initial, not `PAULA`
/// (a review: a search for `SMITH/PAUL A` was a red for a high-profile Paula Smith).
fn run_of<'a>(word: &str, first: &str, rest: &mut impl Iterator<Item = &'a str>) -> bool {
    if first.chars().nth(1).is_none() {
        return false;
    }
    let Some(mut left) = word.strip_prefix(first) else { return false };
    while !left.is_empty() {
        match rest.next().filter(|next| !one_letter(next)).and_then(|next| left.strip_prefix(next)) {
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
        for b in raw.bytes() {
            if let Some(b) = name_byte(b, &buf[..n]) {
                buf[n] = b;
                n += 1;
            }
        }
        // Only ASCII bytes were written.
        return CompactString::from(std::str::from_utf8(&buf[..n]).unwrap_or_default());
    }
    let mut out = CompactString::default();
    use unicode_normalization::char::{decompose_compatible, is_combining_mark};
    // Compatibility forms too: full-width letters and commas, mathematical letters,
    // ligatures are the letters they show. A name is read until `NAME_BYTES` of it are
    // written (a record of 20,000 characters that decompose eighteen-fold took 25 ms to
    // fold, several times an event: a probe); a run of blanks is written as one, so
    // padding before a name does not hide it (a review).
    let space = |out: &mut CompactString| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    // The characters read into the word being written: a dot after a word of one
    // character is after an initial, whatever it folds to (`Æ. Smith`, `Þ.Jónsson`).
    let mut word_chars = 0;
    for c in raw.chars() {
        if out.len() >= NAME_BYTES {
            break;
        }
        if c == '.' && word_chars == 1 {
            space(&mut out);
            word_chars = 0;
            continue;
        }
        let before = out.len();
        match name_mark(c) {
            Some(NameMark::Joins) => continue,
            Some(NameMark::Is(' ')) => space(&mut out),
            Some(NameMark::Is(mark)) => out.push(mark),
            None => decompose_compatible(c, |d| {
                if d.is_ascii() {
                    match name_byte(d as u8, out.as_bytes()) {
                        Some(b' ') => space(&mut out),
                        Some(b) => out.push(char::from(b)),
                        None => {}
                    }
                } else if is_combining_mark(d) || super::invisible(d) {
                } else if let Some(latin) = unaccented(d) {
                    out.push_str(latin);
                } else if d.is_alphanumeric() {
                    out.extend(d.to_uppercase().map(shown_latin));
                } else {
                    space(&mut out);
                }
            }),
        }
        if out.len() > before {
            word_chars = if out.ends_with([' ', ',', '/']) { 0 } else { word_chars + 1 };
        }
    }
    out
}

/// The most bytes of a folded name written, and of a VRM or postcode (no real one
/// comes near either).
const NAME_BYTES: usize = 1024;
const MARK_BYTES: usize = 64;

/// What an ASCII byte of a name is to the fold, given what is `written` of it: a
/// letter upper-cased, a digit, the comma or slash that ends the surname (a backslash
/// is a slash typed with the key beside it), nothing (an apostrophe or a hyphen joins
/// the parts of a word: `O'Brien`, `Smith-Jones`), or a space: any other punctuation
/// or control character parts words, as it shows (`Dexter_Vance`, a vertical tab),
/// where dropping it ran the words together and the name was no one's (a probe). A dot
/// parts words after an initial or a title (`J.Smith`, `J.P.`, `Dr.Smith`) and is
/// dropped elsewhere, as the spec drops punctuation (`St.John` is STJOHN: a review).
fn name_byte(b: u8, written: &[u8]) -> Option<u8> {
    match b {
        b'a'..=b'z' => Some(b - 32),
        b'A'..=b'Z' | b'0'..=b'9' | b',' | b'/' => Some(b),
        b'\\' => Some(b'/'),
        b'\'' | b'`' | b'-' => None,
        b'.' => {
            let word = written.rsplit(|b| matches!(b, b' ' | b',' | b'/')).next().unwrap_or_default();
            // An initial is one letter, of any script (`Д.Иванов`: a review).
            let parts = std::str::from_utf8(word).is_ok_and(|w| w.chars().count() == 1 || TITLES.contains(&w));
            parts.then_some(b' ')
        }
        _ => Some(b' '),
    }
}

/// Whether a name has a comma or slash in any form ([`name_byte`], [`name_mark`],
/// and the compatibility forms, `，` `／`), so that the part before it is the surname.
/// A mark before the first word ends no surname (as the readers take it: `, Zoe
/// Lefevre Hart` is read as `Zoe Lefevre Hart`, and so are its other readings: a
/// review).
pub fn has_surname_mark(raw: &str) -> bool {
    let raw = raw.trim_start_matches(|c: char| !c.is_alphanumeric());
    raw.contains([',', '/', '\\'])
        || (!raw.is_ascii()
            && raw.chars().any(|c| match name_mark(c) {
                Some(NameMark::Is(mark)) => mark != ' ',
                Some(NameMark::Joins) => false,
                None => !c.is_ascii() && matches!(shown_ascii(c), Some(',' | '/' | '\\')),
            }))
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
        '\u{201A}' | '\u{060C}' | '\u{3001}' | '\u{FF64}' | '\u{FE51}' => NameMark::Is(','),
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
        // Latin small capitals (`ᴅᴇxᴛᴇʀ`: they have no case of their own, or upper-case
        // to the capitals beside them)
        'ᴀ' => 'A',
        'ʙ' => 'B',
        'ᴄ' => 'C',
        'ᴅ' => 'D',
        'ᴇ' => 'E',
        'ꜰ' => 'F',
        'ɢ' => 'G',
        'ʜ' => 'H',
        'ɪ' | 'Ɪ' => 'I',
        'ᴊ' => 'J',
        'ᴋ' => 'K',
        'ʟ' => 'L',
        'ᴍ' => 'M',
        'ɴ' => 'N',
        'ᴏ' => 'O',
        'ᴘ' => 'P',
        'ꞯ' => 'Q',
        'ʀ' | 'Ʀ' => 'R',
        'ꜱ' => 'S',
        'ᴛ' => 'T',
        'ᴜ' => 'U',
        'ᴠ' => 'V',
        'ᴡ' => 'W',
        'ʏ' => 'Y',
        'ᴢ' => 'Z',
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
    for c in raw.chars().filter(|c| name_mark(*c).is_none()) {
        if out.len() >= MARK_BYTES {
            break;
        }
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

/// A vehicle registration mark without spaces, upper case (`ab12 cde` -> `AB12CDE`).
pub fn vrm(raw: &str) -> Option<CompactString> {
    squash(raw)
}

/// A UK postcode without spaces, upper case (`sw1a 1aa` -> `SW1A1AA`).
pub fn postcode(raw: &str) -> Option<CompactString> {
    squash(raw)
}

/// Whether a normalised postcode has the shape of a full UK one (`NS186UR`, `SW1A1AA`,
/// `M11AE`): an outward code of a letter or two, a digit and perhaps a letter or digit,
/// then a digit and two letters.
pub fn is_full_postcode(normalised: &str) -> bool {
    let b = normalised.as_bytes();
    let Some((inward, outward)) = b.len().checked_sub(3).map(|at| (&b[at..], &b[..at])) else { return false };
    let letters = outward.iter().take_while(|c| c.is_ascii_uppercase()).count();
    let rest = &outward[letters..];
    inward[0].is_ascii_digit()
        && inward[1..].iter().all(u8::is_ascii_uppercase)
        && (1..=2).contains(&letters)
        && (1..=2).contains(&rest.len())
        && rest[0].is_ascii_digit()
        && rest.iter().all(|c| c.is_ascii_alphanumeric())
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
mod tests;
