//! `/metrics` on the dashboard's listener, which every dashboard user reaches.

use super::*;

const TOKEN: &str = "a-scrape-token-of-32-characters!";

#[tokio::test]
async fn metrics_withhold_operations_but_from_the_token_and_the_cleared() {
    let uncleared = format!(
        "[dashboard.users.sup3]\npassword = \"{}\"\nrole = \"supervisor\"\noperations = false\n",
        auth::hash_password(PASSWORD)
    );
    let f = fixture(&format!("metrics_token = \"{TOKEN}\"\n{uncleared}"));
    let m = &f.dashboard.metrics;
    m.alerts.with_label_values(&["opsec.outsider", "red"]).inc();
    m.alerts.with_label_values(&["custody.uninvolved", "red"]).inc();
    m.watchlist_rows.with_label_values(&["operations"]).set(4);
    m.watchlist_rows.with_label_values(&["custody"]).set(45);
    m.accesses.with_label_values(&["operation"]).inc();
    m.accesses.with_label_values(&["reference"]).inc();
    m.retrospective_alerts.inc();
    let operations =
        ["opsec.outsider", "table=\"operations\"", "explained=\"operation\"", "accesswatch_retrospective_alerts_total"];
    let get = |headers: Vec<(&'static str, String)>, c: Client| {
        let f = &f;
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, _, body) = f.call_full(&c, "GET", "/metrics", None, &headers).await;
            (status, body.as_str().unwrap_or_default().to_string())
        }
    };
    let shows_operations = |text: &str| operations.iter().filter(|o| text.contains(*o)).count();

    // No one signed in, an analyst, an auditor, a supervisor not cleared: the rest only.
    for c in [Client::default(), f.login("ana").await, f.login("aud").await, f.login("sup3").await] {
        let (status, text) = get(Vec::new(), c).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shows_operations(&text), 0, "{text}");
        assert!(text.contains("rule=\"custody.uninvolved\"") && text.contains("table=\"custody\""), "{text}");
        assert!(text.contains("series about live operations withheld"));
    }
    // The scrape's token, and a supervisor cleared for operations: everything.
    let (status, text) = get(vec![("authorization", format!("Bearer {TOKEN}"))], Client::default()).await;
    assert_eq!((status, shows_operations(&text)), (StatusCode::OK, 4), "{text}");
    let (status, text) = get(Vec::new(), f.login("sup").await).await;
    assert_eq!((status, shows_operations(&text)), (StatusCode::OK, 4), "{text}");
    // A wrong token is refused outright.
    let (status, _) = get(vec![("authorization", "Bearer guess-guess-guess-guess".into())], Client::default()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
