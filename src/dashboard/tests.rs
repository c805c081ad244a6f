//! Every endpoint through the router: authentication, each role boundary, CSRF,
//! operations clearance, triage and its history, the audit record of each view, and
//! the live stream.

use super::*;
use crate::config::Config;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct Fixture {
    dashboard: Arc<Dashboard>,
    router: axum::Router,
    _dir: tempfile::TempDir,
}

fn alert(id: &str, user: &str, list: Option<(&str, &str)>) -> Alert {
    let list = list.map(|(l, k)| json!({"list": l, "key": k, "match": "id"}));
    serde_json::from_value(json!({
        "alert_id": id, "rule": if list.is_some() { "opsec.outsider" } else { "custody.uninvolved" },
        "category": if list.is_some() { "opsec" } else { "custody" }, "severity": "red", "score": 90,
        "event_ts": "2026-11-20T10:00:00.000Z", "detected_at": "2026-11-20T10:00:01.000Z", "user_id": user,
        "subject": {"subject_type": "person", "subject_name": "MATE, Dave"}, "event_ids": ["e1"],
        "watchlist": list, "reason": "U1 viewed Dave Mate while he was in custody.", "retrospective": false,
        "system": "PNC", "action": "view", "unit": "Response"
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
        "[dashboard]\nenabled = true\ndb = \"{}\"\n{extra}\n{}{}{}{}",
        dir.path().join("d.sqlite").display(),
        account("sup", "supervisor", true),
        account("ana", "analyst", false),
        account("aud", "auditor", false),
        account("adm", "admin", true),
    );
    let mut config = Config::from_toml("test", &text).unwrap();
    config.archive.dir = Some(dir.path().join("archive"));
    let dashboard = Dashboard::open(&config).unwrap();
    dashboard.observe(&alert("A1", "U1", None));
    dashboard.observe(&alert("OPS1", "U2", Some(("operations", "Op Nimrod|id:12/1A"))));
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
        let mut req = Request::builder().method(method).uri(path);
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
        self.dashboard.store.audit_trail(1000).unwrap().into_iter().map(|e| (e.who, e.action, e.target)).collect()
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
    assert!(f.audit_actions().iter().filter(|(_, a, _)| a == "sign-in refused").count() >= 2);

    let (status, cookies, v) = f
        .call_full(&Client::default(), "POST", "/api/login", Some(json!({"user": "ana", "password": PASSWORD})), &[])
        .await;
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

#[tokio::test]
async fn roles_analyst_supervisor_auditor_admin() {
    let f = fixture("");
    let (ana, sup, aud, adm) = (f.login("ana").await, f.login("sup").await, f.login("aud").await, f.login("adm").await);

    // The auditor reads the audit trail and nothing else.
    for path in GETS.iter().filter(|p| !["/api/me", "/api/audit"].contains(p)) {
        assert_eq!(f.call(&aud, "GET", path, None).await.0, StatusCode::FORBIDDEN, "auditor {path}");
    }
    let triage = json!({"action": "acknowledge"});
    assert_eq!(f.call(&aud, "POST", "/api/alerts/A1/triage", Some(triage.clone())).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&aud, "POST", "/api/timeline", Some(json!({"user_id": "U1"}))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(f.call(&aud, "GET", "/api/audit", None).await.0, StatusCode::OK);
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
    // Watch lists: incident INC-9 names U1, so U1's access giving it is justified.
    let lists = tempfile::tempdir().unwrap();
    std::fs::write(
        lists.path().join("incidents.csv"),
        "reference,kind,opened_at,closed_at,unit,officers\nINC-9,assault,2026-11-19T00:00:00Z,,Response,U1\n",
    )
    .unwrap();
    let f = fixture(&format!("watchlists_dir = \"{}\"", lists.path().display()));
    // An archive with U1's accesses, for the timeline and the subject history.
    let archive = f.dashboard.archive.clone().unwrap();
    let mut w = crate::archive::EventWriter::new(&archive, &crate::config::Config::defaults().archive);
    for (i, (user, name)) in [("U1", "MATE, Dave"), ("U1", "SMITH, Jo"), ("U3", "Dave Mate")].iter().enumerate() {
        let reference = if i == 0 { r#","reference":"INC-9""# } else { "" };
        let line = format!(
            r#"{{"event_id":"e{i}","ts":"2026-11-20T0{i}:00:00Z","system":"PNC","user_id":"{user}","action":"view","subject_type":"person","subject_name":"{name}"{reference}}}"#
        );
        w.append(crate::event::json::decode(line.as_bytes()).unwrap(), Default::default());
    }
    w.flush().unwrap();

    let ana = f.login("ana").await;
    let (status, v) = f.call(&ana, "GET", "/api/alerts/A1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["alert"]["alert_id"], "A1");
    // The alert's evidence, read from the archive.
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["events"][0]["event_id"], "e1");
    let (status, v) = f.call(&ana, "POST", "/api/timeline", Some(json!({"user_id": "U1", "from": "2026-11-01"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(v["accesses"].as_array().unwrap().len(), 2);
    // Each access judged as the rules judge it.
    assert_eq!(v["accesses"][0]["justified"], true);
    assert_eq!(v["accesses"][1]["justified"], false);
    assert_eq!(v["accesses"][1]["justification"], "gave no reference");
    let (status, v) = f.call(&ana, "POST", "/api/subject", Some(json!({"name": "dave mate"}))).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let users: Vec<&str> = v["accesses"].as_array().unwrap().iter().map(|a| a["user_id"].as_str().unwrap()).collect();
    assert_eq!(users, ["U1", "U3"]);

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
    assert_eq!(f.audit_actions().len(), trail.len() + 1, "only the sign-in of the auditor was added");
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
    assert!(page.contains("Red alerts (2)") && page.contains("U1 viewed Dave Mate"), "{page}");
}

#[tokio::test]
async fn triage_survives_a_restart() {
    let f = fixture("");
    let sup = f.login("sup").await;
    f.call(&sup, "POST", "/api/alerts/A1/triage", Some(json!({"action": "close", "outcome": "justified"}))).await;
    let db = f.dashboard.config.db.clone();
    drop(f.router);
    let store = store::Store::open(&db).unwrap();
    assert_eq!(store.alert("A1").unwrap().unwrap().status, "justified");
    assert_eq!(store.history("A1").unwrap().len(), 1);
}

#[tokio::test]
async fn a_trusted_proxy_header_signs_in_and_the_session_carries_csrf() {
    let f = fixture("proxy_header = \"X-Remote-User\"");
    let none = Client::default();
    let (status, cookies, v) = f.call_full(&none, "GET", "/api/me", None, &[("x-remote-user", "ana")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["role"], "analyst");
    let c =
        Client { cookie: Some(cookies[0].split(';').next().unwrap().into()), csrf: v["csrf"].as_str().map(Into::into) };
    let h = [("x-remote-user", "ana")];
    let body = Some(json!({"action": "acknowledge"}));
    assert_eq!(f.call_full(&c, "POST", "/api/alerts/A1/triage", body.clone(), &h).await.0, StatusCode::OK);
    // The proxy names someone else: the session cookie does not carry over.
    let other = [("x-remote-user", "sup")];
    assert_eq!(f.call_full(&c, "POST", "/api/alerts/A1/triage", body, &other).await.0, StatusCode::FORBIDDEN);
    // A user the proxy knows but the dashboard does not.
    assert_eq!(f.call_full(&none, "GET", "/api/me", None, &[("x-remote-user", "eve")]).await.0, StatusCode::FORBIDDEN);
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
    f.dashboard.observe(&alert("OPS2", "U2", Some(("operations", "Op Nimrod|id:12/1A"))));
    f.dashboard.observe(&alert("A2", "U5", None));
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame()).await.unwrap().unwrap().unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: alert\ndata: {\"alert_id\":\"A2\""), "{text}");
}
