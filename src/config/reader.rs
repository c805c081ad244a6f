//! A walker over a parsed TOML document that reads typed values into the
//! configuration and collects every fault with its file, line and full key, instead of
//! stopping at the first. Keys nobody asked for are reported as unknown.

use crate::time::Span;
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use toml_edit::{Item, TableLike, Value};

/// One fault in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0 is the file as a whole (it could not be read): no line to name.
        match (self.line, self.key.is_empty()) {
            (0, true) => write!(f, "{}: {}", self.file, self.message),
            (0, false) => write!(f, "{}: {}: {}", self.file, self.key, self.message),
            (line, true) => write!(f, "{}:{line}: {}", self.file, self.message),
            (line, false) => write!(f, "{}:{line}: {}: {}", self.file, self.key, self.message),
        }
    }
}

/// Every fault found in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The document being read: its name, text (for line numbers) and the faults so far.
pub struct Doc {
    pub file: String,
    text: String,
    errors: RefCell<Vec<ConfigError>>,
    /// Every key read must be present: how the shipped defaults are read, so that
    /// `config/default.toml` is the one place a default is written.
    strict: bool,
}

impl Doc {
    pub fn new(file: impl Into<String>, text: impl Into<String>) -> Doc {
        Doc { file: file.into(), text: text.into(), errors: RefCell::new(Vec::new()), strict: false }
    }

    /// A document that must give every key it is asked for (the defaults).
    pub fn complete(file: impl Into<String>, text: impl Into<String>) -> Doc {
        Doc { strict: true, ..Doc::new(file, text) }
    }

    pub fn is_complete(&self) -> bool {
        self.strict
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    fn line_of(&self, span: Option<Range<usize>>) -> usize {
        let end = span.map_or(0, |r| r.start.min(self.text.len()));
        1 + self.text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count()
    }

    pub fn error_at(&self, span: Option<Range<usize>>, key: &str, message: impl Into<String>) {
        self.errors.borrow_mut().push(ConfigError {
            file: self.file.clone(),
            line: self.line_of(span),
            key: key.to_string(),
            message: message.into(),
        });
    }

    pub fn into_result(self) -> Result<(), ConfigErrors> {
        let mut errors = self.errors.into_inner();
        errors.sort_by_key(|e| e.line);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// A table of the document, read key by key.
pub struct Section<'a> {
    doc: &'a Doc,
    path: String,
    table: &'a dyn TableLike,
    span: Option<Range<usize>>,
    used: RefCell<Vec<String>>,
}

impl<'a> Section<'a> {
    pub fn root(doc: &'a Doc, table: &'a dyn TableLike) -> Section<'a> {
        Section { doc, path: String::new(), table, span: Some(0..0), used: RefCell::new(Vec::new()) }
    }

    /// The full dotted key of `key` in this section.
    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Whether this section's document must give every key (the defaults).
    pub fn is_complete(&self) -> bool {
        self.doc.strict
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    fn item(&self, key: &str) -> Option<&'a Item> {
        self.used.borrow_mut().push(key.to_string());
        self.table.get(key)
    }

    fn span_of(&self, key: &str) -> Option<Range<usize>> {
        self.table
            .get_key_value(key)
            .and_then(|(k, item)| k.span().or_else(|| item.span()))
            .or_else(|| self.span.clone())
    }

    /// Records a fault against `key` of this section.
    pub fn error(&self, key: &str, message: impl Into<String>) {
        self.doc.error_at(self.span_of(key), &self.key_path(key), message);
    }

    /// The keys present, in document order.
    pub fn keys(&self) -> Vec<String> {
        self.table.iter().map(|(k, _)| k.to_string()).collect()
    }

    pub fn has(&self, key: &str) -> bool {
        self.table.get(key).is_some()
    }

    /// In a document that must be complete, an absent key is a fault.
    fn require(&self, key: &str) {
        if self.doc.strict && self.table.get(key).is_none() {
            self.error(key, "missing: every key has its default in config/default.toml");
        }
    }

    fn value(&self, key: &str, expected: &str) -> Option<&'a Value> {
        self.require(key);
        match self.item(key)? {
            Item::Value(v) => Some(v),
            Item::None => None,
            _ => {
                self.error(key, format!("expected {expected}, found a table"));
                None
            }
        }
    }

    /// Reads a boolean into `into` when present.
    pub fn bool(&self, key: &str, into: &mut bool) {
        if let Some(v) = self.value(key, "true or false") {
            match v.as_bool() {
                Some(b) => *into = b,
                None => self.error(key, "expected true or false"),
            }
        }
    }

    /// Reads a whole number in `range` when present.
    pub fn int(&self, key: &str, range: std::ops::RangeInclusive<i64>, into: &mut i64) {
        if let Some(v) = self.value(key, "a whole number") {
            match v.as_integer() {
                Some(n) if range.contains(&n) => *into = n,
                Some(n) => self.error(key, format!("{n} is out of range ({}..={})", range.start(), range.end())),
                None => self.error(key, "expected a whole number"),
            }
        }
    }

    /// Reads a whole number in `range` into a `usize`.
    pub fn usize(&self, key: &str, range: std::ops::RangeInclusive<i64>, into: &mut usize) {
        let mut n = *into as i64;
        self.int(key, range, &mut n);
        *into = n as usize;
    }

    /// Reads a whole number in `range` into a `u32`.
    pub fn u32(&self, key: &str, range: std::ops::RangeInclusive<i64>, into: &mut u32) {
        let mut n = *into as i64;
        self.int(key, range, &mut n);
        *into = n as u32;
    }

    /// Reads a number in `range` into an `f32`.
    pub fn f32(&self, key: &str, range: std::ops::RangeInclusive<f64>, into: &mut f32) {
        let mut v = *into as f64;
        self.float(key, range, &mut v);
        *into = v as f32;
    }

    /// Reads an optional path: an empty string means none.
    pub fn opt_path(&self, key: &str, into: &mut Option<std::path::PathBuf>) {
        let mut s = into.as_ref().map(|p| p.display().to_string());
        self.opt_string(key, &mut s);
        *into = s.map(Into::into);
    }

    /// Reads a number in `range` when present (integers are accepted).
    pub fn float(&self, key: &str, range: std::ops::RangeInclusive<f64>, into: &mut f64) {
        if let Some(v) = self.value(key, "a number") {
            let n = v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
            match n {
                Some(n) if range.contains(&n) => *into = n,
                Some(n) => self.error(key, format!("{n} is out of range ({}..={})", range.start(), range.end())),
                None => self.error(key, "expected a number"),
            }
        }
    }

    /// Reads a string when present.
    pub fn string(&self, key: &str, into: &mut String) {
        if let Some(v) = self.value(key, "a string") {
            match v.as_str() {
                Some(s) => *into = s.to_string(),
                None => self.error(key, "expected a string"),
            }
        }
    }

    /// Reads an optional string: present sets `Some`, an empty string sets `None`.
    pub fn opt_string(&self, key: &str, into: &mut Option<String>) {
        let mut s = String::new();
        if self.has(key) {
            self.string(key, &mut s);
            *into = (!s.is_empty()).then_some(s);
        } else {
            self.require(key);
            self.used.borrow_mut().push(key.to_string());
        }
    }

    /// Reads a string and converts it with `parse`; a conversion failure is reported
    /// with the key.
    pub fn parsed<T>(&self, key: &str, into: &mut T, parse: impl Fn(&str) -> Result<T, String>) {
        if let Some(v) = self.value(key, "a string") {
            match v.as_str() {
                Some(s) => match parse(s) {
                    Ok(t) => *into = t,
                    Err(e) => self.error(key, e),
                },
                None => self.error(key, "expected a string"),
            }
        }
    }

    /// Reads a duration such as `24h` or `30d`.
    pub fn span(&self, key: &str, into: &mut Span) {
        self.parsed(key, into, |s| {
            Span::parse(s).map_err(|e| format!("{e} (got {s:?}; write durations like \"90s\", \"24h\", \"30d\")"))
        });
    }

    /// Reads a duration that must be more than zero: a window or half-life of zero
    /// would switch its detector off without a word.
    pub fn positive_span(&self, key: &str, into: &mut Span) {
        self.span(key, into);
        if self.has(key) && into.0 <= 0 {
            self.error(key, "must be more than 0s (to switch a rule off, set enabled = false)");
        }
    }

    /// Reads an array of strings.
    pub fn strings(&self, key: &str, into: &mut Vec<String>) {
        if let Some(v) = self.value(key, "an array of strings") {
            match v.as_array() {
                Some(a) => {
                    let mut out = Vec::with_capacity(a.len());
                    for item in a.iter() {
                        // Numbers too (ages, codes): as written.
                        match item.as_str().map(str::to_string).or_else(|| item.as_integer().map(|i| i.to_string())) {
                            Some(s) => out.push(s),
                            None => {
                                self.error(key, "expected an array of strings");
                                return;
                            }
                        }
                    }
                    *into = out;
                }
                None => self.error(key, "expected an array of strings"),
            }
        }
    }

    /// Reads an array of system names, upper-cased as events' are. A name no event
    /// could carry (`"P N C"`: events take 1 to 32 letters, digits, `_` or `-`) is a
    /// fault: an entitlement or explanation for it would never match, unseen.
    pub fn systems(&self, key: &str, into: &mut Vec<compact_str::CompactString>) {
        self.parsed_list(key, into, |t| {
            let t = t.trim();
            crate::event::raw::check_system(t).map(|()| t.to_ascii_uppercase().into()).map_err(|_| {
                format!("{t:?} is no system name an event can carry (1 to 32 letters, digits, `_` or `-`)")
            })
        });
    }

    /// Reads an array of strings, each converted with `parse`.
    pub fn parsed_list<T>(&self, key: &str, into: &mut Vec<T>, parse: impl Fn(&str) -> Result<T, String>) {
        let mut raw = Vec::new();
        if !self.has(key) {
            self.require(key);
            self.used.borrow_mut().push(key.to_string());
            return;
        }
        self.strings(key, &mut raw);
        let mut out = Vec::with_capacity(raw.len());
        for s in &raw {
            match parse(s) {
                Ok(t) => out.push(t),
                Err(e) => {
                    self.error(key, e);
                    return;
                }
            }
        }
        *into = out;
    }

    /// A sub-table (`[a.b]` or an inline table), if present.
    pub fn table(&self, key: &str) -> Option<Section<'a>> {
        let item = self.item(key)?;
        match item.as_table_like() {
            Some(t) => Some(Section {
                doc: self.doc,
                path: self.key_path(key),
                table: t,
                span: self.span_of(key),
                used: RefCell::new(Vec::new()),
            }),
            None => {
                self.error(key, "expected a table");
                None
            }
        }
    }

    /// An array of tables (`[[a.b]]`), each as a section.
    pub fn tables(&self, key: &str) -> Vec<Section<'a>> {
        let Some(item) = self.item(key) else { return Vec::new() };
        let path = self.key_path(key);
        match item {
            Item::ArrayOfTables(a) => a
                .iter()
                .enumerate()
                .map(|(i, t)| Section {
                    doc: self.doc,
                    path: format!("{path}[{i}]"),
                    table: t,
                    span: t.span(),
                    used: RefCell::new(Vec::new()),
                })
                .collect(),
            Item::Value(Value::Array(a)) => a
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v.as_inline_table() {
                    Some(t) => Some(Section {
                        doc: self.doc,
                        path: format!("{path}[{i}]"),
                        table: t,
                        span: v.span(),
                        used: RefCell::new(Vec::new()),
                    }),
                    None => {
                        self.error(key, "expected an array of tables");
                        None
                    }
                })
                .collect(),
            _ => {
                self.error(key, "expected an array of tables ([[...]])");
                Vec::new()
            }
        }
    }

    /// The raw item, for values that may take several shapes.
    pub fn raw(&self, key: &str) -> Option<&'a Item> {
        self.item(key)
    }

    /// Reports every key of this section that was never asked for.
    pub fn finish(&self) {
        let used = self.used.borrow();
        for (k, _) in self.table.iter() {
            if !used.iter().any(|u| u == k) {
                self.error(k, "unknown key");
            }
        }
    }
}
