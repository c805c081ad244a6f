use super::*;
use crate::time::Timestamp;

fn incident(victims: &[&str]) -> Row {
    Row::Incident(Incident {
        reference: "DA-1".into(),
        kind: None,
        opened_at: Timestamp(0),
        closed_at: None,
        unit: None,
        officers: UserSet::default(),
        victims: victims.iter().map(|v| read::parse_victim(v).unwrap()).collect(),
        vulnerable: true,
        recorded_at: None,
    })
}

fn victims_of(l: &WatchLists, id: &str) -> usize {
    let mut out = Matches::new();
    let person = PersonIdentity::new(Some(id.into()), None, None);
    l.victim_matches(&person, &person.keys(), &mut out);
    out.len()
}

fn operation(name: &str) -> Row {
    let cells = serde_json::json!({"operation": name, "subject_vrm": "AB12CDE", "starts_at": "2026-11-01T00:00:00Z"});
    read::read_row(TableName::Operations, &read::JsonCells(cells.as_object().unwrap())).unwrap()
}

fn named(l: &WatchLists, reference: &str) -> Vec<String> {
    let mut names: Vec<String> = l.operations_named_in(reference).map(|o| o.operation.to_string()).collect();
    names.sort();
    names
}

/// Officers type a reference's separators as they please: the incident is found by
/// its letters and digits, kept as written, and deleted by any spelling.
#[test]
fn an_incident_is_found_whatever_separators_its_reference_is_typed_with() {
    let mut l = WatchLists::default();
    let Row::Incident(mut i) = incident(&[]) else { unreachable!() };
    i.reference = "INC-20261025-03366".into();
    l.upsert(Row::Incident(i));
    for typed in ["INC 20261025 03366", "inc/20261025/03366", " Inc.20261025.03366 ", "INC2026102503366"] {
        assert_eq!(l.incident(typed).map(|i| i.reference.as_str()), Some("INC-20261025-03366"), "{typed}");
    }
    assert!(l.incident("INC-20261025-0336").is_none());
    // Written among other words (a probe: a label before every reference).
    for typed in [
        "Ref: INC-20261025-03366",
        "ref:inc 20261025 03366",
        "INC-20261025-03366 (burglary, follow-up)",
        "re #INC/20261025/03366 seen 2nd time",
        "[INC-20261025-03366]",
    ] {
        assert_eq!(l.incident(typed).map(|i| i.reference.as_str()), Some("INC-20261025-03366"), "{typed}");
    }
    for not in ["Ref: INC-20261025-0336", "INC-20261025-03366X", "no ref", "a b c d e f g h i j k l INC-20261025-03366"]
    {
        assert!(l.incident(not).is_none(), "{not}");
    }
    // Two incidents named: both, whatever their order (a review).
    let Row::Incident(mut other) = incident(&[]) else { unreachable!() };
    other.reference = "CAD-20261101-00479".into();
    l.upsert(Row::Incident(other));
    for typed in ["CAD-20261101-00479 / INC-20261025-03366", "INC-20261025-03366 / CAD-20261101-00479"] {
        let mut found: Vec<&str> = l.incidents_in(typed).iter().map(|i| i.reference.as_str()).collect();
        found.sort();
        assert_eq!(found, ["CAD-20261101-00479", "INC-20261025-03366"], "{typed}");
    }
    assert_eq!(
        reference_readings("Ref: INC 1 (burglary)").as_slice(),
        ["Ref: INC 1 (burglary)", "Ref: INC 1 (burglary", "Ref: INC 1", "INC 1 (burglary", "INC 1", "1 (burglary"],
        "runs of up to six words that hold a digit and four letters or digits, the longest first"
    );
    // A long reference text still reaches the incident's number, a spaced one too (a
    // review: a cap on the readings filled before the single words).
    for typed in ["CAD 479 01/11 stop AB12CDE 14:05 re INC-20261025-03366 seen 2nd time", "Ref: INC - 20261025 - 03366"]
    {
        assert_eq!(l.incident(typed).map(|i| i.reference.as_str()), Some("INC-20261025-03366"), "{typed}");
    }
    assert_eq!(reference_readings("no digit here at all").len(), 1);
    assert_eq!(reference_key("--"), "--", "no letter or digit: kept whole");
    assert!(l.delete(TableName::Incidents, "inc 20261025 03366").is_some());
    assert!(l.incident("INC-20261025-03366").is_none());
}

/// Two forces' staff in units of one name: said, with the forces, so that an
/// incident owned by one does not justify the other's staff unseen.
#[test]
fn a_unit_name_shared_by_two_forces_is_reported() {
    let staff = "user_id,surname,forenames,dob,home_postcode,unit,role,force,org,status,status_since,shift\n\
                 SV1,Foster,Sarah,,,CID,DC,SV,police,active,,\n\
                 NR1,Khan,Lewis,,,cid,DC,NR,police,active,,\n\
                 NR2,Ng,Ann,,,NR Response,PC,NR,police,active,,\n\
                 NR3,Ng,Bob,,,NR Response,PC,nr,police,active,,\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("staff.csv"), staff).unwrap();
    let (l, _) = load::load_dir(dir.path()).unwrap();
    assert_eq!(l.units_of_several_forces(), vec![("CID".to_string(), vec!["NR".to_string(), "SV".to_string()])]);
    let note = shared_unit_note("CID", &["NR".into(), "SV".into(), "WM".into()]);
    assert!(note.starts_with("unit \"CID\" has staff in forces NR, SV and WM: "), "{note}");
}

proptest::proptest! {
    /// The stack key of a short ASCII reference is the key the general path
    /// builds from its characters.
    #[test]
    fn the_short_key_is_the_general_key(r in "[ -~]{0,64}") {
        let mut buf = [0u8; rows::SHORT_REFERENCE];
        let general: String = r.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect();
        let short = rows::short_reference_key(&r, &mut buf);
        proptest::prop_assert_eq!(short, (!general.is_empty()).then_some(general.as_str()));
    }

    /// The splits of a short reference as bits are its splits.
    #[test]
    fn the_short_splits_are_the_splits(r in "[A-C0-3 /-]{0,64}") {
        let bits = rows::short_splits(&r).unwrap();
        let listed: u64 = rows::splits(&r).iter().map(|p| 1u64 << p).sum();
        proptest::prop_assert_eq!(bits, listed);
    }
}

/// Where both references are split by separators, the splits agree (one may have
/// fewer): `41/2345/26` is not `4/12345/26` (a hostile probe: a reference to no
/// incident was justified by another's).
#[test]
fn references_split_in_other_places_are_other_incidents() {
    let mut l = WatchLists::default();
    let Row::Incident(mut i) = incident(&[]) else { unreachable!() };
    i.reference = "4/12345/26".into();
    l.upsert(Row::Incident(i.clone()));
    assert!(l.incident("41/2345/26").is_none());
    for typed in ["4 12345 26", "41234526", "4/1234526", "4-12345-26/"] {
        assert!(l.incident(typed).is_some(), "{typed}");
    }
    assert!(rows::same_grouping("INC20261025-03366", "INC-20261025-03366"));
    assert!(rows::same_grouping("INC-2026-1025-03366", "INC-20261025-03366"));
    assert!(rows::same_grouping("INC2026-1025-03366", "INC-20261025-03366"), "a review: a plausible typing");
    assert!(!rows::same_grouping("INC-202610-2503366", "INC-20261025-03366"));
    // Both incidents on the list: each found by its own reference, each deleted by it.
    i.reference = "41/2345/26".into();
    l.upsert(Row::Incident(i));
    assert_eq!(l.incidents.len(), 2);
    assert_eq!(l.incident("41 2345 26").map(|i| i.reference.as_str()), Some("41/2345/26"));
    assert_eq!(l.incident("4/12345/26").map(|i| i.reference.as_str()), Some("4/12345/26"));
    assert!(l.delete(TableName::Incidents, "4/12345/26").is_some());
    assert_eq!(l.incident("41/2345/26").map(|i| i.reference.as_str()), Some("41/2345/26"), "kept beside");
    assert!(l.delete(TableName::Incidents, "41/2345/26").is_some());
    assert!(l.incident("41/2345/26").is_none() && l.incidents.is_empty());
}

#[test]
fn a_reference_names_the_operations_listed_at_the_time() {
    let mut l = WatchLists::default();
    l.upsert(operation("NIGHTJAR"));
    l.upsert(operation("OWL"));
    assert_eq!(named(&l, "op nightjar-2 owl"), ["NIGHTJAR"], "names under four characters name nothing");
    // Added and removed live: the next look-up sees each change.
    let kestrel = operation("Kestrel");
    let key = kestrel.key();
    l.upsert(kestrel);
    assert_eq!(named(&l, "KESTREL/NIGHTJAR"), ["Kestrel", "NIGHTJAR"]);
    l.delete(TableName::Operations, &key);
    assert_eq!(named(&l, "KESTREL/NIGHTJAR"), ["NIGHTJAR"]);
}

#[test]
fn the_victim_index_follows_replacement_and_deletion() {
    let mut l = WatchLists::default();
    l.upsert(incident(&["A1", "B2"]));
    assert_eq!((victims_of(&l, "A1"), victims_of(&l, "B2")), (1, 1));
    // The row replaced with one victim fewer: the other is no longer a victim.
    l.upsert(incident(&["B2"]));
    assert_eq!((victims_of(&l, "A1"), victims_of(&l, "B2")), (0, 1));
    assert_eq!(l.victims.len(), 1);
    l.delete(TableName::Incidents, "DA-1");
    assert_eq!((victims_of(&l, "B2"), l.victims.len()), (0, 0));
}
