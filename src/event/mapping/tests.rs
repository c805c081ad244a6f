use super::*;
use crate::event::{Action, SubjectType};

fn m(field: Field, from: &str) -> FieldMapping {
    FieldMapping {
        field,
        from: FieldFrom::Source(from.into()),
        values: HashMap::new(),
        time: None,
        default: None,
        strip_domain: None,
    }
}

fn cef_mapping() -> SourceMapping {
    let mut action = m(Field::Action, "act");
    action.values.insert("QUERY".into(), "search".into());
    let mut ts = m(Field::Ts, "rt");
    ts.time = Some(TimeFormat::EpochMillis);
    SourceMapping {
        name: "pnc-cef".into(),
        format: SourceFormat::Cef,
        fields: vec![
            m(Field::EventId, "externalId"),
            ts,
            FieldMapping { from: FieldFrom::Constant("PNC".into()), ..m(Field::System, "") },
            m(Field::UserId, "suser"),
            action,
            FieldMapping { from: FieldFrom::Constant("person".into()), ..m(Field::SubjectType, "") },
            m(Field::SubjectName, "duser"),
            m(Field::Reference, "Reference"),
        ],
        keep_unmapped: true,
        files: vec!["*.cef".into()],
    }
}

#[test]
fn cef_line_maps_to_event() {
    let line = "CEF:0|HO|PNC|5|Q01|Person enquiry|3|externalId=A-1 rt=1795338843120 suser=U1234 act=QUERY duser=SMITH, John cs1Label=Reference cs1=INC-42 dvchost=gw1";
    let e = cef_mapping().decode_cef(line).unwrap();
    assert_eq!(e.event_id, "A-1");
    assert_eq!(e.action, Action::Search);
    assert_eq!(e.subject_type, SubjectType::Person);
    assert_eq!(e.reference.as_deref(), Some("INC-42"));
    assert_eq!(e.ts, Timestamp(1795338843120));
    assert_eq!(e.extra.as_deref(), Some(r#"{"cs1":"INC-42","dvchost":"gw1"}"#));
}

/// A pattern holding a UTC offset reads each value at its own offset, whatever
/// the mapping's zone (before, the offset was dropped and the value read in it).
#[test]
fn a_pattern_with_an_offset_places_each_value_by_it() {
    let format =
        TimeFormat::Pattern { pattern: "%d/%m/%Y %H:%M:%S %z".into(), zone: Zone::parse("Europe/London").unwrap() };
    let t = convert_time(&format, "22/07/2026 10:00:00 +0200", Field::Ts).unwrap();
    assert_eq!(t.to_string(), "2026-07-22T08:00:00.000Z");
    assert!(has_offset("%Y-%m-%dT%H:%M:%S%:z") && has_offset("%+") && !has_offset("%d/%m/%Y %%z"));
    assert!(pattern_problem(Field::Ts, "%Y-%m-%dT%H:%M:%S%:z").is_none());
    assert!(pattern_problem(Field::Ts, "%Y-%m-%dT%H:%M:%S %Z").is_some_and(|p| p.contains("zone name")));
    // A date of birth needs its century (a probe: 14/03/55 read as 2055).
    assert!(pattern_problem(Field::SubjectDob, "%d/%m/%y").is_some_and(|p| p.contains("two-digit year")));
    assert!(pattern_problem(Field::SubjectDob, "%d/%m/%Y").is_none());
    assert!(pattern_problem(Field::Ts, "%d/%m/%y %H:%M").is_none());
}

#[test]
fn file_patterns() {
    let m = cef_mapping();
    assert!(m.matches_file("pnc-2026-11-22.cef"));
    assert!(m.matches_file("PNC-2026-11-22.CEF"), "without case");
    assert!(!m.matches_file("events.jsonl"));
    assert!(super::glob_match(b"pnc-??.log", b"pnc-01.log"));
    assert!(!super::glob_match(b"pnc-??.log", b"pnc-1.log"));
    // Two sources whose patterns both match a file: refused, not the first taken.
    use crate::source::decode::InputFormat;
    let other = std::sync::Arc::new(SourceMapping { name: "other".into(), files: vec!["pnc-*".into()], ..m });
    let both = [std::sync::Arc::new(cef_mapping()), other];
    let err = InputFormat::for_path(std::path::Path::new("pnc-1.cef"), None, &both).err().unwrap();
    assert!(err.contains("sources `pnc-cef` and `other` both match it"), "{err}");
    assert!(InputFormat::for_path(std::path::Path::new("x.cef"), None, &both).is_ok());
}

#[test]
fn unmapped_value_fails_validation_with_original() {
    let line = "CEF:0|HO|PNC|5|Q01|x|3|externalId=A-1 rt=1795338843120 suser=U1 act=BROWSE";
    let err = cef_mapping().decode_cef(line).unwrap_err();
    assert!(err.to_string().contains("BROWSE"), "{err}");
}

#[test]
fn local_time_pattern_in_london() {
    let f = TimeFormat::Pattern { pattern: "%d/%m/%Y %H:%M:%S".into(), zone: Zone::parse("Europe/London").unwrap() };
    // British Summer Time: 10:00 local is 09:00 UTC.
    let t = convert_time(&f, "01/07/2026 10:00:00", Field::Ts).unwrap();
    assert_eq!(t.to_string(), "2026-07-01T09:00:00.000Z");
    let t = convert_time(&f, "01/12/2026 10:00:00", Field::Ts).unwrap();
    assert_eq!(t.to_string(), "2026-12-01T10:00:00.000Z");
    assert!(convert_time(&f, "2026-12-01", Field::Ts).is_err());
}

#[test]
fn json_paths_and_csv_columns() {
    let mapping = SourceMapping {
        name: "rms".into(),
        format: SourceFormat::Json,
        fields: vec![
            m(Field::EventId, "id"),
            m(Field::Ts, "when"),
            m(Field::System, "app"),
            m(Field::UserId, "who.id"),
            m(Field::Action, "op"),
            m(Field::SubjectType, "kind"),
        ],
        keep_unmapped: true,
        files: Vec::new(),
    };
    let e = mapping
        .decode_json(
            br#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"id":"U9"},"op":"view","kind":"crime","x":1}"#,
        )
        .unwrap();
    assert_eq!((e.event_id.as_str(), e.user_id.as_str(), e.system.as_str()), ("7", "U9", "RMS"));
    assert_eq!(e.extra.as_deref(), Some(r#"{"x":1}"#));
    let header: Vec<CompactString> = ["id", "when", "app", "who.id", "op", "kind"].map(Into::into).into();
    let e = mapping.decode_csv(&header, &["8", "2026-11-22T09:00:00Z", "RMS", "U9", "VIEW", "crime"]).unwrap();
    assert_eq!(e.event_id, "8");
    // A CSV header is checked against the mapping once: a required field's column
    // missing, or a column given twice, refuses the file naming the column (each
    // row said only "missing `event_id`"); an optional one missing is listed.
    assert_eq!(mapping.check_csv_header(&header).unwrap(), Vec::<String>::new());
    let header = |names: &[&str]| names.iter().map(|n| CompactString::from(*n)).collect::<Vec<_>>();
    let no_id = mapping.check_csv_header(&header(&["ref", "when", "app", "who.id", "op", "kind"])).unwrap_err();
    assert!(no_id.to_string().contains("no column `id` (mapped to `event_id`)"), "{no_id}");
    // A column named in another case is that column.
    let upper = header(&["ID", "WHEN", "App", "WHO.ID", "op", "kind"]);
    assert!(mapping.check_csv_header(&upper).is_ok());
    let both = header(&["ID", "Id", "when", "app", "who.id", "op", "kind"]);
    let twice = mapping.check_csv_header(&both).unwrap_err().to_string();
    assert!(twice.contains("names `id` twice in other cases"), "{twice}");
    let e = mapping.decode_csv(&upper, &["9", "2026-11-22T09:00:00Z", "RMS", "U9", "VIEW", "crime"]).unwrap();
    assert_eq!((e.event_id.as_str(), e.user_id.as_str()), ("9", "U9"));
    let twice = mapping.check_csv_header(&header(&["id", "when", "app", "who.id", "op", "kind", "op"])).unwrap_err();
    assert!(twice.to_string().contains("`op` twice"), "{twice}");
    // A column the mapping does not read may repeat (kept once in `extra`).
    let notes = header(&["id", "when", "app", "who.id", "op", "kind", "notes", "notes", "", ""]);
    assert!(mapping.check_csv_header(&notes).is_ok());
    let e = mapping
        .decode_csv(&notes, &["8", "2026-11-22T09:00:00Z", "RMS", "U9", "VIEW", "crime", "a", "b", "", ""])
        .unwrap();
    assert_eq!(e.extra.as_deref(), Some(r#"{"notes":"a"}"#));
    let mut with_ref = mapping.clone();
    with_ref.fields.push(m(Field::Reference, "Linked Ref"));
    let all = header(&["id", "when", "app", "who.id", "op", "kind", "LinkedRef"]);
    assert_eq!(with_ref.check_csv_header(&all).unwrap(), ["`Linked Ref` (mapped to `reference`)"]);
    // A list of one value is the value; anything that is not text is refused,
    // naming the source field, rather than read as its JSON text or first element.
    let line = |who: &str, id: &str| {
        format!(
            r#"{{"id":{id},"when":"2026-11-22T09:00:00Z","app":"rms","who":{{"id":{who}}},"op":"view","kind":"crime"}}"#
        )
    };
    assert_eq!(mapping.decode_json(line(r#"["U9"]"#, "7").as_bytes()).unwrap().user_id, "U9");
    // A number steps into a list, and a list of one is stepped through (a custody
    // system's `"names":[{...}]`; a probe: the path never resolved, silently).
    let mut nested = mapping.clone();
    nested.fields[3] = m(Field::UserId, "who.ids.1.code");
    let listed = r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"ids":[{"code":"X"},{"code":"U7"}]},"op":"view","kind":"crime"}"#;
    assert_eq!(nested.decode_json(listed.as_bytes()).unwrap().user_id, "U7");
    nested.fields[3] = m(Field::UserId, "who.ids.code");
    let one = r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"ids":[{"code":"U6"}]},"op":"view","kind":"crime"}"#;
    assert_eq!(nested.decode_json(one.as_bytes()).unwrap().user_id, "U6");
    let several = r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"ids":[{"code":"U6"},{"code":"U5"}]},"op":"view","kind":"crime"}"#;
    let refused = nested.decode_json(several.as_bytes()).unwrap_err().to_string();
    assert!(refused.contains("`who.ids.code`: a list of several values"), "{refused}");
    // Accounts with a domain, as Windows and mail write them, are the staff list's
    // logins with `strip_domain` (a probe: every misuse in two sources was lost to
    // users the staff list did not know).
    let mut logins = mapping.clone();
    logins.fields[3].strip_domain = Some(Vec::new());
    for who in [r#""WMP\\jsmith""#, r#""jsmith@wmp.police.uk""#, r#"" jsmith ""#] {
        assert_eq!(logins.decode_json(line(who, "7").as_bytes()).unwrap().user_id, "JSMITH", "{who}");
    }
    assert_eq!(without_domain("WMP\\"), ("WMP\\", None), "nothing left: as it was");
    // Only the force's own domains, when listed: another force's account is another
    // user (a review: it became the officer of the same login).
    logins.fields[3].strip_domain = Some(vec!["WMP".into(), "wmp.police.uk".into()]);
    for (who, is) in [
        (r#""wmp\\jsmith""#, "JSMITH"),
        (r#""jsmith@WMP.police.uk""#, "JSMITH"),
        (r#""OTHER\\jsmith""#, "OTHER\\JSMITH"),
        (r#""jsmith@council.gov.uk""#, "JSMITH@COUNCIL.GOV.UK"),
    ] {
        assert_eq!(logins.decode_json(line(who, "7").as_bytes()).unwrap().user_id, is, "{who}");
    }
    for (who, id, says) in [
        (r#"["U9","U8"]"#, "7", "`who.id`: a list of several values"),
        (r#"{"x":1}"#, "7", "`who.id`: not a string or a number"),
        ("true", "7", "`who.id`: not a string or a number"),
        (r#""U9""#, "99999999999999999999", "`id`: a number with a fraction"),
        (r#""U9""#, "1.5", "`id`: a number with a fraction"),
    ] {
        let reason = mapping.decode_json(line(who, id).as_bytes()).unwrap_err().to_string();
        assert!(reason.contains(says), "{who} {id}: {reason}");
    }
    let twice =
        r#"{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{"id":"U9"},"op":"view","kind":"crime","id":8}"#;
    assert!(mapping.decode_json(twice.as_bytes()).unwrap_err().to_string().contains("field `id` is given twice"));
    assert!(mapping.decode_json(b"[1]").unwrap_err().to_string().contains("expected a JSON object"));
    let deep = format!(
        r#"{{"id":7,"when":"2026-11-22T09:00:00Z","app":"rms","who":{{"id":"U9"}},"op":"view","kind":"crime","x":{}1{}}}"#,
        "[".repeat(40),
        "]".repeat(40)
    );
    assert!(mapping.decode_json(deep.as_bytes()).unwrap_err().to_string().contains("nested deeper than 32"));
}
