use super::*;

fn person(id: Option<&str>, name: &str, dob: Option<&str>) -> PersonIdentity {
    PersonIdentity::new(id.map(Into::into), Some(name.into()), dob.map(|d| Date::parse(d).unwrap()))
}

/// A name written without a comma whose surname is two words, or comes first,
/// finds the row with the same date of birth (an evaluator's probe); with another
/// date of birth, or none, it does not.
#[test]
fn a_name_without_a_comma_is_read_the_other_ways_it_may_be_meant() {
    let mut index = PersonIndex::default();
    let rows =
        [person(None, "LEFÈVRE-HART, Zoë", Some("1984-06-12")), person(None, "De Souza, Luke", Some("1980-01-01"))];
    for (i, p) in rows.iter().enumerate() {
        index.add(i as RowId, p);
    }
    let find = |name: &str, dob: Option<&str>| {
        let subject = person(None, name, dob);
        let mut out = Matches::new();
        index.find(&subject, &subject.keys(), |id| rows.get(id as usize), &mut out);
        out.iter().map(|(id, s)| (*id, *s)).collect::<Vec<_>>()
    };
    for typed in [
        "Zoe Lefevre Hart",
        "LEFEVRE HART ZOE",
        "Zoe Lefevre-Hart",
        "LEFEVREHART ZOE",
        "Zoe, Lefevre-Hart",
        "ZOE/LEFEVRE HART",
        "Zoe Lefevre Hart Jnr",
    ] {
        assert_eq!(find(typed, Some("1984-06-12")), [(0, MatchStrength::NameDob)], "{typed}");
    }
    assert_eq!(find("Luke De Souza", Some("1980-01-01")), [(1, MatchStrength::NameDob)]);
    assert!(find("Zoe Lefevre Hart", Some("1984-06-13")).is_empty());
    assert!(find("Zoe Lefevre Hart", None).is_empty());
}

/// Forenames typed in part, with the surname and the date of birth, find the row
/// as an initial does (a probe: `JACKSON/JOH` and `KING/PAT` found no one where
/// `JACKSON` and `KING` alone did); another forename, or no date, does not.
#[test]
fn forenames_typed_in_part_find_the_person_with_the_date_of_birth() {
    let mut index = PersonIndex::default();
    let rows = [
        person(None, "JACKSON, John Jennifer", Some("1943-03-07")),
        person(None, "KING, Patricia", Some("1958-08-24")),
    ];
    for (i, p) in rows.iter().enumerate() {
        index.add(i as RowId, p);
    }
    let find = |name: &str, dob: Option<&str>| {
        let subject = person(None, name, dob);
        let mut out = Matches::new();
        index.find(&subject, &subject.keys(), |id| rows.get(id as usize), &mut out);
        out.iter().map(|(id, s)| (*id, *s)).collect::<Vec<_>>()
    };
    for typed in ["JACKSON/JOH", "Jackson, Jo Jen", "JACKSON/JOHN JENNIFER", "JACKSON/J JEN"] {
        assert_eq!(find(typed, Some("1943-03-07")), [(0, MatchStrength::NameDob)], "{typed}");
    }
    for typed in ["KING/PAT", "KING/PA", "KING, Patr"] {
        assert_eq!(find(typed, Some("1958-08-24")), [(1, MatchStrength::NameDob)], "{typed}");
    }
    for (typed, dob) in [
        ("JACKSON/JANE", Some("1943-03-07")),
        ("JACKSON, John Peter", Some("1943-03-07")),
        ("JACKSON/JOH", Some("1943-03-08")),
        ("KING/PAT", None),
        // A name one or two letters longer is most often another name (twins).
        ("JACKSON, Johnny", Some("1943-03-07")),
        ("KING, Patricias", Some("1958-08-24")),
        ("JACKSON, Johnathan", Some("1943-03-07")),
    ] {
        assert!(find(typed, dob).is_empty(), "{typed} {dob:?}");
    }
}

mod rows {
    use super::super::Rows;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// Upserts and removals in any order, keys reused after removal: the table
        /// finds what a plain map holds, and a row keeps its id while it lives.
        #[test]
        fn rows_agree_with_a_map(ops in proptest::collection::vec((any::<bool>(), 0u8..40, any::<u16>()), 0..400)) {
            let mut rows = Rows::default();
            let mut model: BTreeMap<String, (u32, u16)> = BTreeMap::new();
            for (upsert, k, v) in ops {
                let key = format!("INC-{k}");
                if upsert {
                    let (id, old) = rows.upsert(key.as_str().into(), v);
                    let before = model.insert(key, (id, v));
                    prop_assert_eq!(old, before.map(|(_, v)| v));
                    if let Some((old_id, _)) = before {
                        prop_assert_eq!(id, old_id);
                    }
                } else {
                    let removed = rows.remove(&key);
                    prop_assert_eq!(removed, model.remove(&key));
                }
                prop_assert_eq!(rows.len(), model.len());
            }
            for k in 0u8..40 {
                let key = format!("INC-{k}");
                let found = rows.by_key(&key).map(|(id, v)| (id, *v));
                prop_assert_eq!(found, model.get(&key).copied());
                if let Some((id, _)) = found {
                    prop_assert_eq!(rows.key_of(id), Some(key.as_str()));
                }
            }
            prop_assert_eq!(rows.iter().count(), model.len());
        }
    }
}

#[test]
fn strengths() {
    let row = person(Some("12/1A"), "SMITH, John", Some("1980-01-02"));
    assert_eq!(person(Some("12/1A"), "X, Y", None).match_against(&row), Some(MatchStrength::Id));
    assert_eq!(person(None, "John Smith", Some("1980-01-02")).match_against(&row), Some(MatchStrength::NameDob));
    assert_eq!(person(None, "smith/j", None).match_against(&row), Some(MatchStrength::Initial));
    assert_eq!(person(None, "smith/john", None).match_against(&row), Some(MatchStrength::Name));
    let full = person(None, "SMITH, John Paul", None);
    assert_eq!(person(None, "SMITH, John P", None).match_against(&full), Some(MatchStrength::Initial));
    assert_eq!(person(None, "SMITH, John", None).match_against(&full), Some(MatchStrength::Name));
    // The legitimate twin: same name, a different date of birth.
    assert_eq!(person(None, "John Smith", Some("1991-05-05")).match_against(&row), None);
    // A surname alone identifies nobody.
    assert_eq!(person(None, "SMITH", None).match_against(&row), None);
    assert_eq!(person(None, "Jane Smith", None).match_against(&row), None);
}

#[test]
fn index_follows_replacement_and_removal() {
    let mut rows: Rows<PersonIdentity> = Rows::default();
    let mut idx = PersonIndex::default();
    let p = person(None, "SMITH, John", Some("1980-01-02"));
    let (id, _) = rows.upsert("HP1".into(), p.clone());
    idx.add(id, &p);
    let find = |idx: &PersonIndex, rows: &Rows<PersonIdentity>, q: &PersonIdentity| {
        let mut out = Matches::new();
        idx.find(q, &q.keys(), |id| rows.get(id), &mut out);
        out
    };
    let q = person(None, "John SMITH", Some("1980-01-02"));
    assert_eq!(find(&idx, &rows, &q).as_slice(), &[(id, MatchStrength::NameDob)]);

    // Replace with a different person under the same key.
    let p2 = person(None, "JONES, Ann", None);
    let (id2, old) = rows.upsert("HP1".into(), p2.clone());
    assert_eq!(id2, id);
    idx.remove(id, &old.unwrap());
    idx.add(id, &p2);
    assert!(find(&idx, &rows, &q).is_empty());
    assert_eq!(find(&idx, &rows, &person(None, "Ann Jones", Some("1970-01-01"))).len(), 1);

    let (_, gone) = rows.remove("HP1").unwrap();
    idx.remove(id, &gone);
    assert!(rows.is_empty());
    assert!(find(&idx, &rows, &person(None, "Ann Jones", None)).is_empty());
}
