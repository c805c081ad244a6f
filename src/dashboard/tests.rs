//! Every endpoint through the router: authentication, each role boundary, CSRF,
//! operations clearance, triage and its history, the audit record of each view, and
//! the live stream.

use super::*;
use crate::alert::Alert;
use crate::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

mod metrics;
mod personal;
mod signin;

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    dashboard: Arc<Dashboard>,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn alert(id: &str, user: &str, list: Option<(&str, &str)>) -> Alert {
    alert_on(id, user, list, &["e1"])
}

/// An alert about `user` with these evidence events (the first triggered it).
fn alert_on(id: &str, user: &str, list: Option<(&str, &str)>, events: &[&str]) -> Alert {
    let list = list.map(|(l, k)| json!({"list": l, "key": k, "match": "id"}));
    // Each alert its own event unless the test shares one.
    let events: Vec<String> =
        events.iter().map(|e| if *e == "e1" { format!("e-{id}") } else { e.to_string() }).collect();
    serde_json::from_value(json!({
        "alert_id": id, "rule": if list.is_some() { "opsec.outsider" } else { "custody.uninvolved" },
        "category": if list.is_some() { "opsec" } else { "custody" }, "severity": "red", "score": 90,
        "event_ts": "2026-11-20T10:00:00.000Z", "detected_at": "2026-11-20T10:00:01.000Z", "user_id": user,
        "subject": {"subject_type": "person", "subject_name": "MATE, Dave"}, "event_ids": events,
        "watchlist": list, "reason": format!("{user} (Dan Clarke, PC, Response) viewed Dave Mate while he was in custody."),
        "retrospective": false, "system": "PNC", "action": "view", "unit": "Response"
    }))
    .unwrap()
}

fn fixture(extra: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let hash = auth::hash_password(PASSWORD);
    let account = |n: &str, role: &str, ops: bool| {
        format!("[dashboard.users.{n}]\npassword = \"{hash}\"\nrole = \"{role}\"\noperations = {ops}\n")
    };
    let text = format!(
        "[dashboard]\nenabled = true\ndb = \"{}\"\n{extra}\n{}{}{}{}{}",
        dir.path().join("d.sqlite").display(),
        account("sup", "supervisor", true),
        account("sup2", "supervisor", true),
        account("ana", "analyst", false),
        account("aud", "auditor", false),
        account("adm", "admin", true),
    );
    let mut config = Config::from_toml("test", &text).unwrap();
    config.archive.dir = Some(dir.path().join("archive"));
    let dashboard = Dashboard::open(&config, crate::metrics::Metrics::new()).unwrap();
    dashboard.observe(&alert("A1", "U1", None)).unwrap();
    dashboard.observe(&alert("OPS1", "U2", Some(("operations", "Op Nimrod|id:12/1A")))).unwrap();
    let router = api::router(dashboard.clone());
    Fixture { dashboard, router, _dir: dir }
}

/// A signed-in client: the session cookie and CSRF token.
#[derive(Clone, Default)]
struct Client {
    cookie: Option<String>,
    csrf: Option<String>,
}

impl Fixture {
    async fn call(&self, c: &Client, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, v) = self.call_full(c, method, path, body, &[]).await;
        (status, v)
    }

    async fn call_full(
        &self,
        c: &Client,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Vec<String>, Value) {
        self.call_from(None, c, method, path, body, headers).await
    }

    /// As [`Fixture::call_full`], on a connection from `peer` (as the server tells its
    /// handlers; none in-process).
    async fn call_from(
        &self,
        peer: Option<&str>,
        c: &Client,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Vec<String>, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(ip) = peer {
            let addr = std::net::SocketAddr::new(ip.parse().unwrap(), 40_000);
            req = req.extension(axum::extract::ConnectInfo(addr));
        }
        if let Some(cookie) = &c.cookie {
            req = req.header("cookie", cookie);
        }
        if let Some(csrf) = &c.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookies =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, cookies, v)
    }

    async fn login(&self, user: &str) -> Client {
        let (status, cookies, v) = self
            .call_full(&Client::default(), "POST", "/api/login", Some(json!({"user": user, "password": PASSWORD})), &[])
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let cookie = cookies[0].split(';').next().unwrap().to_string();
        Client { cookie: Some(cookie), csrf: Some(v["csrf"].as_str().unwrap().to_string()) }
    }

    fn audit_actions(&self) -> Vec<(String, String, String)> {
        self.dashboard
            .store
            .audit_trail(&Default::default(), 10_000)
            .unwrap()
            .into_iter()
            .map(|e| (e.who, e.action, e.target))
            .collect()
    }
}

const GETS: [&str; 10] = [
    "/api/me",
    "/api/alerts",
    "/api/alerts/A1",
    "/api/counts",
    "/api/risk",
    "/api/charts",
    "/api/briefing",
    "/briefing",
    "/api/audit",
    "/api/stream",
];
const POSTS: [&str; 5] = ["/api/logout", "/api/alerts", "/api/alerts/A1/triage", "/api/timeline", "/api/subject"];

#[tokio::test]
async fn nothing_without_signing_in_and_a_wrong_password_is_refused() {
    let f = fixture("");
    for path in GETS {
        assert_eq!(f.call(&Client::default(), "GET", path, None).await.0, StatusCode::UNAUTHORIZED, "{path}");
    }
    for path in POSTS {
        assert_eq!(
            f.call(&Client::default(), "POST", path, Some(json!({}))).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    // The page shell itself holds no data.
    assert_eq!(f.call(&Client::default(), "GET", "/", None).await.0, StatusCode::OK);
    let (status, _) =
        f.call(&Client::default(), "POST", "/api/login", Some(json!({"user": "ana", "password": "no"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        f.call(&Client::default(), "POST", "/api/login", Some(json!({"user": "nobody", "password": "x"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.call(&Client::default(), "POST", "/api/login", Some(json!({"user": 1}))).await.0,
        StatusCode::BAD_REQUEST
    );
    assert!(f.audit_actions().iter().filter(|(_, a, _)| a.starts_with("sign-in refused")).count() >= 2);
    // Right after a failure, even the right password waits.
    let right = Some(json!({"user": "ana", "password": PASSWORD}));
    assert_eq!(f.call(&Client::default(), "POST", "/api/login", right.clone()).await.0, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (status, cookies, v) = f.call_full(&Client::default(), "POST", "/api/login", right, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["role"], "analyst");
    let cookie = &cookies[0];
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"), "{cookie}");
    // Signing out ends the session.
    let c = f.login("ana").await;
    assert_eq!(f.call(&c, "POST", "/api/logout", None).await.0, StatusCode::OK);
    assert_eq!(f.call(&c, "GET", "/api/me", None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let f = fixture("");
    let c = f.login("sup").await;
    let no_token = Client { csrf: None, ..c.clone() };
    let wrong = Client { csrf: Some("0".repeat(64)), ..c.clone() };
    for client in [&no_token, &wrong] {
        let (status, v) = f.call(client, "POST", "/api/alerts/A1/triage", Some(json!({"action": "acknowledge"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
        assert!(v["error"].as_str().unwrap().contains("CSRF"));
    }
    assert_eq!(
        f.call(&c, "POST", "/api/alerts/A1/triage", Some(json!({"action": "acknowledge"}))).await.0,
        StatusCode::OK
    );
}

/// However many reads an analyst has audited since, the auditor reaches every row:
/// page back by `before`, or search by who, action and time. Before, the newest 10,000
/// were all there was, and an analyst could bury a read in 17 seconds of requests.
#[tokio::test]
async fn the_auditor_pages_back_through_the_whole_trail_and_searches_it() {
    let f = fixture("");
    let (ana, aud) = (f.login("ana").await, f.login("aud").await);
    let (_, first) = f.call(&aud, "GET", "/api/audit?limit=1", None).await;
    let buried = first[0]["id"].as_i64().unwrap();
    for _ in 0..30 {
        assert_eq!(f.call(&ana, "GET", "/api/counts", None).await.0, StatusCode::OK);
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let path = match before {
            None => "/api/audit?limit=7".to_string(),
            Some(b) => format!("/api/audit?limit=7&before={b}"),
        };
        let (status, page) = f.call(&aud, "GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let ids: Vec<i64> = page.as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
        let Some(&oldest) = ids.last() else { break };
        assert!(ids.windows(2).all(|w| w[0] > w[1]) && ids.len() <= 7);
        seen.extend(ids);
        before = Some(oldest);
    }
    assert!(seen.contains(&buried) && seen.contains(&1), "every row reached: {seen:?}");
    let (_, ana_reads) = f.call(&aud, "GET", "/api/audit?who=ana&action=view%20counts&limit=100", None).await;
    let rows = ana_reads.as_array().unwrap();
    assert!(rows.len() >= 30 && rows.iter().all(|r| r["who"] == "ana"), "{ana_reads}");
    let (_, none) = f.call(&aud, "GET", "/api/audit?until=2000-01-01T00:00:00Z", None).await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    // A time with an offset or without milliseconds compares as the rows' own do.
    let (_, all) = f.call(&aud, "GET", "/api/audit?since=2000-01-01T01:00:00%2B01:00&limit=10000", None).await;
    assert!(all.as_array().unwrap().len() > 30, "{all}");
    let (status, _) = f.call(&aud, "GET", "/api/audit?since=yesterday", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = f.call(&aud, "GET", "/api/audit?before=soon", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn roles_analyst_supervisor_auditor_admin() {
    let f = fixture("four_eyes = []");
    let (ana, sup, aud, adm) = (f.login("ana").await, f.login("sup").await, f.login("aud").await, f.login("adm").await);

    // The auditor reads the audit trail and nothing else.
    for path in GETS.iter().filter(|p| !["/api/me", "/api/audit"].contains(p)) {
        assert_eq!(f.call(&aud, "GET", path, None).await.0, StatusCode::FORBIDDEN, "auditor {path}");
    }
    let triage = json!({"action": "acknowledge"});
    assert_eq!(f.call(&aud, "POST", "/api/alerts/A1/triage", Some(triage.clone())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&aud, "POST", "/api/timeline", Some(json!({"user_id": "U1"}))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&aud, "GET", "/api/audit", None).await.0, StatusCode::OK);
    // Each refusal is in the trail, with why; a request with no sign-in is not.
    let trail = f.audit_actions();
    let refused = |action: &str, target: &str| {
        trail.contains(&("aud".to_string(), format!("refused: {action}"), target.to_string()))
    };
    assert!(refused("the auditor role may not do this", "GET /api/counts"), "{trail:?}");
    assert!(refused("the auditor role may not do this", "POST /api/timeline"), "{trail:?}");
    let anonymous = Request::get("/api/counts").body(Body::empty()).unwrap();
    let r = f.router.clone().oneshot(anonymous).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(f.audit_actions().len(), trail.len(), "no line for a request without a sign-in");
    // A request that says another site's page sent it is written, as such: the header
    // is the client's word, and a refused request could otherwise be kept out of the
    // trail by sending it (found by a probe).
    let from_elsewhere = [("sec-fetch-site", "cross-site")];
    assert_eq!(f.call_full(&aud, "GET", "/api/risk", None, &from_elsewhere).await.0, StatusCode::FORBIDDEN);
    let written = f.audit_actions();
    let marked = |a: &str| a.starts_with("refused (asked from another site): the auditor role");
    assert!(written.iter().any(|(w, a, t)| w == "aud" && marked(a) && t == "GET /api/risk"), "{written:?}");
    let same_origin = [("sec-fetch-site", "same-origin")];
    assert_eq!(f.call_full(&aud, "GET", "/api/risk", None, &same_origin).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.audit_actions().len(), trail.len() + 2);
    // Analysts and supervisors cannot read the audit trail; the admin can.
    assert_eq!(f.call(&ana, "GET", "/api/audit", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&sup, "GET", "/api/audit", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&adm, "GET", "/api/audit", None).await.0, StatusCode::OK);

    // An analyst acknowledges, escalates and notes, but cannot assign or close.
    for action in ["acknowledge", "escalate"] {
        assert_eq!(
            f.call(&ana, "POST", "/api/alerts/A1/triage", Some(json!({"action": action}))).await.0,
            StatusCode::OK
        );
    }
    let note = json!({"action": "note", "note": "spoke to the custody sergeant"});
    assert_eq!(f.call(&ana, "POST", "/api/alerts/A1/triage", Some(note)).await.0, StatusCode::OK);
    let assign = json!({"action": "assign", "assignee": "ana"});
    assert_eq!(f.call(&ana, "POST", "/api/alerts/A1/triage", Some(assign.clone())).await.0, StatusCode::FORBIDDEN);
    let close = json!({"action": "close", "outcome": "misconduct", "note": "no policing purpose"});
    assert_eq!(f.call(&ana, "POST", "/api/alerts/A1/triage", Some(close.clone())).await.0, StatusCode::FORBIDDEN);
    // A supervisor assigns and closes; the admin may do anything.
    assert_eq!(f.call(&sup, "POST", "/api/alerts/A1/triage", Some(assign)).await.0, StatusCode::OK);
    let (status, v) = f.call(&sup, "POST", "/api/alerts/A1/triage", Some(close)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "misconduct");
    let history: Vec<(String, String)> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["by"].as_str().unwrap().into(), h["status"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        history,
        [
            ("ana".to_string(), "acknowledged".to_string()),
            ("ana".into(), "escalated".into()),
            ("ana".into(), "escalated".into()),
            ("sup".into(), "assigned".into()),
            ("sup".into(), "misconduct".into())
        ]
    );
    assert!(v["history"][2]["note"] == "spoke to the custody sergeant" && v["history"][3]["assignee"] == "ana");
    assert_eq!(
        f.call(&adm, "POST", "/api/alerts/A1/triage", Some(json!({"action": "acknowledge"}))).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_triage_input_gets_a_clear_400() {
    let f = fixture("");
    let sup = f.login("sup").await;
    for (body, why) in [
        (json!({"action": "delete"}), "action is"),
        (json!({"action": "close"}), "outcome"),
        (json!({"action": "close", "outcome": "new"}), "outcome"),
        (json!({"action": "assign", "assignee": "someone-else"}), "dashboard user"),
        (json!({"action": "note"}), "needs text"),
        (json!({"action": "note", "note": "x".repeat(5_000)}), "4,000"),
        (json!({"nope": 1}), "action"),
    ] {
        let (status, v) = f.call(&sup, "POST", "/api/alerts/A1/triage", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(v["error"].as_str().unwrap().contains(why), "{body}: {v}");
    }
    assert_eq!(
        f.call(&sup, "POST", "/api/alerts/NOPE/triage", Some(json!({"action": "acknowledge"}))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(f.call(&sup, "GET", "/api/alerts?status=bogus", None).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(f.call(&sup, "POST", "/api/timeline", Some(json!({"user_id": ""}))).await.0, StatusCode::BAD_REQUEST);
    let bad_time = json!({"user_id": "U1", "from": "yesterday"});
    assert_eq!(f.call(&sup, "POST", "/api/timeline", Some(bad_time)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(f.call(&sup, "POST", "/api/subject", Some(json!({}))).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn operation_alerts_only_for_those_cleared() {
    let f = fixture("");
    let (ana, sup) = (f.login("ana").await, f.login("sup").await);
    let ids = |v: &Value| {
        v.as_array().unwrap().iter().map(|r| r["alert"]["alert_id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&f.call(&ana, "GET", "/api/alerts", None).await.1), ["A1"]);
    assert_eq!(ids(&f.call(&sup, "GET", "/api/alerts", None).await.1), ["OPS1", "A1"]);
    assert_eq!(f.call(&ana, "GET", "/api/alerts/OPS1", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        f.call(&ana, "POST", "/api/alerts/OPS1/triage", Some(json!({"action": "acknowledge"}))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(f.call(&sup, "GET", "/api/alerts/OPS1", None).await.0, StatusCode::OK);
    assert_eq!(f.call(&ana, "GET", "/api/counts", None).await.1["severity"]["red"], 1);
    assert_eq!(f.call(&sup, "GET", "/api/counts", None).await.1["severity"]["red"], 2);
    // Filters.
    let by_user = json!({"user": "U2", "severity": "red"});
    assert_eq!(ids(&f.call(&sup, "POST", "/api/alerts", Some(by_user)).await.1), ["OPS1"]);
    // A person is never named in a URL.
    let (status, v) = f.call(&sup, "GET", "/api/alerts?user=U2", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(ids(&f.call(&sup, "GET", "/api/alerts?system=CAD", None).await.1).is_empty());
}

#[tokio::test]
async fn every_view_of_an_alert_timeline_or_subject_is_audited_and_the_trail_cannot_be_edited() {
    // (By name: pseudonyms have a test of their own.)
    // Watch lists: incident INC-9 names U1, so U1's access giving it is justified.
    let lists = tempfile::tempdir().unwrap();
    std::fs::write(
        lists.path().join("incidents.csv"),
        "reference,kind,opened_at,closed_at,unit,officers\nINC-9,assault,2026-11-19T00:00:00Z,,Response,U1\n",
    )
    .unwrap();
    let f = fixture(&format!("watchlists_dir = \"{}\"\npseudonymous_roles = []", lists.path().display()));
    // An archive with U1's accesses, for the timeline and the subject history.
    let archive = f.dashboard.archive.clone().unwrap();
    let mut w = crate::archive::EventWriter::new(&archive, &crate::config::Config::defaults().archive);
    for (i, (user, name)) in [("U1", "MATE, Dave"), ("U1", "SMITH, Jo"), ("U3", "Dave Mate")].iter().enumerate() {
        let reference = if i == 0 { r#","reference":"INC-9""# } else { "" };
        let id = if i == 1 { "e-A1".to_string() } else { format!("e{i}") };
        let line = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-20T0{i}:00:00Z","system":"PNC","user_id":"{user}","action":"view","subject_type":"person","subject_name":"{name}"{reference}}}"#
        );
        // The third access as the engine archived it, with the explanation it found then.
        let from = match i {
            2 => crate::archive::columns::Provenance {
                explained: Some(crate::event::explained::Recorded {
                    kind: crate::event::explained::Kind::Earlier,
                    of: Some(crate::event::explained::Kind::Custody),
                    detail: "e-before".into(),
                }),
                ..Default::default()
            },
            _ => Default::default(),
        };
        w.append(crate::event::json::decode(line.as_bytes()).unwrap(), from);
    }
    w.flush().unwrap();

    let ana = f.login("ana").await;
    let (status, v) = f.call(&ana, "GET", "/api/alerts/A1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["alert"]["alert_id"], "A1");
    // The alert's evidence, read from the archive.
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["events"][0]["event_id"], "e-A1");
    let (status, v) = f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": "U1", "from": "2026-11-01"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["accesses"].as_array().unwrap().len(), 2);
    // Each access with its explanation: judged from the watch lists when the archive
    // has none recorded.
    assert_eq!(v["accesses"][0]["explained"], true);
    assert_eq!(v["accesses"][0]["explanation"], "reference INC-9");
    assert_eq!(v["accesses"][1]["explained"], false);
    assert_eq!(v["accesses"][1]["explanation"], "unexplained: gave no reference");
    let (status, v) = f.call(&ana, "POST", "/api/subject", Some(json!({"name": "dave mate"}))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let users: Vec<&str> = v["accesses"].as_array().unwrap().iter().map(|a| a["user_id"].as_str().unwrap()).collect();
    assert_eq!(users, ["U1", "U3"]);
    // The explanation the engine archived is the one shown.
    assert_eq!(v["accesses"][1]["explanation"], "earlier access e-before (custody)");
    assert!(v.get("incomplete").is_none());
    // A stray file in the archive: the pages still answer, and say they are incomplete.
    let date = std::fs::read_dir(archive.join("events")).unwrap().next().unwrap().unwrap().path();
    let system = std::fs::read_dir(&date).unwrap().next().unwrap().unwrap().path();
    std::fs::write(system.join("part-stray.parquet"), b"not parquet").unwrap();
    let (_, v) = f.call(&ana, "POST", "/api/subject", Some(json!({"name": "dave mate"}))).await;
    assert_eq!((v["accesses"].as_array().unwrap().len(), &v["incomplete"]), (2, &json!(1)), "{v}");
    let (_, v) = f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": "U1", "from": "2026-11-01"}))).await;
    assert_eq!((v["accesses"].as_array().unwrap().len(), &v["incomplete"]), (2, &json!(1)), "{v}");
    std::fs::remove_file(system.join("part-stray.parquet")).unwrap();

    let trail = f.audit_actions();
    for (action, target) in [("view alert", "A1"), ("view timeline", "U1"), ("view subject history", "dave mate")] {
        assert!(trail.contains(&("ana".into(), action.into(), target.into())), "{action} not audited: {trail:?}");
    }
    // The trail is readable by the auditor and changes for nobody.
    let aud = f.login("aud").await;
    let (_, rows) = f.call(&aud, "GET", "/api/audit", None).await;
    assert!(rows.as_array().unwrap().iter().any(|r| r["who"] == "ana" && r["action"] == "view alert"));
    assert!(f.dashboard.store.execute_raw("UPDATE audit SET who = 'someone'").is_err());
    assert!(f.dashboard.store.execute_raw("DELETE FROM audit").is_err());
    assert_eq!(f.audit_actions().len(), trail.len() + 2, "the auditor's sign-in and read were added");
}

#[tokio::test]
async fn board_counts_risk_charts_and_briefing() {
    let f = fixture("");
    let sup = f.login("sup").await;
    let (_, risk) = f.call(&sup, "GET", "/api/risk", None).await;
    assert_eq!(risk.as_array().unwrap().len(), 2);
    let (_, charts) = f.call(&sup, "GET", "/api/charts", None).await;
    assert_eq!(charts["by_day"][0]["red"], 2);
    assert_eq!(charts["by_rule"].as_array().unwrap().len(), 2);
    let (status, b) = f.call(&sup, "GET", "/api/briefing?hours=24", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b["red"].as_array().unwrap().len(), 2);
    assert_eq!(b["open"].as_array().unwrap().len(), 2);
    let (status, page) = f.call(&sup, "GET", "/briefing", None).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("Red alerts (2)") && page.contains("U1 (Dan Clarke, PC, Response) viewed Dave Mate"),
        "{page}"
    );
}

#[tokio::test]
async fn triage_survives_a_restart() {
    let f = fixture("");
    let sup = f.login("sup").await;
    f.call(&sup, "POST", "/api/alerts/A1/triage", Some(json!({"action": "close", "outcome": "misconduct"}))).await;
    let db = f.dashboard.config.db.clone();
    drop(f.router);
    let store = store::Store::open(&db).unwrap();
    assert_eq!(store.alert("A1").unwrap().unwrap().status, "misconduct");
    assert_eq!(store.history("A1").unwrap().len(), 1);
}

#[tokio::test]
async fn a_trusted_proxy_header_signs_in_and_the_session_carries_csrf() {
    // Without the proxies it is believed from, the header is a configuration error.
    let text = "[dashboard]\nenabled = true\nproxy_header = \"X-Remote-User\"\n";
    let e = Config::from_toml("t.toml", text).unwrap_err().to_string();
    assert!(e.contains("proxy_header") && e.contains("trusted_proxies"), "{e}");
    let f = fixture("proxy_header = \"X-Remote-User\"\ntrusted_proxies = [\"10.1.0.0/16\"]");
    let none = Client::default();
    // From anyone but the proxy the header names no one, nor is it written to the trail.
    for peer in [None, Some("10.2.0.7")] {
        let h = [("x-remote-user", "ana")];
        assert_eq!(f.call_from(peer, &none, "GET", "/api/me", None, &h).await.0, StatusCode::UNAUTHORIZED);
    }
    let trail = f.audit_actions().len();
    let (status, cookies, v) =
        f.call_from(Some("10.1.3.4"), &none, "GET", "/api/me", None, &[("x-remote-user", "ana")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["role"], "analyst");
    let c =
        Client { cookie: Some(cookies[0].split(';').next().unwrap().into()), csrf: v["csrf"].as_str().map(Into::into) };
    let h = [("x-remote-user", "ana")];
    let body = Some(json!({"action": "acknowledge"}));
    let proxy = Some("10.1.3.4");
    assert_eq!(f.call_from(proxy, &c, "POST", "/api/alerts/A1/triage", body.clone(), &h).await.0, StatusCode::OK);
    // Another site's page (an image pointing at /api/me, the proxy adding its header,
    // the browser leaving the strict cookie out) starts no session, so ends none.
    let elsewhere = [("x-remote-user", "ana"), ("sec-fetch-site", "cross-site")];
    assert_eq!(f.call_from(proxy, &none, "GET", "/api/me", None, &elsewhere).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call_from(proxy, &c, "POST", "/api/alerts/A1/triage", body.clone(), &h).await.0, StatusCode::OK);
    // The proxy names someone else: the session cookie does not carry over.
    let other = [("x-remote-user", "sup")];
    assert_eq!(f.call_from(proxy, &c, "POST", "/api/alerts/A1/triage", body, &other).await.0, StatusCode::FORBIDDEN);
    // A user the proxy knows but the dashboard does not: refused, and not written to
    // the trail (the proxy's users could fill it).
    let eve = [("x-remote-user", "eve")];
    assert_eq!(f.call_from(proxy, &none, "GET", "/api/me", None, &eve).await.0, StatusCode::FORBIDDEN);
    assert!(f.audit_actions().iter().all(|(who, _, _)| who != "eve"));
    assert!(f.audit_actions().len() > trail, "the triage is audited");
}

#[tokio::test]
async fn the_stream_pushes_new_alerts_and_hides_operations_from_the_uncleared() {
    let f = fixture("");
    let ana = f.login("ana").await;
    let mut req = Request::builder().uri("/api/stream");
    req = req.header("cookie", ana.cookie.clone().unwrap());
    let resp = f.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut body = resp.into_body();
    // Give the stream's task a moment to subscribe, then raise two alerts.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    f.dashboard.observe(&alert("OPS2", "U2", Some(("operations", "Op Nimrod|id:12/1A")))).unwrap();
    f.dashboard.observe(&alert("A2", "U5", None)).unwrap();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: alert\ndata: {\"alert_id\":\"A2\""), "{text}");
    assert!(!text.contains("U5") && text.contains("Officer "), "the analyst sees a pseudonym: {text}");
}

/// Watch lists with a live operation (NIGHTJAR, against KRAY, Ronald; its team U20),
/// the staff, and the operation's own reference.
fn operation_lists() -> tempfile::TempDir {
    let lists = tempfile::tempdir().unwrap();
    std::fs::write(
        lists.path().join("operations.csv"),
        "operation,subject_name,subject_dob,team,starts_at\nNIGHTJAR,\"KRAY, Ronald\",1960-01-01,U20,2026-11-01T00:00:00Z\n",
    )
    .unwrap();
    std::fs::write(
        lists.path().join("staff.csv"),
        "user_id,surname,forenames,unit,role,line_manager\nU10,Clarke,Dan,Response,PC,U11\nU11,Boss,Anne,Response,Sgt,\nU20,Covert,Cal,Serious Organised Crime,DC,\nU30,Psd,Pat,PSD,DS,\n",
    )
    .unwrap();
    std::fs::write(
        lists.path().join("incidents.csv"),
        "reference,kind,opened_at,unit,officers\nOP-NIGHTJAR,covert operation,2026-11-01T00:00:00Z,Serious Organised Crime,U20\n",
    )
    .unwrap();
    lists
}

/// Writes accesses to the fixture's archive: (event id, user, subject name, reference).
fn archive_events(f: &Fixture, events: &[(&str, &str, &str, &str)]) {
    let archive = f.dashboard.archive.clone().unwrap();
    let mut w = crate::archive::EventWriter::new(&archive, &crate::config::Config::defaults().archive);
    for (i, (id, user, name, reference)) in events.iter().enumerate() {
        let reference = if reference.is_empty() { String::new() } else { format!(r#","reference":"{reference}""#) };
        let line = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-20T0{i}:00:00Z","system":"PNC","user_id":"{user}","action":"search","subject_type":"person","subject_name":"{name}","subject_dob":"1960-01-01"{reference}}}"#
        );
        w.append(crate::event::json::decode(line.as_bytes()).unwrap(), Default::default());
    }
    w.flush().unwrap();
}

/// Every body an account gets back from every read of the dashboard.
async fn read_everything(f: &Fixture, c: &Client, users: &[&str], subjects: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in
        ["/api/alerts", "/api/counts", "/api/risk", "/api/charts", "/api/briefing?hours=720", "/briefing?hours=720"]
    {
        out.push((path.to_string(), f.call(c, "GET", path, None).await.1.to_string()));
    }
    out.push(("POST /api/alerts".into(), f.call(c, "POST", "/api/alerts", Some(json!({}))).await.1.to_string()));
    for id in ["OPS-A", "PM-A", "EX-A", "N-A"] {
        out.push((
            format!("/api/alerts/{id}"),
            f.call(c, "GET", &format!("/api/alerts/{id}"), None).await.1.to_string(),
        ));
    }
    for user in users {
        let body = Some(json!({"user_id": user, "from": "2026-11-01"}));
        out.push((format!("timeline {user}"), f.call(c, "POST", "/api/timeline", body).await.1.to_string()));
    }
    for name in subjects {
        let body = Some(json!({"name": name}));
        out.push((format!("subject {name}"), f.call(c, "POST", "/api/subject", body).await.1.to_string()));
    }
    out
}

/// An operation the dashboard's watch lists do not know (added on its topic while the
/// engine runs; here a dashboard with no watch lists at all): the team's look-ups,
/// which the engine archived as explained by the operation, are the operation's, for
/// every path and the audit mark alike (a probe read them, and the operation's name,
/// as an uncleared analyst).
#[tokio::test]
async fn an_operation_only_the_engine_knew_is_hidden_by_what_it_archived() {
    let f = fixture("pseudonymous_roles = []");
    let archive = f.dashboard.archive.clone().unwrap();
    let mut w = crate::archive::EventWriter::new(&archive, &crate::config::Config::defaults().archive);
    for (i, (id, user, by_team)) in [("ev-team", "U20", true), ("ev-else", "U20", false)].into_iter().enumerate() {
        let line = format!(
            r#"{{"event_id":"{id}","ts":"2026-11-20T0{i}:00:00Z","system":"PNC","user_id":"{user}","action":"view","subject_type":"person","subject_name":"MAGPIE, Mo","subject_dob":"1960-01-01"}}"#
        );
        let explained = by_team.then(|| crate::event::explained::Recorded {
            kind: crate::event::explained::Kind::Operation,
            of: None,
            detail: "MAGPIE".into(),
        });
        let provenance = crate::archive::columns::Provenance { explained, ..Default::default() };
        w.append(crate::event::json::decode(line.as_bytes()).unwrap(), provenance);
    }
    w.flush().unwrap();
    let ana = f.login("ana").await;
    let seen = read_everything(&f, &ana, &["U20"], &["magpie, mo"]).await;
    for (path, body) in &seen {
        assert!(!body.contains("ev-team") && !body.contains("MAGPIE\""), "{path} shows the team's look-up: {body}");
    }
    assert!(seen.iter().any(|(p, b)| p == "timeline U20" && b.contains("ev-else")), "the rest is still shown");
    let sup = f.login("sup").await;
    let seen = read_everything(&f, &sup, &["U20"], &["magpie, mo"]).await;
    assert!(seen.iter().any(|(_, b)| b.contains("ev-team")), "the cleared supervisor sees it");
    let aud = f.login("aud").await;
    let (_, trail) = f.call(&aud, "GET", "/api/audit?action=view%20subject%20history&limit=100", None).await;
    let sup_rows: Vec<&Value> = trail.as_array().unwrap().iter().filter(|r| r["who"] == "sup").collect();
    assert!(!sup_rows.is_empty() && sup_rows.iter().all(|r| r["restricted"] == true), "{trail}");
}

#[tokio::test]
async fn an_uncleared_account_finds_no_trace_of_an_operation_on_any_path() {
    let lists = operation_lists();
    let f = fixture(&format!("watchlists_dir = \"{}\"\npseudonymous_roles = []", lists.path().display()));
    archive_events(
        &f,
        &[
            ("ev-op", "U10", "KRAY, Ronald", ""),
            ("ev-team", "U20", "Ronald Kray", "OP-NIGHTJAR"),
            ("ev-ex", "U10", "SMITH, Jo", ""),
            ("ev-norm", "U10", "JONES, Ann", ""),
        ],
    );
    // The purpose alert on the operation's event arrives first: marked once the
    // operation's alert names the same event.
    let mut pm = alert_on("PM-A", "U10", None, &["ev-op"]);
    pm.rule = crate::alert::RuleId::PurposeMissing;
    pm.severity = crate::alert::Severity::Green;
    pm.reason = "U10 (Dan Clarke, PC, Response) searched for KRAY, Ronald and gave no reference.".into();
    f.dashboard.observe(&pm).unwrap();
    let mut ops = alert_on("OPS-A", "U10", Some(("operations", "NIGHTJAR|name:KRAY")), &["ev-op"]);
    ops.reason = "U10 searched for KRAY, Ronald, a subject of operation NIGHTJAR.".into();
    f.dashboard.observe(&ops).unwrap();
    let mut ex = alert_on("EX-A", "U10", None, &["ev-ex", "ev-op"]);
    ex.rule = crate::alert::RuleId::BehaviourExportAfterSensitive;
    ex.reason =
        "U10 exported SMITH, Jo 10 minutes after an access (event ev-op) that raised a red opsec.outsider alert."
            .into();
    f.dashboard.observe(&ex).unwrap();
    let mut normal = alert_on("N-A", "U10", None, &["ev-norm"]);
    normal.score = 50;
    f.dashboard.observe(&normal).unwrap();

    let forbidden = ["KRAY", "Kray", "NIGHTJAR", "ev-op", "ev-team", "OPS-A", "PM-A", "EX-A", "opsec"];
    let ana = f.login("ana").await;
    let seen = read_everything(&f, &ana, &["U10", "U20"], &["kray, ronald", "ronald kray"]).await;
    for (path, body) in &seen {
        for word in forbidden {
            assert!(!body.contains(word), "{path} shows {word} to an uncleared analyst: {body}");
        }
    }
    // What is left is consistent: one red alert, U10's risk its one visible alert.
    let (_, counts) = f.call(&ana, "GET", "/api/counts", None).await;
    assert_eq!(counts["severity"]["red"], 2, "A1 and N-A: {counts}");
    let (_, risk) = f.call(&ana, "GET", "/api/risk", None).await;
    let u10 = risk.as_array().unwrap().iter().find(|r| r["user_id"] == "U10").unwrap().clone();
    assert_eq!(u10["alerts"], 1, "{risk}");
    assert!(seen.iter().any(|(p, b)| p == "timeline U10" && b.contains("ev-norm")), "the rest is still shown");
    // A cleared supervisor sees all of it.
    let sup = f.login("sup").await;
    let seen = read_everything(&f, &sup, &["U10", "U20"], &["kray, ronald"]).await;
    for word in ["NIGHTJAR", "ev-op", "ev-team", "OPS-A", "PM-A", "EX-A"] {
        assert!(seen.iter().any(|(_, b)| b.contains(word)), "the cleared supervisor does not see {word}");
    }
    // The cleared supervisor's search for the operation's subject is in the trail: an
    // auditor not cleared for operations sees that it happened, not whom it named. The
    // uncleared analyst's searches are not marked (the mark would tell which names
    // are operations' subjects): their target is what they typed themselves.
    let aud = f.login("aud").await;
    let (_, trail) = f.call(&aud, "GET", "/api/audit?action=view%20subject%20history&limit=100", None).await;
    let rows = trail.as_array().unwrap();
    let (sup_rows, ana_rows): (Vec<&Value>, Vec<&Value>) = rows.iter().partition(|r| r["who"] == "sup");
    assert!(!sup_rows.is_empty() && !ana_rows.is_empty(), "{trail}");
    for r in &sup_rows {
        assert!(r["restricted"] == true && r["target"] == api::WITHHELD_TARGET, "{r}");
        assert!(!r.to_string().to_lowercase().contains("kray"), "the uncleared auditor reads the subject: {r}");
    }
    assert!(ana_rows.iter().all(|r| r["restricted"] == false), "{trail}");
    assert!(ana_rows.iter().any(|r| r["target"] == "kray, ronald"), "{trail}");
    // A cleared account reads the targets, and the marks are in the chain.
    let adm = f.login("adm").await;
    let (_, trail) = f.call(&adm, "GET", "/api/audit?action=view%20subject%20history&limit=100", None).await;
    assert!(trail.as_array().unwrap().iter().any(|r| r["target"] == "kray, ronald"), "{trail}");
    assert!(matches!(f.dashboard.store.verify_audit().unwrap(), store::audit::Verdict::Intact { .. }));
    // Clearing a mark, to show the target to an uncleared auditor, breaks the chain.
    f.dashboard.store.execute_raw("DROP TRIGGER audit_no_update").unwrap();
    f.dashboard.store.execute_raw("UPDATE audit SET restricted = 0").unwrap();
    assert!(matches!(f.dashboard.store.verify_audit().unwrap(), store::audit::Verdict::Broken { .. }));
}

#[tokio::test]
async fn no_one_reviews_themselves_their_manager_or_the_acu_without_clearance() {
    let lists = operation_lists();
    let hash = auth::hash_password(PASSWORD);
    let f = fixture(&format!(
        "watchlists_dir = \"{}\"\npseudonymous_roles = []\nacu_units = [\"PSD\"]\n\n[dashboard.users.dan]\npassword = \"{hash}\"\nrole = \"analyst\"\nstaff_id = \"u10\"\n\n[dashboard.users.lead]\npassword = \"{hash}\"\nrole = \"supervisor\"\nreview_acu = true\n",
        lists.path().display()
    ));
    let about = |id: &str, user: &str, unit: &str| {
        let mut a = alert(id, user, None);
        a.unit = Some(unit.into());
        a
    };
    f.dashboard.observe(&about("SELF", "U10", "Response")).unwrap();
    // Stored before the engine folded ids, as one system logged them (and the account's
    // staff id written in lower case too): still himself.
    f.dashboard.observe(&about("SELF-OLD", "u10", "Response")).unwrap();
    f.dashboard.observe(&about("MANAGER", "U11", "Response")).unwrap();
    f.dashboard.observe(&about("ACU", "U30", "PSD")).unwrap();
    let ids = |v: &Value| {
        let mut ids: Vec<String> =
            v.as_array().unwrap().iter().map(|r| r["alert"]["alert_id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    let dan = f.login("dan").await;
    assert_eq!(
        ids(&f.call(&dan, "GET", "/api/alerts", None).await.1),
        ["A1"],
        "not about himself, his manager or the ACU"
    );
    assert_eq!(f.call(&dan, "GET", "/api/alerts/SELF", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(f.call(&dan, "POST", "/api/timeline", Some(json!({"user_id": "U10"}))).await.0, StatusCode::NOT_FOUND);
    // Each try at his own is in the audit trail (a probe: none was).
    let tries = f.audit_actions();
    assert!(
        tries.contains(&("dan".into(), "refused: no such alert".into(), "GET /api/alerts/SELF".into())),
        "{tries:?}"
    );
    assert!(tries.iter().any(|(who, _, target)| who == "dan" && target == "POST /api/timeline"), "{tries:?}");
    assert_eq!(f.call(&dan, "GET", "/api/counts", None).await.1["severity"]["red"], 1);
    // The ACU's own staff: only for those cleared to review the ACU.
    let sup = f.login("sup").await;
    assert!(!ids(&f.call(&sup, "GET", "/api/alerts", None).await.1).contains(&"ACU".to_string()));
    let lead = f.login("lead").await;
    assert!(ids(&f.call(&lead, "GET", "/api/alerts", None).await.1).contains(&"ACU".to_string()));
    // Nor a subject spike whose sentence names him among its other users (a probe:
    // an officer named so read and closed it), on the board, by id or to triage.
    let mut spike = about("SPIKE", "U1", "Response");
    spike.rule = crate::alert::RuleId::BehaviourSubjectSpike;
    spike.reason = "6 different users looked up STAR, Ann within 2 hours, none with a purpose on record that links them to it (usually 0.0 a day), the latest U1 (Ann Onn, PC, Response) on PNC (also U3, U10 and 2 more): possibly an emerging high-profile case.".into();
    f.dashboard.observe(&spike).unwrap();
    let mut other = about("SPIKE2", "U1", "Response");
    other.rule = crate::alert::RuleId::BehaviourSubjectSpike;
    other.reason = spike.reason.replace("U10 and", "U100 and");
    f.dashboard.observe(&other).unwrap();
    assert_eq!(ids(&f.call(&dan, "GET", "/api/alerts", None).await.1), ["A1", "SPIKE2"], "U100 is not U10");
    assert_eq!(f.call(&dan, "GET", "/api/alerts/SPIKE", None).await.0, StatusCode::NOT_FOUND);
    let ack = json!({"action": "acknowledge"});
    assert_eq!(f.call(&dan, "POST", "/api/alerts/SPIKE/triage", Some(ack)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(f.call(&sup, "GET", "/api/alerts/SPIKE", None).await.0, StatusCode::OK);
    // Nor one that only counts him ("and 2 more"): the alert lists every other user.
    // Nor, to those not cleared for the ACU, one whose other users hold an ACU member
    // (a probe's finding: the counted ones and the units of all were not judged).
    let counted = |id: &str, others: &[&str]| {
        let mut a = about(id, "U1", "Response");
        a.rule = crate::alert::RuleId::BehaviourSubjectSpike;
        a.reason = spike.reason.replace("U10 and", "U7 and");
        a.other_users = others.iter().map(|u| (*u).into()).collect();
        a
    };
    f.dashboard.observe(&counted("SPIKE-COUNTED", &["U3", "U7", "u10", "U12"])).unwrap();
    f.dashboard.observe(&counted("SPIKE-ACU", &["U3", "U7", "U30"])).unwrap();
    f.dashboard.observe(&counted("SPIKE-NEITHER", &["U3", "U7", "U12"])).unwrap();
    assert_eq!(ids(&f.call(&dan, "GET", "/api/alerts", None).await.1), ["A1", "SPIKE-NEITHER", "SPIKE2"]);
    assert_eq!(f.call(&dan, "GET", "/api/alerts/SPIKE-COUNTED", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(f.call(&dan, "GET", "/api/counts", None).await.1["severity"]["red"], 3);
    let sup_ids = ids(&f.call(&sup, "GET", "/api/alerts", None).await.1);
    assert!(
        sup_ids.contains(&"SPIKE-COUNTED".to_string()) && !sup_ids.contains(&"SPIKE-ACU".to_string()),
        "{sup_ids:?}"
    );
    assert_eq!(f.call(&sup, "GET", "/api/alerts/SPIKE-ACU", None).await.0, StatusCode::NOT_FOUND);
    assert!(ids(&f.call(&lead, "GET", "/api/alerts", None).await.1).contains(&"SPIKE-ACU".to_string()));
    // Stored before the list was written, naming an ACU member in its sentence only.
    let mut named_acu = counted("SPIKE-ACU-OLD", &[]);
    named_acu.reason = spike.reason.replace("U10 and", "U30 and");
    f.dashboard.observe(&named_acu).unwrap();
    assert!(!ids(&f.call(&sup, "GET", "/api/alerts", None).await.1).contains(&"SPIKE-ACU-OLD".to_string()));
    assert_eq!(f.call(&sup, "GET", "/api/alerts/SPIKE-ACU-OLD", None).await.0, StatusCode::NOT_FOUND);
    assert!(ids(&f.call(&lead, "GET", "/api/alerts", None).await.1).contains(&"SPIKE-ACU-OLD".to_string()));
    // Nor is his own alert, or the operation's uncleared, assigned to him (a probe).
    let to_dan = json!({"action": "assign", "assignee": "dan"});
    assert_eq!(f.call(&sup, "POST", "/api/alerts/SELF/triage", Some(to_dan.clone())).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(f.call(&sup, "POST", "/api/alerts/OPS1/triage", Some(to_dan.clone())).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(f.call(&sup, "POST", "/api/alerts/A1/triage", Some(to_dan)).await.0, StatusCode::OK);
}

/// A need-to-know setting that names what the staff list does not hold (an account's
/// staff id typed wrong, an ACU unit no one is in) would show an officer their own
/// alerts or the ACU's to everyone: said (check-config refuses it; the dashboard
/// opens and logs it, so that a staff list updated for a leaver does not lock the
/// unit out). A probe: both were taken silently.
#[test]
fn need_to_know_naming_no_one_in_the_staff_list_is_said() {
    let lists = operation_lists();
    let dir = tempfile::tempdir().unwrap();
    let hash = auth::hash_password(PASSWORD);
    for (section, account, fault) in [
        ("", "staff_id = \"U1O\"\n", "dashboard.users.dan.staff_id: \"U1O\" is not in the staff list"),
        ("acu_units = [\"Professional Standards\"]\n", "", "no one in the staff list is in \"Professional Standards\""),
    ] {
        let text = format!(
            "[dashboard]\nenabled = true\ndb = \"{}\"\nwatchlists_dir = \"{}\"\n{section}[dashboard.users.dan]\npassword = \"{hash}\"\n{account}",
            dir.path().join("d.sqlite").display(),
            lists.path().display()
        );
        let config = Config::from_toml("test", &text).unwrap();
        let (staff, _) = crate::watchlist::load_dir(lists.path()).unwrap();
        let said = state::staff_faults(&config.dashboard, &staff).expect("a fault");
        assert!(said.contains(fault), "{said}");
        assert!(Dashboard::open(&config, crate::metrics::Metrics::new()).is_ok());
    }
}

#[tokio::test]
async fn analysts_see_pseudonyms_until_a_supervisor_reveals_with_a_reason() {
    let lists = operation_lists();
    let f = fixture(&format!("watchlists_dir = \"{}\"\nreveal_needs_approval = true", lists.path().display()));
    f.dashboard.observe(&alert_on("D1", "U10", None, &["ev-1"])).unwrap();
    f.dashboard.observe(&alert("D2", "U10", None)).unwrap();
    archive_events(&f, &[("ev-1", "U10", "JONES, Ann", "")]);
    let ana = f.login("ana").await;
    let (_, board) = f.call(&ana, "GET", "/api/alerts", None).await;
    let text = board.to_string();
    assert!(!text.contains("U10") && !text.contains("Dan Clarke"), "{text}");
    let pseudonym = board.as_array().unwrap().iter().find(|r| r["alert"]["alert_id"] == "D1").unwrap()["alert"]
        ["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pseudonym.starts_with("Officer "), "{pseudonym}");
    // The same pseudonym everywhere: the timeline is asked for by it, and says nothing more.
    let (status, timeline) = f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": pseudonym}))).await;
    assert_eq!(status, StatusCode::OK, "{timeline}");
    assert_eq!(timeline["user_id"], pseudonym.as_str());
    assert!(!timeline.to_string().contains("U10") && timeline["accesses"].as_array().unwrap().len() == 1);
    let (_, risk) = f.call(&ana, "GET", "/api/risk", None).await;
    assert!(risk.to_string().contains(&pseudonym) && !risk.to_string().contains("U10"));
    // An analyst cannot name a person they were not shown.
    assert_eq!(f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": "U10"}))).await.0, StatusCode::NOT_FOUND);

    // A supervisor sees names, and reveals one alert's officer with a reason; a second
    // supervisor approves.
    let sup = f.login("sup").await;
    assert!(f.call(&sup, "GET", "/api/alerts/D1", None).await.1.to_string().contains("Dan Clarke"));
    assert_eq!(
        f.call(&ana, "POST", "/api/reveals", Some(json!({"alert_id": "D1", "reason": "needed for interview"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        f.call(&sup, "POST", "/api/reveals", Some(json!({"alert_id": "D1", "reason": "short"}))).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, r) = f
        .call(&sup, "POST", "/api/reveals", Some(json!({"alert_id": "D1", "reason": "to arrange the interview"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["approved"], false);
    let id = r["id"].as_i64().unwrap();
    assert!(
        !f.call(&ana, "GET", "/api/alerts/D1", None).await.1.to_string().contains("Dan Clarke"),
        "not yet approved"
    );
    assert_eq!(
        f.call(&sup, "POST", &format!("/api/reveals/{id}/approve"), None).await.0,
        StatusCode::CONFLICT,
        "not by the one who asked"
    );
    let sup2 = f.login("sup2").await;
    assert_eq!(f.call(&sup2, "POST", &format!("/api/reveals/{id}/approve"), None).await.0, StatusCode::OK);
    let d1 = f.call(&ana, "GET", "/api/alerts/D1", None).await.1.to_string();
    assert!(d1.contains("U10") && d1.contains("Dan Clarke"), "revealed for D1: {d1}");
    let d2 = f.call(&ana, "GET", "/api/alerts/D2", None).await.1.to_string();
    assert!(!d2.contains("U10"), "and for D1 only: {d2}");
    // Nothing ties the revealed officer to their pseudonym: not D1's accesses, not the
    // timeline asked for by the pseudonym (found by a probe: both did).
    assert!(!d1.contains(&pseudonym), "{d1}");
    let (_, timeline) = f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": pseudonym}))).await;
    assert!(!timeline.to_string().contains("U10"), "{timeline}");
    // Nor by D1's id or its events: the revealed alert is left out of the pseudonym's
    // timeline (a review: its id and events tied them), D2 stays.
    let text = timeline.to_string();
    assert!(!text.contains("\"D1\"") && !text.contains("ev-1") && text.contains("\"D2\""), "{timeline}");
    // Nor the subject's history: D1's access is counted, not shown under the pseudonym.
    let (_, history) = f.call(&ana, "POST", "/api/subject", Some(json!({"name": "JONES, Ann"}))).await;
    let text = history.to_string();
    assert!(!text.contains("ev-1") && !text.contains(&pseudonym) && history["hidden"]["accesses"] == 1, "{history}");
    let trail = f.audit_actions();
    assert!(trail
        .iter()
        .any(|(w, a, t)| w == "sup" && a == "request to reveal identity" && t.contains("to arrange the interview")));
    assert!(trail.iter().any(|(w, a, _)| w == "sup2" && a == "approve reveal"));
}

/// Beside a pseudonym, the fields the officer's own system wrote that may name them
/// (terminal, session, a source's own fields) are withheld; a supervisor sees them
/// (a probe read `WS-JONES-U10` beside the masked id).
#[tokio::test]
async fn fields_that_may_name_a_pseudonymous_officer_are_withheld() {
    let lists = operation_lists();
    let f = fixture(&format!("watchlists_dir = \"{}\"", lists.path().display()));
    let archive = f.dashboard.archive.clone().unwrap();
    let mut w = crate::archive::EventWriter::new(&archive, &crate::config::Config::defaults().archive);
    let line = r#"{"event_id":"ev-t","ts":"2026-11-20T01:00:00Z","system":"PNC","user_id":"U10","action":"view","subject_type":"person","subject_name":"JONES, Ann","terminal":"WS-CLARKE-U10","session_id":"s-clarke","operator":{"name":"Dan Clarke"}}"#;
    w.append(crate::event::json::decode(line.as_bytes()).unwrap(), Default::default());
    w.flush().unwrap();
    f.dashboard.observe(&alert_on("T1", "U10", None, &["ev-t"])).unwrap();
    let (_, v) = f.call(&f.login("ana").await, "GET", "/api/alerts/T1", None).await;
    let text = v.to_string();
    assert!(text.contains("ev-t") && text.contains("fields_withheld"), "{text}");
    assert!(!text.contains("CLARKE") && !text.contains("s-clarke") && !text.contains("Dan Clarke"), "{text}");
    let (_, v) = f.call(&f.login("sup").await, "GET", "/api/alerts/T1", None).await;
    assert!(v.to_string().contains("WS-CLARKE-U10"), "{v}");
}

/// Reveals follow need-to-know: a supervisor not cleared for operations neither reads
/// nor approves a reveal of an operation's alert (its reason may name the operation),
/// no one reveals themselves by pseudonym, and the reason is marked in the trail
/// (a probe did all of these).
#[tokio::test]
async fn reveals_follow_need_to_know() {
    let lists = operation_lists();
    let hash = auth::hash_password(PASSWORD);
    let f = fixture(&format!(
        "watchlists_dir = \"{}\"\nreveal_needs_approval = true\n\n[dashboard.users.sup3]\npassword = \"{hash}\"\nrole = \"supervisor\"\n\n[dashboard.users.dan]\npassword = \"{hash}\"\nrole = \"supervisor\"\nstaff_id = \"U10\"\n",
        lists.path().display()
    ));
    f.dashboard.observe(&alert("D1", "U10", None)).unwrap();
    let (sup, sup3, dan) = (f.login("sup").await, f.login("sup3").await, f.login("dan").await);
    let ask = json!({"alert_id": "OPS1", "reason": "Operation Nimrod: suspected leak"});
    let (status, r) = f.call(&sup, "POST", "/api/reveals", Some(ask)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let id = r["id"].as_i64().unwrap();
    let (_, list) = f.call(&sup3, "GET", "/api/reveals", None).await;
    assert!(!list.to_string().contains("Nimrod"), "{list}");
    assert_eq!(f.call(&sup3, "POST", &format!("/api/reveals/{id}/approve"), None).await.0, StatusCode::NOT_FOUND);
    let (_, list) = f.call(&f.login("sup2").await, "GET", "/api/reveals", None).await;
    assert!(list.to_string().contains("Nimrod"), "the cleared see it: {list}");
    // Dan's own alert, by the pseudonym an analyst is shown: not for him to reveal.
    let (_, board) = f.call(&f.login("ana").await, "GET", "/api/alerts", None).await;
    let rows = board.as_array().unwrap();
    let pseudonym = rows.iter().find(|r| r["alert"]["alert_id"] == "D1").unwrap()["alert"]["user_id"].clone();
    let ask = json!({"pseudonym": pseudonym, "reason": "to see who it is, myself"});
    assert_eq!(f.call(&dan, "POST", "/api/reveals", Some(ask.clone())).await.0, StatusCode::NOT_FOUND);
    assert_eq!(f.call(&sup3, "POST", "/api/reveals", Some(ask.clone())).await.0, StatusCode::OK);
    // By pseudonym, asked by an account cleared for operations: its reason may name one.
    let ask = json!({"pseudonym": ask["pseudonym"], "reason": "found through Nimrod's alerts"});
    assert_eq!(f.call(&sup, "POST", "/api/reveals", Some(ask)).await.0, StatusCode::OK);
    let (_, list) = f.call(&sup3, "GET", "/api/reveals", None).await;
    assert!(!list.to_string().contains("Nimrod") && list.to_string().contains("myself"), "{list}");
    // An auditor not cleared for operations does not read the operation's reveal reason.
    let (_, trail) = f.call(&f.login("aud").await, "GET", "/api/audit?limit=100", None).await;
    assert!(!trail.to_string().contains("Nimrod"), "{trail}");
}

#[tokio::test]
async fn closing_a_red_alert_as_justified_needs_a_second_supervisor() {
    let f = fixture("pseudonymous_roles = []");
    let (sup, sup2) = (f.login("sup").await, f.login("sup2").await);
    let close = json!({"action": "close", "outcome": "justified", "note": "on duty"});
    let (status, v) = f.call(&sup, "POST", "/api/alerts/A1/triage", Some(close)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "closure_proposed");
    assert_eq!(v["proposal"]["proposed_by"], "sup");
    assert_eq!(
        f.call(&sup, "POST", "/api/alerts/A1/triage", Some(json!({"action": "approve_closure"}))).await.0,
        StatusCode::FORBIDDEN,
        "not by the one who proposed it"
    );
    let (status, v) = f.call(&sup2, "POST", "/api/alerts/A1/triage", Some(json!({"action": "approve_closure"}))).await;
    assert_eq!((status, v["status"].as_str()), (StatusCode::OK, Some("justified")));
    // A finding of misconduct needs no second pair of eyes.
    let (_, v) = f
        .call(&sup, "POST", "/api/alerts/OPS1/triage", Some(json!({"action": "close", "outcome": "misconduct"})))
        .await;
    assert_eq!(v["status"], "misconduct");
}

/// An amber closed by one supervisor as justified, then raised to red by a later
/// access of the officer's: reopened, with why, not sunk into the closed alert past
/// the second pair of eyes a red needs (a probe).
#[tokio::test]
async fn a_closed_alert_raised_by_a_later_access_is_reopened() {
    let f = fixture("pseudonymous_roles = []");
    let sup = f.login("sup").await;
    let mut a = alert_on("ESC1", "U1", None, &["e1"]);
    a.severity = crate::alert::Severity::Amber;
    f.dashboard.observe(&a).unwrap();
    let close = json!({"action": "close", "outcome": "justified", "note": "on duty"});
    let (_, v) = f.call(&sup, "POST", "/api/alerts/ESC1/triage", Some(close)).await;
    assert_eq!(v["status"], "justified", "{v}");
    // The same severity again (a copy, an update of its evidence) leaves it closed.
    f.dashboard.observe(&a).unwrap();
    assert_eq!(f.call(&sup, "GET", "/api/alerts/ESC1", None).await.1["status"], "justified");
    a.severity = crate::alert::Severity::Red;
    a.event_ids.push("e-later".into());
    f.dashboard.observe(&a).unwrap();
    let (_, v) = f.call(&sup, "GET", "/api/alerts/ESC1", None).await;
    assert_eq!(v["status"], "new", "{v}");
    let history = v["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["by"] == "accesswatch"
            && h["note"].as_str().unwrap().contains("raised it from amber to red while it was justified")),
        "{v}"
    );
    // A surer match at the same severity (a search by name on CAD closed as a namesake,
    // then the view by record id on PNC) reopens it too, and the board files it under
    // its new trigger's system (a review: the row kept the first access's).
    let mut b = alert_on("ESC2", "U1", None, &["e1"]);
    b.severity = crate::alert::Severity::Amber;
    b.confidence = crate::watchlist::Confidence::Medium;
    b.system = "CAD".into();
    f.dashboard.observe(&b).unwrap();
    let close = json!({"action": "close", "outcome": "no_further_action", "note": "another Dave Mate"});
    let (_, v) = f.call(&sup, "POST", "/api/alerts/ESC2/triage", Some(close)).await;
    assert_eq!(v["status"], "no_further_action", "{v}");
    b.confidence = crate::watchlist::Confidence::High;
    b.system = "PNC".into();
    b.event_ids.insert(0, "e-by-id".into());
    f.dashboard.observe(&b).unwrap();
    let (_, v) = f.call(&sup, "GET", "/api/alerts/ESC2", None).await;
    assert_eq!(v["status"], "new", "{v}");
    assert!(v["history"].to_string().contains("matched its subject surer (high confidence, was medium)"), "{v}");
    let on = |system: &str| {
        let path = format!("/api/alerts?system={system}");
        let f = &f;
        let sup = &sup;
        async move { f.call(sup, "GET", &path, None).await.1.to_string().contains("ESC2") }
    };
    assert!(on("PNC").await && !on("CAD").await);
}

#[tokio::test]
async fn every_read_is_audited() {
    let f = fixture("pseudonymous_roles = []");
    let ana = f.login("ana").await;
    for path in ["/api/alerts", "/api/counts", "/api/risk", "/api/charts"] {
        f.call(&ana, "GET", path, None).await;
    }
    f.call(&ana, "POST", "/api/alerts", Some(json!({"user": "U1"}))).await;
    let mut req = Request::builder().uri("/api/stream").header("cookie", ana.cookie.clone().unwrap());
    req = req.header("x-test", "1");
    let resp = f.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    f.call(&ana, "POST", "/api/logout", None).await;
    let mut body = resp.into_body();
    // The stream ends with the session, and says so in the trail.
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(_)) = body.frame().await {}
    })
    .await;
    assert!(end.is_ok(), "the live stream outlived its session");
    let aud = f.login("aud").await;
    f.call(&aud, "GET", "/api/audit?limit=50", None).await;
    let trail = f.audit_actions();
    for action in [
        "view the board",
        "view counts",
        "view risk ranking",
        "view charts",
        "open the live stream",
        "close the live stream",
        "sign out",
        "read the audit trail",
    ] {
        assert!(trail.iter().any(|(_, a, _)| a == action), "{action} not audited: {trail:?}");
    }
    assert!(trail.iter().any(|(_, a, t)| a == "view the board" && t.contains("(a user)")), "the filter, no identity");
    assert!(matches!(f.dashboard.store.verify_audit().unwrap(), store::audit::Verdict::Intact { .. }));
}

#[tokio::test]
async fn sign_in_is_throttled_then_locked_and_the_checkers_are_a_fixed_pool() {
    let f = fixture("login_max_failures = 3\nlogin_lockout = \"1h\"\npassword_workers = 1");
    let wrong = json!({"user": "ana", "password": "guess"});
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(f.call(&Client::default(), "POST", "/api/login", Some(wrong.clone())).await.0);
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert!(statuses[1..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let refusals = |reason: &str| {
        let text = f.dashboard.metrics.render();
        text.lines()
            .find_map(|l| {
                l.strip_prefix(&format!("accesswatch_dashboard_login_refusals_total{{reason=\"{reason}\"}} "))
            })
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!((refusals("wrong_password"), refusals("throttled")), (1, 24));
    // Locked: after the waits run out, failures reach the limit and the account locks.
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
        assert_eq!(
            f.call(&Client::default(), "POST", "/api/login", Some(wrong.clone())).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let right = json!({"user": "ana", "password": PASSWORD});
    assert_eq!(
        f.call(&Client::default(), "POST", "/api/login", Some(right)).await.0,
        StatusCode::TOO_MANY_REQUESTS,
        "locked"
    );
    // A burst of sign-ins under many names: one checker and a short queue; the rest
    // are refused at once. Unknown names are checked (against a decoy) and refused like
    // known ones, so a refusal does not say whether a name exists.
    let burst = (0..40).map(|i| {
        let f = &f;
        async move {
            let body = json!({"user": format!("nobody{i}"), "password": "guess"});
            f.call(&Client::default(), "POST", "/api/login", Some(body)).await.0
        }
    });
    let results = futures_join_all(burst).await;
    assert!(results.iter().any(|s| *s == StatusCode::SERVICE_UNAVAILABLE), "{results:?}");
    assert!(results.iter().any(|s| *s == StatusCode::UNAUTHORIZED), "{results:?}");
    assert!(refusals("busy") > 0);
    // Parallel guesses at one account: the first attempt counts before its password is
    // checked, so the others wait instead of all being tried.
    let guesses = (0..10).map(|_| {
        let f = &f;
        async move {
            f.call(&Client::default(), "POST", "/api/login", Some(json!({"user": "sup2", "password": "guess"}))).await.0
        }
    });
    let results = futures_join_all(guesses).await;
    let tried = results.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(tried, 1, "{results:?}");
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let right = json!({"user": "sup", "password": PASSWORD});
    assert_eq!(f.call(&Client::default(), "POST", "/api/login", Some(right)).await.0, StatusCode::OK);
}

/// Runs the futures side by side on this task.
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

#[tokio::test]
async fn sessions_end_at_their_lifetime_and_at_a_new_sign_in() {
    let f = fixture("session_lifetime = \"1s\"");
    let first = f.login("ana").await;
    let second = f.login("ana").await;
    assert_eq!(
        f.call(&first, "GET", "/api/me", None).await.0,
        StatusCode::UNAUTHORIZED,
        "a new sign-in ends the old session"
    );
    assert_eq!(f.call(&second, "GET", "/api/me", None).await.0, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    assert_eq!(f.call(&second, "GET", "/api/me", None).await.0, StatusCode::UNAUTHORIZED, "past its lifetime");
}

#[tokio::test]
async fn the_pages_own_refresh_does_not_keep_an_unattended_session_open() {
    let f = fixture("session_idle = \"2s\"");
    let ana = f.login("ana").await;
    let background = [("x-accesswatch-background", "1")];
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let (status, _, _) = f.call_full(&ana, "GET", "/api/counts", None, &background).await;
        if status != StatusCode::OK {
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            return;
        }
    }
    panic!("background refreshes kept the session open past its idle time");
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_the_auditor_learns_nothing_from_ids() {
    let f = fixture("");
    let ana = f.login("ana").await;
    for (client, path) in [
        (&Client::default(), "/"),
        (&Client::default(), "/app.js"),
        (&Client::default(), "/api/me"),
        (&ana, "/api/alerts"),
        (&ana, "/briefing"),
        (&ana, "/api/alerts/NOPE"),
    ] {
        let mut req = Request::builder().uri(path);
        if let Some(c) = &client.cookie {
            req = req.header("cookie", c);
        }
        let resp = f.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
    }
    // The page runs no inline script.
    let (_, page) = f.call(&Client::default(), "GET", "/", None).await;
    let page = page.as_str().unwrap();
    assert!(page.contains("<script src=\"/app.js\"></script>") && !page.contains("<script>"), "{page}");
    // An auditor is refused before any look-up: existing and unknown ids alike.
    let aud = f.login("aud").await;
    assert_eq!(f.call(&aud, "GET", "/api/alerts/A1", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&aud, "GET", "/api/alerts/NOPE", None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        f.call(&aud, "POST", "/api/alerts/NOPE/triage", Some(json!({"action": "note"}))).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn an_alert_resolved_by_the_engine_needs_no_triage_and_says_why() {
    let f = fixture("pseudonymous_roles = []");
    let sup = f.login("sup").await;
    let mut a = alert_on("LATE1", "U1", None, &["e1"]);
    f.dashboard.observe(&a).unwrap();
    let (_, v) = f.call(&sup, "GET", "/api/alerts/LATE1", None).await;
    assert_eq!(v["status"], "new");
    a.resolved = Some(crate::alert::Resolved {
        at: crate::time::Timestamp(1_795_000_000_000),
        by: "reference".into(),
        reason: "incidents row INC-7 arrived after the alert was raised; the access is explained by reference INC-7."
            .into(),
    });
    f.dashboard.observe(&a).unwrap();
    let (_, v) = f.call(&sup, "GET", "/api/alerts/LATE1", None).await;
    assert_eq!(v["status"], "resolved", "{v}");
    assert_eq!(v["alert"]["resolved"]["by"], "reference");
    let history = v["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["by"] == "accesswatch" && h["note"].as_str().unwrap().contains("INC-7")), "{v}");
    // Nobody can close an alert as "resolved" by hand.
    let (status, _) =
        f.call(&sup, "POST", "/api/alerts/LATE1/triage", Some(json!({"action": "close", "outcome": "resolved"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// An officer's out-of-hours run that began with a look-up of an operation's subject:
/// the behaviour alert is the operation's (its trigger is that look-up), but the other
/// accesses it gathered are not, and the alerts on them stay in triage for everyone.
/// Before, every access the behaviour alert gathered was taken for the operation's, and
/// a red victim.contact alert on one of them vanished for analysts.
#[tokio::test]
async fn a_behaviour_alert_on_an_operation_hides_its_trigger_not_every_access_it_gathered() {
    let f = fixture("pseudonymous_roles = []");
    let (ana, sup) = (f.login("ana").await, f.login("sup").await);
    let mut run = alert_on("OOH1", "U7", None, &["e-op", "e-2", "e-3"]);
    run.rule = crate::alert::RuleId::BehaviourOutOfHours;
    run.about_user = true;
    run.on_operation = true;
    f.dashboard.observe(&run).unwrap();
    let victim = alert_on("VIC1", "U7", None, &["e-2"]);
    f.dashboard.observe(&victim).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/OOH1", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(f.call(&sup, "GET", "/api/alerts/OOH1", None).await.0, StatusCode::OK);
    assert_eq!(f.call(&ana, "GET", "/api/alerts/VIC1", None).await.0, StatusCode::OK);
    // An alert on the trigger itself is the operation's.
    f.dashboard.observe(&alert_on("ON-OP", "U7", None, &["e-op"])).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/ON-OP", None).await.0, StatusCode::NOT_FOUND);
    // An alert about the subject: every access it folded shares it, and so does every
    // alert on any of them.
    let mut subject = alert_on("SUBJ1", "U8", None, &["e-s1", "e-s2"]);
    subject.on_operation = true;
    f.dashboard.observe(&subject).unwrap();
    f.dashboard.observe(&alert_on("ON-S2", "U8", None, &["e-s2"])).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/ON-S2", None).await.0, StatusCode::NOT_FOUND);
    // A fishing run that gathered that look-up among others, begun elsewhere: the
    // user's own business (found by a probe: it vanished for analysts). One whose
    // trigger it is, is the operation's.
    let mut fishing = alert_on("FISH1", "U8", None, &["e-f1", "e-s2", "e-f3"]);
    fishing.rule = crate::alert::RuleId::BehaviourFishing;
    fishing.about_user = true;
    f.dashboard.observe(&fishing).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/FISH1", None).await.0, StatusCode::OK);
    let mut begun = alert_on("FISH2", "U8", None, &["e-s1", "e-f4"]);
    begun.rule = crate::alert::RuleId::BehaviourFishing;
    begun.about_user = true;
    f.dashboard.observe(&begun).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/FISH2", None).await.0, StatusCode::NOT_FOUND);
    // A print after a look-up of the operation's subject names that look-up and the
    // rule it raised: the operation's, whichever alert arrives first (a probe).
    let export = |id: &str, events: &[&str]| {
        let mut a = alert_on(id, "U9", None, events);
        a.rule = crate::alert::RuleId::BehaviourExportAfterSensitive;
        a.about_user = true;
        a
    };
    f.dashboard.observe(&export("EXP1", &["e-print1", "e-s1"])).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/EXP1", None).await.0, StatusCode::NOT_FOUND);
    f.dashboard.observe(&export("EXP2", &["e-print2", "e-later-op"])).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/EXP2", None).await.0, StatusCode::OK);
    let mut later = alert_on("OPS-LATER", "U9", None, &["e-later-op"]);
    later.on_operation = true;
    f.dashboard.observe(&later).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/EXP2", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn any_alert_on_an_access_that_touched_an_operation_is_the_operations_and_risk_stays_with_the_cleared() {
    let f = fixture("pseudonymous_roles = []");
    let (ana, sup) = (f.login("ana").await, f.login("sup").await);
    // The briefed team's own account is suspended: account.status fires on their look-up
    // of the operation's target, and opsec.outsider does not (they are on the team).
    let mut a = alert_on("ACC1", "U7", None, &["e-team"]);
    a.rule = crate::alert::RuleId::AccountStatus;
    a.on_operation = true;
    a.user_risk = Some(140);
    f.dashboard.observe(&a).unwrap();
    assert_eq!(f.call(&ana, "GET", "/api/alerts/ACC1", None).await.0, StatusCode::NOT_FOUND);
    let (status, v) = f.call(&sup, "GET", "/api/alerts/ACC1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["alert"]["user_risk"], 140, "the cleared see the engine's running risk");
    // The uncleared never see user_risk: it sums the operation's alerts too.
    let (_, list) = f.call(&ana, "GET", "/api/alerts", None).await;
    assert!(list.as_array().unwrap().iter().all(|r| r["alert"]["user_risk"].is_null()), "{list}");
}

/// One account holds at most a few live streams; a stream its client left gives its
/// place back.
#[tokio::test]
async fn an_account_holds_a_bounded_number_of_live_streams() {
    let f = fixture("pseudonymous_roles = []");
    let ana = f.login("ana").await;
    let open = || {
        let req = Request::builder().uri("/api/stream").header("cookie", ana.cookie.clone().unwrap());
        f.router.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let mut held = Vec::new();
    for _ in 0..state::LiveStreams::PER_ACCOUNT {
        let resp = open().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        held.push(resp);
    }
    assert_eq!(open().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    let sup = f.login("sup").await;
    let req = Request::builder().uri("/api/stream").header("cookie", sup.cookie.clone().unwrap());
    let other = f.router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(other.status(), StatusCode::OK, "another account is not bounded by ana's streams");
    drop(held.pop());
    let reopened = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if open().await.unwrap().status() == StatusCode::OK {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "a stream whose client went kept its place");
}
