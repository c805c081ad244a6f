//! ArcSight Common Event Format (CEF) records.
//!
//! `[syslog prefix] CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`
//! where the extension is `key=value` pairs separated by spaces; values may contain
//! spaces, and `\=`, `\\`, `\n`, `\r` are escapes. A source mapping names fields either
//! by extension key (`suser`), by header (`cef.name`, `cef.signature_id`, ...), or by a
//! custom field's label (`cs1Label=Reference cs1=INC-42` answers to `Reference`).

use super::DecodeError;
use std::borrow::Cow;

/// The header field names a mapping can use.
pub const HEADER_FIELDS: [&str; 7] = [
    "cef.version",
    "cef.device_vendor",
    "cef.device_product",
    "cef.device_version",
    "cef.signature_id",
    "cef.name",
    "cef.severity",
];

/// One parsed CEF record.
#[derive(Debug, Clone, PartialEq)]
pub struct CefRecord {
    pub header: [String; 7],
    pub extension: Vec<(String, String)>,
}

impl CefRecord {
    /// Parses a line that contains `CEF:` (anything before it, such as a syslog
    /// prefix, is ignored).
    pub fn parse(line: &str) -> Result<CefRecord, DecodeError> {
        let start = line.find("CEF:").ok_or_else(|| DecodeError::BadCef("no `CEF:` marker".into()))?;
        let body = &line[start + 4..];
        let mut header: [String; 7] = Default::default();
        let mut field = 0;
        let mut current = String::new();
        let mut chars = body.char_indices();
        let mut ext_start = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, n)) => current.push(n),
                    None => current.push('\\'),
                },
                '|' => {
                    header[field] = std::mem::take(&mut current);
                    field += 1;
                    if field == 7 {
                        ext_start = Some(i + 1);
                        break;
                    }
                }
                _ => current.push(c),
            }
        }
        let ext_start = ext_start
            .ok_or_else(|| DecodeError::BadCef(format!("header has {} of the 7 `|`-separated fields", field + 1)))?;
        let extension = parse_extension(&body[ext_start..])?;
        Ok(CefRecord { header, extension })
    }

    /// A field by header name, extension key, or custom-field label, in that order.
    pub fn get(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(i) = HEADER_FIELDS.iter().position(|h| *h == name) {
            return Some(Cow::Borrowed(self.header[i].as_str()));
        }
        if let Some((_, v)) = self.extension.iter().find(|(k, _)| k == name) {
            return Some(Cow::Borrowed(v.as_str()));
        }
        // Custom fields: `cs1Label=Reference cs1=INC-42`.
        let (label_key, _) = self.extension.iter().find(|(k, v)| k.ends_with("Label") && same_label(v, name))?;
        let key = &label_key[..label_key.len() - "Label".len()];
        self.extension.iter().find(|(k, _)| k == key).map(|(_, v)| Cow::Borrowed(v.as_str()))
    }
}

/// A custom field's label as the mapping's names are compared with it: without case,
/// white space around it, or characters that show nothing (`reference`, `Reference `
/// and `Reference\u{200b}` are the label `Reference`).
fn label(text: &str) -> String {
    let shown: String = text.chars().filter(|c| !super::invisible(*c)).collect();
    shown.trim().to_ascii_lowercase()
}

/// Whether two custom-field labels are the same label ([`label`]), without building
/// either where both are ASCII (every label of a real source): a record's labels are
/// compared with each other and with each field the mapping reads, and building them
/// had made the CEF decoder 40% slower.
fn same_label(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.trim().eq_ignore_ascii_case(b.trim())
    } else {
        label(a) == label(b)
    }
}

/// Whether a custom-field label shows nothing ([`label`] is empty).
fn blank_label(l: &str) -> bool {
    if l.is_ascii() {
        l.trim().is_empty()
    } else {
        label(l).is_empty()
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']' | b'-')
}

fn parse_extension(ext: &str) -> Result<Vec<(String, String)>, DecodeError> {
    let b = ext.as_bytes();
    // Positions of unescaped '=' signs.
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'=' => {
                eqs.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    // Each '=' belongs to a key that starts after the last space before it.
    let mut keys: Vec<(usize, usize)> = Vec::with_capacity(eqs.len()); // (key start, eq)
    for &eq in &eqs {
        let mut s = eq;
        while s > 0 && is_key_byte(b[s - 1]) {
            s -= 1;
        }
        let starts_token = s == 0 || b[s - 1] == b' ';
        if s < eq && starts_token {
            keys.push((s, eq));
        }
        // Otherwise it is an unescaped '=' inside a value: leave it to the value.
    }
    if keys.is_empty() {
        return if ext.trim().is_empty() {
            Ok(Vec::new())
        } else {
            Err(DecodeError::BadCef("extension has no key=value pairs".into()))
        };
    }
    if !ext[..keys[0].0].trim().is_empty() {
        return Err(DecodeError::BadCef("text before the first key=value pair in the extension".into()));
    }
    let mut out = Vec::with_capacity(keys.len());
    let mut seen = crate::event::raw::NamesSeen::default();
    for (n, &(ks, eq)) in keys.iter().enumerate() {
        let value_end = keys.get(n + 1).map_or(b.len(), |&(next, _)| next);
        let key = &ext[ks..eq];
        // A key given twice says two things (which one the source meant is not
        // known): refused, as a field given twice in JSON is.
        if !seen.insert(key) {
            return Err(DecodeError::BadCef(format!("`{key}` is given twice in the extension")));
        }
        let value = ext[eq + 1..value_end].trim_end_matches(' ');
        out.push((key.to_string(), unescape(value).map_err(|e| DecodeError::BadCef(format!("`{key}`: {e}")))?));
    }
    // So is one custom label given to two fields (`cs1Label=Reference` and
    // `cs2Label=Reference`): the field the mapping reads by that label is not known.
    let labels = out.iter().filter(|(k, l)| k.ends_with("Label") && !blank_label(l));
    for (n, (key, given)) in labels.clone().enumerate() {
        if let Some((other, _)) = labels.clone().take(n).find(|(_, l)| same_label(l, given)) {
            let msg = format!("the custom label `{given}` is given to both `{other}` and `{key}`");
            return Err(DecodeError::BadCef(msg));
        }
    }
    Ok(out)
}

/// A value with its escapes (`\\`, `\=`, `\n`, `\r`) read. Another character after a
/// backslash keeps both (sources write Windows paths unescaped); a value that ends in
/// a lone backslash is broken: whatever it escaped is lost.
fn unescape(v: &str) -> Result<String, &'static str> {
    if !v.contains('\\') {
        return Ok(v.to_string());
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(c @ ('\\' | '=' | '|')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => return Err("the value ends in a lone `\\` (a broken escape)"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r"<134>Nov 22 09:14:03 pnc-gw CEF:0|Home Office|PNC|5.2|Q01|Person enquiry|3|rt=1795338843120 suser=U1234 act=QUERY duser=SMITH, John cs1Label=Reference cs1=INC-42 msg=equals \= and back\\slash";

    #[test]
    fn parses_header_and_extension() {
        let r = CefRecord::parse(LINE).unwrap();
        assert_eq!(r.header[2], "PNC");
        assert_eq!(r.get("cef.name").as_deref(), Some("Person enquiry"));
        assert_eq!(r.get("suser").as_deref(), Some("U1234"));
        assert_eq!(r.get("duser").as_deref(), Some("SMITH, John"));
        assert_eq!(r.get("Reference").as_deref(), Some("INC-42"));
        assert_eq!(r.get("msg").as_deref(), Some("equals = and back\\slash"));
        assert_eq!(r.get("nothing"), None);
    }

    #[test]
    fn escaped_pipe_in_header() {
        let r = CefRecord::parse(r"CEF:0|A\|B|P|1|S|N|1|k=v").unwrap();
        assert_eq!(r.header[1], "A|B");
        assert_eq!(r.extension, vec![("k".to_string(), "v".to_string())]);
    }

    #[test]
    fn a_dangling_escape_is_refused_and_an_unknown_one_kept() {
        assert!(CefRecord::parse(r"CEF:0|A|B|C|D|E|F|suser=U1 duser=A\").is_err());
        let r = CefRecord::parse(r"CEF:0|A|B|C|D|E|F|filePath=C:\Windows\x.txt").unwrap();
        assert_eq!(r.get("filePath").as_deref(), Some(r"C:\Windows\x.txt"));
    }

    #[test]
    fn a_key_or_a_custom_label_given_twice_is_refused() {
        let err = CefRecord::parse("CEF:0|A|B|C|D|E|F|suser=U1 externalId=C4 externalId=C5").unwrap_err();
        assert!(err.to_string().contains("`externalId` is given twice"), "{err}");
        assert!(CefRecord::parse("CEF:0|A|B|C|D|E|F|cs1Label=Reference cs1=INC-42").is_ok());
        let twice = CefRecord::parse("CEF:0|A|B|C|D|E|F|cs1Label=Reference cs1=INC-42 cs2Label=Reference cs2=X");
        assert!(
            matches!(twice, Err(DecodeError::BadCef(m)) if m.contains("`Reference` is given to both `cs1Label` and `cs2Label`"))
        );
        assert!(
            CefRecord::parse("CEF:0|A|B|C|D|E|F|cs1Label= cs1=A cs2Label= cs2=B").is_ok(),
            "labels left empty say nothing"
        );
        let any_case = "CEF:0|A|B|C|D|E|F|cs1Label=Reference cs1=INC-42 cs2Label=reference\u{200b} cs2=X";
        assert!(CefRecord::parse(any_case).is_err(), "the same label in another case or with a hidden character");
        let lower = CefRecord::parse("CEF:0|A|B|C|D|E|F|cs4Label=reference cs4=INC-7").unwrap();
        assert_eq!(lower.get("Reference").as_deref(), Some("INC-7"), "a label is found whatever its case");
    }

    #[test]
    fn rejects_truncated_records() {
        assert!(CefRecord::parse("hello world").is_err());
        assert!(CefRecord::parse("CEF:0|A|B|C").is_err());
        assert!(CefRecord::parse("CEF:0|A|B|C|D|E|F|junk without pairs").is_err());
    }

    proptest::proptest! {
        /// Labels compared in place are the labels [`label`] builds: any case, spaces
        /// around, characters that show nothing, letters other than ASCII.
        #[test]
        fn labels_compared_in_place_are_the_labels_built(
            a in "[ \u{200b}rRefence\u{e9}\t]{0,12}",
            b in "[ \u{200b}rRefence\u{e9}\t]{0,12}",
        ) {
            proptest::prop_assert_eq!(same_label(&a, &b), label(&a) == label(&b));
            proptest::prop_assert_eq!(blank_label(&a), label(&a).is_empty());
        }
    }
}
