//! Pseudonymous triage where the record looked up is the officer's own life, and who
//! may change the status of a settled alert.

use super::*;

/// Staff U10 (with a date of birth and a home postcode) and U11, a colleague.
fn staff_lists() -> tempfile::TempDir {
    let lists = tempfile::tempdir().unwrap();
    std::fs::write(
        lists.path().join("staff.csv"),
        "user_id,surname,forenames,dob,home_postcode,unit,role\nU10,Hill,Andrew,1977-09-06,AB1 2CD,Response,PC\nU11,Stone,Beth,1980-04-04,ZZ9 9ZZ,Response,PC\n",
    )
    .unwrap();
    lists
}

/// U10's accesses: their own record, a stranger, an address on their street, and
/// their colleague U11.
fn archive_accesses(f: &Fixture) {
    let archive = f.dashboard.archive.clone().unwrap();
    let mut w = crate::archive::EventWriter::new(&archive, &crate::config::Config::defaults().archive);
    let lines = [
        r#"{"event_id":"ev-self","ts":"2026-11-20T01:00:00Z","system":"PNC","user_id":"U10","action":"view","subject_type":"person","subject_name":"HILL, Andrew","subject_dob":"1977-09-06","query":"HILL ANDREW"}"#,
        r#"{"event_id":"ev-other","ts":"2026-11-20T02:00:00Z","system":"PNC","user_id":"U10","action":"view","subject_type":"person","subject_name":"JONES, Ann","subject_dob":"1960-01-01"}"#,
        r#"{"event_id":"ev-home","ts":"2026-11-20T03:00:00Z","system":"PNC","user_id":"U10","action":"view","subject_type":"address","subject_postcode":"AB1 2CE"}"#,
        r#"{"event_id":"ev-mate","ts":"2026-11-20T04:00:00Z","system":"PNC","user_id":"U10","action":"view","subject_type":"person","subject_name":"STONE, Beth","subject_dob":"1980-04-04"}"#,
    ];
    for line in lines {
        w.append(crate::event::json::decode(line.as_bytes()).unwrap(), Default::default());
    }
    w.flush().unwrap();
}

fn self_lookup(id: &str) -> Alert {
    serde_json::from_value(json!({
        "alert_id": id, "rule": "self.lookup", "category": "self", "severity": "amber", "score": 60,
        "event_ts": "2026-11-20T01:00:00.000Z", "detected_at": "2026-11-20T01:00:01.000Z", "user_id": "U10",
        "subject": {"subject_type": "person", "subject_name": "HILL, Andrew", "subject_dob": "1977-09-06"},
        "event_ids": ["ev-self"], "watchlist": {"list": "staff", "key": "U10", "match": "name_dob"},
        "reason": "U10 (Andrew Hill, PC, Response) viewed HILL, Andrew: that is their own record.",
        "retrospective": false, "system": "PNC", "action": "view", "unit": "Response"
    }))
    .unwrap()
}

#[tokio::test]
async fn an_analyst_never_sees_a_pseudonym_beside_a_record_of_the_officers_own_life() {
    let lists = staff_lists();
    let f = fixture(&format!("watchlists_dir = \"{}\"", lists.path().display()));
    f.dashboard.observe(&self_lookup("SELF1")).unwrap();
    archive_accesses(&f);
    let ana = f.login("ana").await;
    let own = ["Hill", "HILL", "Andrew", "1977-09-06", "AB1", "STONE", "Beth", "U10"];
    let leaks = |body: &Value| own.iter().filter(|w| body.to_string().contains(*w)).copied().collect::<Vec<_>>();

    // The alert and its evidence: the officer by pseudonym, the subject hidden.
    let (status, alert) = f.call(&ana, "GET", "/api/alerts/SELF1", None).await;
    assert_eq!(status, StatusCode::OK, "{alert}");
    assert_eq!(leaks(&alert), Vec::<&str>::new(), "{alert}");
    let pseudonym = alert["alert"]["user_id"].as_str().unwrap().to_string();
    let evidence = &alert["events"][0];
    assert_eq!((evidence["event_id"].as_str(), evidence["user_id"].as_str()), (Some("ev-self"), Some(&*pseudonym)));
    assert!(evidence["subject_hidden"].is_string() && evidence.get("query").is_none(), "{evidence}");

    // The timeline: the records of the officer's own life hidden, a stranger's shown.
    let (_, timeline) = f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": pseudonym}))).await;
    assert_eq!(leaks(&timeline), Vec::<&str>::new(), "{timeline}");
    let accesses = timeline["accesses"].as_array().unwrap();
    assert_eq!(accesses.len(), 4, "{timeline}");
    let hidden: Vec<&str> =
        accesses.iter().filter(|a| a["subject_hidden"].is_string()).map(|a| a["event_id"].as_str().unwrap()).collect();
    assert_eq!(hidden.len(), 3, "self, home street and colleague: {hidden:?}");
    assert!(timeline.to_string().contains("JONES, Ann"), "a stranger's record is shown: {timeline}");

    // The history of a subject the analyst names: the access of the officer whose own
    // record it is is only counted (its pseudonym, its event id or its time beside the
    // subject would name them).
    let (_, history) = f.call(&ana, "POST", "/api/subject", Some(json!({"name": "HILL, Andrew"}))).await;
    assert_eq!(history["accesses"].as_array().unwrap().len(), 0, "{history}");
    assert_eq!(history["hidden"]["accesses"], 1, "{history}");
    for linked in [pseudonym.as_str(), "U10", "ev-self", "01:00"] {
        assert!(!history.to_string().contains(linked), "{linked}: {history}");
    }

    // An alert of another rule on such an access (a suspended officer looking
    // themselves up) hides its subject and sentence too, on the board and opened.
    let mut suspended = self_lookup("SUSP1");
    suspended.rule = crate::alert::RuleId::AccountStatus;
    suspended.watchlist = None;
    f.dashboard.observe(&suspended).unwrap();
    let (_, opened) = f.call(&ana, "GET", "/api/alerts/SUSP1", None).await;
    assert_eq!(leaks(&opened), Vec::<&str>::new(), "{opened}");
    assert!(opened["alert"]["reason"].as_str().unwrap().contains("tied to their own life"), "{opened}");
    let (_, board) = f.call(&ana, "GET", "/api/alerts", None).await;
    assert_eq!(leaks(&board), Vec::<&str>::new(), "{board}");

    // A supervisor sees it all; so does the analyst once the officer is revealed.
    let sup = f.login("sup").await;
    assert!(f.call(&sup, "GET", "/api/alerts/SELF1", None).await.1["events"][0]["subject_name"] == "HILL, Andrew");
    let reveal = json!({"pseudonym": pseudonym, "reason": "interview arranged with PSD"});
    assert_eq!(f.call(&sup, "POST", "/api/reveals", Some(reveal)).await.0, StatusCode::OK);
    let (_, alert) = f.call(&ana, "GET", "/api/alerts/SELF1", None).await;
    assert_eq!(alert["events"][0]["subject_name"], "HILL, Andrew", "{alert}");
}

#[tokio::test]
async fn only_a_supervisor_reopens_a_closed_resolved_or_proposed_closure() {
    let f = fixture("pseudonymous_roles = []");
    f.dashboard.observe(&alert("A2", "U1", None)).unwrap();
    let (sup, ana) = (f.login("sup").await, f.login("ana").await);
    let triage = |action: &str| Some(json!({"action": action}));
    // Closed with an outcome.
    let close = json!({"action": "close", "outcome": "misconduct"});
    assert_eq!(f.call(&sup, "POST", "/api/alerts/A1/triage", Some(close)).await.1["status"], "misconduct");
    for action in ["acknowledge", "escalate"] {
        let (status, v) = f.call(&ana, "POST", "/api/alerts/A1/triage", triage(action)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}: {v}");
    }
    let note = json!({"action": "note", "note": "seen the interview record"});
    assert_eq!(f.call(&ana, "POST", "/api/alerts/A1/triage", Some(note)).await.1["status"], "misconduct");
    // A supervisor may reopen it.
    assert_eq!(f.call(&sup, "POST", "/api/alerts/A1/triage", triage("escalate")).await.1["status"], "escalated");
    // A closure waiting for a second supervisor.
    let propose = json!({"action": "close", "outcome": "justified"});
    assert_eq!(f.call(&sup, "POST", "/api/alerts/A1/triage", Some(propose)).await.1["status"], "closure_proposed");
    assert_eq!(f.call(&ana, "POST", "/api/alerts/A1/triage", triage("acknowledge")).await.0, StatusCode::FORBIDDEN);
    // An open alert is the analysts' to acknowledge.
    assert_eq!(f.call(&ana, "POST", "/api/alerts/A2/triage", triage("acknowledge")).await.1["status"], "acknowledged");
}
