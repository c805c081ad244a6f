//! CSV decoding: a field splitter over `csv_core` that works on one record's bytes at a
//! time (so the original bytes of a bad record can go to the dead-letter output), and
//! the canonical layout where the header uses the field names of spec/events.md.

use super::{AccessEvent, DecodeError, Field, RawFields};
use compact_str::CompactString;
use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

/// Splits one CSV record (without its line ending) into fields, reusing its buffers.
pub struct CsvSplitter {
    reader: Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvSplitter {
    pub fn new(delimiter: u8) -> CsvSplitter {
        CsvSplitter { reader: ReaderBuilder::new().delimiter(delimiter).build(), out: vec![0; 1024], ends: vec![0; 64] }
    }

    /// Splits `record` and returns its fields. Fields are checked to be UTF-8.
    pub fn split(&mut self, record: &[u8]) -> Result<Vec<&str>, DecodeError> {
        self.reader.reset();
        let (mut input, mut nout, mut nend) = (record, 0usize, 0usize);
        loop {
            // Once all input is consumed the next call gets an empty slice, which
            // csv_core reads as the end of input and answers with the last record.
            let (res, nin, o, e) = self.reader.read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            input = &input[nin..];
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        // A line ending outside quotes would start a second record in this one's bytes:
        // the record reader never hands over such bytes, but a record is one record.
        if input.iter().any(|b| !b.is_ascii_whitespace()) {
            return Err(DecodeError::BadCsv("more than one record (a line ending outside quotes)".into()));
        }
        let mut fields = Vec::with_capacity(nend);
        let mut start = 0;
        for &end in &self.ends[..nend] {
            let bytes = &self.out[start..end];
            let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::BadUtf8(start + e.valid_up_to()))?;
            fields.push(text);
            start = end;
        }
        Ok(fields)
    }
}

/// How the columns of a canonical CSV file map to event fields.
pub struct CsvLayout {
    columns: Vec<Column>,
}

enum Column {
    Known(Field),
    /// A field's column under another spelling of its name ([`RawFields::spell`]).
    Spelt(Field, CompactString),
    Extra(CompactString),
}

impl CsvLayout {
    /// Reads the header; columns with names outside the spec are kept as extra fields.
    pub fn from_header(header: &[&str]) -> Result<CsvLayout, DecodeError> {
        let mut columns: Vec<Column> = Vec::with_capacity(header.len());
        let exact: Vec<Field> =
            header.iter().filter_map(|h| Field::from_name(h.trim().trim_start_matches('\u{feff}'))).collect();
        for (n, h) in header.iter().enumerate() {
            let h = h.trim().trim_start_matches('\u{feff}');
            // A spreadsheet's header may capitalise a name (`Subject_Name`, `Subject
            // Id`): the field all the same, not an extra column it would be lost in
            // ([`Field::from_key`]), unless the field's own name heads another column.
            if let Some(f) = Field::from_name(h) {
                columns.push(Column::Known(f));
                continue;
            }
            if let Some(f) = Field::from_key(h).filter(|f| !exact.contains(f)) {
                columns.push(Column::Spelt(f, h.into()));
                continue;
            }
            // An extra column is kept under its name; a name given twice (or none, as
            // a spreadsheet's trailing commas give) would make the kept fields JSON
            // with one key twice: the column's place names it apart.
            // A made-up name may be another column's own: numbered on until it is not.
            let taken = |name: &str| columns.iter().any(|c| matches!(c, Column::Extra(x) if x == name));
            let in_header = |name: &str| header.iter().any(|o| o.trim().trim_start_matches('\u{feff}') == name);
            let mut name = match h {
                "" => format!("column_{}", n + 1),
                h if taken(h) => format!("{h}_column_{}", n + 1),
                h => h.to_string(),
            };
            while name != h && (taken(&name) || in_header(&name)) {
                name.push('_');
            }
            columns.push(Column::Extra(name.into()));
        }
        for required in Field::ALL.into_iter().filter(|f| f.is_required()) {
            if !columns.iter().any(|c| matches!(c, Column::Known(f) | Column::Spelt(f, _) if *f == required)) {
                return Err(DecodeError::BadCsv(format!("header has no `{}` column", required.name())));
            }
        }
        Ok(CsvLayout { columns })
    }

    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// Builds an event from the fields of one record.
    pub fn decode(&self, fields: &[&str]) -> Result<Box<AccessEvent>, DecodeError> {
        if fields.len() != self.columns.len() {
            return Err(DecodeError::FieldCount { got: fields.len(), header: self.columns.len() });
        }
        if let Some(event) = self.plain(fields) {
            return Ok(event);
        }
        let mut raw = RawFields::default();
        for (column, value) in self.columns.iter().zip(fields) {
            if value.is_empty() {
                continue; // an empty field means absent
            }
            match column {
                Column::Known(f) => raw.set(*f, *value),
                Column::Spelt(f, name) => raw.spell(*f, name, &serde_json::to_string(value).unwrap_or_default(), value),
                Column::Extra(name) => raw.push_extra_text(name, value),
            }
        }
        raw.validate().map(Box::new)
    }

    /// The event of a record of known columns only, each once, every value passing;
    /// `None` sends it the general way (which says what is wrong, if anything is).
    fn plain(&self, fields: &[&str]) -> Option<Box<AccessEvent>> {
        let mut texts: [Option<&str>; Field::ALL.len()] = [None; Field::ALL.len()];
        for (column, value) in self.columns.iter().zip(fields) {
            match column {
                Column::Known(f) if texts[*f as usize].is_none() => texts[*f as usize] = Some(value),
                _ if value.is_empty() => {}
                _ => return None,
            }
        }
        super::plain_event(&texts, super::raw::Scanned::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The general path for a record: every non-empty value into raw fields, validated.
    fn general(layout: &CsvLayout, fields: &[&str]) -> Result<AccessEvent, DecodeError> {
        let mut raw = RawFields::default();
        for (column, value) in layout.columns.iter().zip(fields).filter(|(_, v)| !v.is_empty()) {
            match column {
                Column::Known(f) => raw.set(*f, *value),
                Column::Spelt(f, name) => raw.spell(*f, name, &serde_json::to_string(value).unwrap(), value),
                Column::Extra(name) => raw.push_extra_text(name, value),
            }
        }
        raw.validate()
    }

    /// A field's value: mostly one it accepts, sometimes anything.
    fn value(field: Option<Field>) -> BoxedStrategy<String> {
        let valid = match field {
            Some(f) => crate::event::raw::valid::text(f),
            None => "[A-Za-z0-9 ,/-]{0,10}".boxed(),
        };
        let any = prop_oneof![
            proptest::sample::select(
                &[
                    "",
                    "   ",
                    " padded",
                    "P/NC",
                    "1980-02-31",
                    "2026-11-22 09:14:03Z",
                    "-3",
                    "é",
                    // Ends `str::trim` takes off: a vertical tab, a no-break space.
                    "\u{b}",
                    "12/1A\u{b}",
                    "\u{a0}U1",
                    "U1\u{2003}",
                ][..]
            )
            .prop_map(str::to_string),
            "[a-zA-Z0-9 ,/-]{0,10}",
        ];
        prop_oneof![12 => valid, 1 => any].boxed()
    }

    /// A header (the six required columns, then up to four more, known or not, maybe
    /// repeated) and a record for it.
    fn record() -> impl Strategy<Value = (Vec<&'static str>, Vec<String>)> {
        let columns: Vec<&'static str> = Field::ALL.iter().map(|f| f.name()).chain(["screen"]).collect();
        proptest::collection::vec(proptest::sample::select(columns), 0..5).prop_flat_map(|extra| {
            let mut header = vec!["event_id", "ts", "system", "user_id", "action", "subject_type"];
            header.extend(extra);
            let values: Vec<BoxedStrategy<String>> = header.iter().map(|c| value(Field::from_name(c))).collect();
            (Just(header), values)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// The direct build of a plain record gives what the general path gives, for
        /// every header (extra and repeated columns included) and every value.
        #[test]
        fn the_direct_build_agrees_with_the_general_path((header, values) in record()) {
            let layout = CsvLayout::from_header(&header).unwrap();
            let fields: Vec<&str> = values.iter().map(String::as_str).collect();
            if let Some(event) = layout.plain(&fields) {
                prop_assert_eq!(Ok(*event), general(&layout, &fields), "{:?} {:?}", header, fields);
            }
        }
    }

    /// The property above compares something: most generated records take the direct
    /// build.
    #[test]
    fn most_generated_records_take_the_direct_build() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let taken = (0..1000)
            .filter(|_| {
                let (header, values) = record().new_tree(&mut runner).unwrap().current();
                let fields: Vec<&str> = values.iter().map(String::as_str).collect();
                CsvLayout::from_header(&header).unwrap().plain(&fields).is_some()
            })
            .count();
        assert!(taken >= 200, "{taken} of 1,000 records took the direct build");
    }

    #[test]
    fn quoted_fields_with_commas_and_newlines() {
        let mut s = CsvSplitter::new(b',');
        let fields = s.split(b"a,\"SMITH, John\",\"two\nlines\",,\"say \"\"hi\"\"\"").unwrap();
        assert_eq!(fields, vec!["a", "SMITH, John", "two\nlines", "", "say \"hi\""]);
    }

    #[test]
    fn wide_records_grow_buffers() {
        let mut s = CsvSplitter::new(b',');
        let long = "x".repeat(5000);
        let record = vec![long.as_str(); 100].join(",");
        let fields = s.split(record.as_bytes()).unwrap();
        assert_eq!(fields.len(), 100);
        assert!(fields.iter().all(|f| f.len() == 5000));
    }

    #[test]
    fn canonical_layout() {
        let header = "event_id,ts,system,user_id,action,subject_type,subject_name,screen";
        let mut s = CsvSplitter::new(b',');
        let layout = CsvLayout::from_header(&s.split(header.as_bytes()).unwrap()).unwrap();
        let e =
            layout.decode(&s.split(b"e1,2026-11-22T09:00:00Z,pnc,U1,view,person,\"SMITH, John\",P1").unwrap()).unwrap();
        assert_eq!(e.subject_name.as_deref(), Some("SMITH, John"));
        assert_eq!(e.extra.as_deref(), Some(r#"{"screen":"P1"}"#));
        assert!(matches!(layout.decode(&["e1", "x"]), Err(DecodeError::FieldCount { got: 2, .. })));
    }

    /// A header written in another case (a spreadsheet's `Subject_Name`) names the
    /// field; before, the name was kept as an extra column and no rule saw it.
    #[test]
    fn a_header_name_in_another_case_is_the_field() {
        let header = ["Event_ID", "TS", "System", "user_id", "action", "subject_type", "Subject_Name"];
        let layout = CsvLayout::from_header(&header).unwrap();
        let e = layout.decode(&["e1", "2026-11-22T09:14:03Z", "PNC", "U1", "view", "person", "STAR, Ann"]).unwrap();
        assert_eq!(e.subject_name.as_deref(), Some("STAR, Ann"));
        assert!(e.extra.is_none(), "{:?}", e.extra);
    }

    /// A header in another spelling (`Subject Id`, a character that shows nothing in
    /// it) names the field, unless the field's own name heads another column: then
    /// that one is the field and the other an extra column (a probe's `subject\u{200b}_id`
    /// was kept as an extra column no rule reads).
    #[test]
    fn a_header_in_another_spelling_is_the_field_unless_its_own_name_is_there() {
        let values = ["e1", "2026-11-22T09:14:03Z", "PNC", "U1", "view", "person", "99/1A", "x"];
        for spelt in ["Subject Id", "subject\u{200b}_id", "SubjectID"] {
            let header = ["event_id", "ts", "system", "user_id", "action", "subject_type", spelt, "note"];
            let e = CsvLayout::from_header(&header).unwrap().decode(&values).unwrap();
            assert_eq!(e.subject_id.as_deref(), Some("99/1A"), "{spelt:?}");
        }
        let header = ["event_id", "ts", "system", "user_id", "action", "subject_type", "SUBJECT_ID", "subject_id"];
        let e = CsvLayout::from_header(&header).unwrap().decode(&values).unwrap();
        assert_eq!(e.subject_id.as_deref(), Some("x"));
        assert_eq!(e.extra.as_deref(), Some(r#"{"SUBJECT_ID":"99/1A"}"#));
        // A value the field cannot take is kept as an extra column, not a refused row.
        let header = ["event_id", "ts", "system", "user_id", "action", "subject_type", "Subject DOB", "note"];
        let values = ["e1", "2026-11-22T09:14:03Z", "PNC", "U1", "view", "person", "04/03/1985", "x"];
        let e = CsvLayout::from_header(&header).unwrap().decode(&values).unwrap();
        assert_eq!((e.subject_dob, e.extra.as_deref()), (None, Some(r#"{"note":"x","Subject DOB":"04/03/1985"}"#)));
    }

    /// Extra columns of one name, or of none (a spreadsheet's trailing commas), are
    /// each kept apart: before, the kept fields were JSON with one key twice, which
    /// the archive and any reader of it take as one value.
    #[test]
    fn extra_columns_of_one_name_or_none_are_kept_apart() {
        let header = ["event_id", "ts", "system", "user_id", "action", "subject_type", "note", "note", "", ""];
        let layout = CsvLayout::from_header(&header).unwrap();
        let values = ["e1", "2026-11-22T09:14:03Z", "PNC", "U1", "view", "person", "a", "b", "c", "d"];
        let e = layout.decode(&values).unwrap();
        let extra: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(e.extra.as_deref().unwrap()).unwrap();
        let kept: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (k.as_str(), v.as_str().unwrap())).collect();
        assert_eq!(kept, [("column_10", "d"), ("column_9", "c"), ("note", "a"), ("note_column_8", "b")]);
        // A made-up name that is another column's own is numbered on (a review).
        let header = [
            "event_id",
            "ts",
            "system",
            "user_id",
            "action",
            "subject_type",
            "column_8",
            "",
            "note_column_10",
            "note",
            "note",
        ];
        let layout = CsvLayout::from_header(&header).unwrap();
        let values = ["e1", "2026-11-22T09:14:03Z", "PNC", "U1", "view", "person", "a", "b", "c", "d", "e"];
        let extra: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(layout.decode(&values).unwrap().extra.as_deref().unwrap()).unwrap();
        assert_eq!(extra.len(), 5, "{extra:?}");
    }

    #[test]
    fn header_without_required_column() {
        let err = CsvLayout::from_header(&["event_id", "ts"]).err().unwrap();
        assert!(err.to_string().contains("system"), "{err}");
    }
}
