//! The dashboard's HTTP API. Every route but the page shell and `/api/login` needs a
//! signed-in [`Viewer`]; every view of an alert, a timeline or a subject history is
//! written to the audit trail before it is answered. People are never named in a URL:
//! timelines and subject histories are asked for in a request body.

use super::auth::{self, refuse, Role, Viewer};
use super::store::{Filter, Status};
use super::Dashboard;
use crate::alert::Alert;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

type D = State<Arc<Dashboard>>;

pub fn router(d: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/briefing", get(briefing_page))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/alerts", get(alerts).post(alerts_post))
        .route("/api/alerts/{id}", get(alert))
        .route("/api/alerts/{id}/triage", post(triage))
        .route("/api/counts", get(counts))
        .route("/api/risk", get(risk))
        .route("/api/charts", get(charts))
        .route("/api/timeline", post(timeline))
        .route("/api/subject", post(subject))
        .route("/api/briefing", get(briefing))
        .route("/api/audit", get(audit_trail))
        .route("/api/stream", get(stream))
        .with_state(d)
}

const PAGE: &str = include_str!("page.html");

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        PAGE,
    )
        .into_response()
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard request failed");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error (logged)")
}

fn audit(d: &Dashboard, v: &Viewer, action: &str, target: &str) -> Result<(), Response> {
    d.store.audit(&v.user, v.role.as_str(), action, target).map_err(server_error)
}

/// Runs blocking work (SQL over the archive) on a thread of its own.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.map_err(|_| refuse(StatusCode::INTERNAL_SERVER_ERROR, "the query failed"))
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(State(d): D, body: Result<Json<Login>, axum::extract::rejection::JsonRejection>) -> Response {
    let Ok(Json(login)) = body else { return refuse(StatusCode::BAD_REQUEST, "send {\"user\", \"password\"} as JSON") };
    let ok = {
        let d = d.clone();
        let (user, password) = (login.user.clone(), login.password);
        blocking(move || auth::check_password(&d, &user, &password)).await.unwrap_or(false)
    };
    if !ok {
        let _ = d.store.audit(&login.user, "-", "sign-in refused", "");
        return refuse(StatusCode::UNAUTHORIZED, "wrong user name or password");
    }
    let role = d.config.users[&login.user].role;
    let (token, csrf) = d.sessions.create(&login.user);
    let _ = d.store.audit(&login.user, role.as_str(), "sign in", "");
    (
        [(header::SET_COOKIE, auth::session_cookie(&token, d.config.secure_cookies))],
        Json(json!({ "user": login.user, "role": role, "csrf": csrf })),
    )
        .into_response()
}

async fn logout(State(d): D, v: Viewer) -> Response {
    if let Some(t) = &v.session {
        d.sessions.remove(t);
    }
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", auth::COOKIE);
    ([(header::SET_COOKIE, clear)], Json(json!({ "signed_out": true }))).into_response()
}

/// Who is signed in; for a user signed in by the proxy header, starts the session that
/// carries the CSRF token.
async fn me(State(d): D, v: Viewer) -> Response {
    let mut headers = Vec::new();
    let csrf = match v.csrf {
        Some(c) => c,
        None => {
            let (token, csrf) = d.sessions.create(&v.user);
            headers.push((header::SET_COOKIE, auth::session_cookie(&token, d.config.secure_cookies)));
            csrf
        }
    };
    let body = Json(json!({ "user": v.user, "role": v.role, "operations": v.operations, "csrf": csrf }));
    let mut r = body.into_response();
    for (k, val) in headers {
        if let Ok(val) = val.parse() {
            r.headers_mut().append(k, val);
        }
    }
    r
}

const VIEWERS: &[Role] = &[Role::Analyst, Role::Supervisor];

async fn alerts(
    State(d): D,
    v: Viewer,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(f)) = q else { return refuse(StatusCode::BAD_REQUEST, "unknown filter value") };
    if f.user.is_some() {
        // A person's identifier would end up in access logs and browser history.
        return refuse(StatusCode::BAD_REQUEST, "filter by user with POST /api/alerts and the filters as JSON");
    }
    list(&d, &v, f)
}

/// The board with its filters in the body (needed to filter by user).
async fn alerts_post(
    State(d): D,
    v: Viewer,
    body: Result<Json<Filter>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(f)) = body else { return refuse(StatusCode::BAD_REQUEST, "send the filters as JSON") };
    list(&d, &v, f)
}

fn list(d: &Dashboard, v: &Viewer, mut f: Filter) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        if Status::parse(s).is_none() {
            return refuse(StatusCode::BAD_REQUEST, "unknown status");
        }
    }
    f.operations = v.operations;
    match d.store.alerts(&f) {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => server_error(e),
    }
}

fn visible(v: &Viewer, a: &Alert) -> bool {
    v.operations || a.watchlist.as_ref().is_none_or(|w| w.list != crate::watchlist::TableName::Operations)
}

async fn alert(State(d): D, v: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let row = match d.store.alert(&id) {
        Ok(Some(row)) if visible(&v, &row.alert) => row,
        // An alert the viewer is not cleared for does not exist for them.
        Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => return server_error(e),
    };
    if let Err(r) = audit(&d, &v, "view alert", &id) {
        return r;
    }
    let history = d.store.history(&id).unwrap_or_default();
    let (archive, lists) = (d.archive.clone(), d.config.watchlists_dir.clone());
    let alert = row.alert.clone();
    let (events, entry) = blocking(move || {
        let events = archive.as_deref().and_then(|a| {
            let hunt = crate::hunt::Hunt::open(a, None).ok()?;
            let ids: Vec<&str> = alert.event_ids.iter().map(|e| &**e).collect();
            hunt.events_by_id(&ids).ok()
        });
        let entry = match (&lists, &alert.watchlist) {
            (Some(dir), Some(w)) => crate::evidence::watchlist_rows(dir, w.list, &w.key).unwrap_or_default(),
            _ => Vec::new(),
        };
        (events, entry)
    })
    .await
    .unwrap_or((None, Vec::new()));
    let events: Option<Vec<serde_json::Value>> = events.map(|es| {
        es.iter()
            .map(|e| {
                let mut line = String::new();
                e.event.write_json(&mut line);
                serde_json::from_str(&line).unwrap_or_default()
            })
            .collect()
    });
    Json(json!({
        "alert": row.alert, "status": row.status, "assignee": row.assignee, "history": history,
        "events": events, "watchlist_rows": entry,
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct Triage {
    action: String,
    assignee: Option<String>,
    outcome: Option<String>,
    note: Option<String>,
}

async fn triage(
    State(d): D,
    v: Viewer,
    Path(id): Path<String>,
    body: Result<Json<Triage>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(t)) = body else {
        return refuse(StatusCode::BAD_REQUEST, "send {\"action\", \"assignee\"?, \"outcome\"?, \"note\"?} as JSON");
    };
    let note = t.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.len() > 4_000) {
        return refuse(StatusCode::BAD_REQUEST, "a note is at most 4,000 characters");
    }
    let current = match d.store.alert(&id) {
        Ok(Some(row)) if visible(&v, &row.alert) => row,
        Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => return server_error(e),
    };
    let keep = Status::parse(&current.status).unwrap_or(Status::New);
    let (status, assignee) = match t.action.as_str() {
        "acknowledge" => (Status::Acknowledged, None),
        "escalate" => (Status::Escalated, None),
        "note" if note.is_some() => (keep, None),
        "note" => return refuse(StatusCode::BAD_REQUEST, "a note needs text"),
        "assign" => {
            if let Err(r) = v.require(&[Role::Supervisor]) {
                return r;
            }
            match t.assignee.as_deref().map(str::trim).filter(|a| d.config.users.contains_key(*a)) {
                Some(a) => (Status::Assigned, Some(a.to_string())),
                None => return refuse(StatusCode::BAD_REQUEST, "assign to a dashboard user"),
            }
        }
        "close" => {
            if let Err(r) = v.require(&[Role::Supervisor]) {
                return r;
            }
            match t.outcome.as_deref().and_then(Status::parse).filter(|s| s.is_closed()) {
                Some(s) => (s, None),
                None => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        "close with an outcome: justified, misconduct, criminal or no_further_action",
                    )
                }
            }
        }
        _ => return refuse(StatusCode::BAD_REQUEST, "action is acknowledge, escalate, note, assign or close"),
    };
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    match d.store.triage(&id, &v.user, status, assignee.as_deref(), note) {
        Ok(Some(())) => {
            let _ = audit(&d, &v, &format!("triage {}", t.action), &id);
            Json(json!({ "status": status.as_str(), "history": d.store.history(&id).unwrap_or_default() }))
                .into_response()
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => server_error(e),
    }
}

async fn counts(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    match d.store.counts(v.operations) {
        Ok(rows) => {
            let mut severity: std::collections::BTreeMap<String, i64> = Default::default();
            let mut status: std::collections::BTreeMap<String, i64> = Default::default();
            for (sev, st, n) in rows {
                *severity.entry(sev).or_default() += n;
                *status.entry(st).or_default() += n;
            }
            Json(json!({ "severity": severity, "status": status })).into_response()
        }
        Err(e) => server_error(e),
    }
}

fn all_alerts(d: &Dashboard, v: &Viewer) -> Result<Vec<Alert>, Response> {
    let f = Filter { operations: v.operations, limit: Some(5_000), ..Filter::default() };
    Ok(d.store.alerts(&f).map_err(server_error)?.into_iter().map(|r| r.alert).collect())
}

/// The per-user risk ranking over the alerts seen.
fn ranking(d: &Dashboard, alerts: &[Alert], top: usize) -> Vec<serde_json::Value> {
    crate::risk::rank(alerts, None, d.risk_half_life)
        .into_iter()
        .take(top)
        .map(|u| {
            json!({ "user_id": u.user_id, "score": (u.score * 10.0).round() / 10.0, "alerts": u.alerts.len(),
                    "red": u.alerts.iter().filter(|a| a.severity == crate::alert::Severity::Red).count() })
        })
        .collect()
}

async fn risk(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    match all_alerts(&d, &v) {
        Ok(alerts) => Json(ranking(&d, &alerts, 20)).into_response(),
        Err(r) => r,
    }
}

async fn charts(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let alerts = match all_alerts(&d, &v) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut by_day: std::collections::BTreeMap<String, [u64; 3]> = Default::default();
    let mut by_rule: std::collections::BTreeMap<&str, u64> = Default::default();
    for a in &alerts {
        let col = match a.severity {
            crate::alert::Severity::Red => 0,
            crate::alert::Severity::Amber => 1,
            crate::alert::Severity::Green => 2,
        };
        by_day.entry(a.event_ts.date().to_string()).or_default()[col] += 1;
        *by_rule.entry(a.rule.as_str()).or_default() += 1;
    }
    let mut rules: Vec<_> = by_rule.into_iter().collect();
    rules.sort_by(|a, b| b.1.cmp(&a.1));
    Json(json!({
        "by_day": by_day.into_iter().map(|(day, [r, a, g])| json!({"day": day, "red": r, "amber": a, "green": g})).collect::<Vec<_>>(),
        "by_rule": rules.into_iter().map(|(rule, n)| json!({"rule": rule, "n": n})).collect::<Vec<_>>(),
        "top_risk": ranking(&d, &alerts, 10),
    }))
    .into_response()
}

fn parse_range(from: Option<&str>, to: Option<&str>) -> Result<crate::hunt::TimeRange, Response> {
    let t = |s: Option<&str>| -> Result<Option<crate::time::Timestamp>, Response> {
        match s.filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => crate::time::Date::parse(s)
                .map(|d| crate::time::Timestamp(d.0 as i64 * crate::time::DAY))
                .or_else(|_| crate::time::Timestamp::parse_rfc3339(s))
                .map(Some)
                .map_err(|_| refuse(StatusCode::BAD_REQUEST, "times are RFC 3339 or YYYY-MM-DD")),
        }
    };
    Ok(crate::hunt::TimeRange { from: t(from)?, to: t(to)? })
}

/// Accesses as JSON, each judged as the rules judge it when the watch lists are
/// loaded: `justified`, and `justification` in words.
fn access_json(d: &Dashboard, stored: &[crate::archive::columns::StoredEvent]) -> Vec<serde_json::Value> {
    stored
        .iter()
        .map(|s| {
            let mut line = String::new();
            s.event.write_json(&mut line);
            let mut v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(lists) = &d.lists {
                let ctx = crate::enrich::enrich(&s.event, lists, &d.justification);
                v["justified"] = ctx.justification.is_justified().into();
                v["justification"] = ctx.justification.why_not().into();
            }
            v
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct TimelineAsk {
    user_id: String,
    from: Option<String>,
    to: Option<String>,
}

async fn timeline(
    State(d): D,
    v: Viewer,
    body: Result<Json<TimelineAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(Json(ask)) = body else { return refuse(StatusCode::BAD_REQUEST, "send {\"user_id\", \"from\"?, \"to\"?}") };
    if ask.user_id.trim().is_empty() || ask.user_id.len() > 64 {
        return refuse(StatusCode::BAD_REQUEST, "user_id is required");
    }
    let range = match parse_range(ask.from.as_deref(), ask.to.as_deref()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if let Err(r) = audit(&d, &v, "view timeline", &ask.user_id) {
        return r;
    }
    let alerts: Vec<Alert> = d
        .store
        .alerts_of(&ask.user_id, v.operations)
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.alert)
        .filter(|a| range.from.is_none_or(|f| a.event_ts >= f) && range.to.is_none_or(|t| a.event_ts < t))
        .collect();
    let archive = d.archive.clone();
    let user = ask.user_id.clone();
    let accesses = blocking(move || {
        let a = archive?;
        let hunt = crate::hunt::Hunt::open(&a, None).ok()?;
        hunt.user_activity(&user, &range).ok()
    })
    .await
    .ok()
    .flatten();
    Json(json!({ "user_id": ask.user_id, "alerts": alerts, "accesses": accesses.as_deref().map(|a| access_json(&d, a)) }))
        .into_response()
}

#[derive(serde::Deserialize)]
struct SubjectAsk {
    subject_id: Option<String>,
    name: Option<String>,
    dob: Option<String>,
    vrm: Option<String>,
    postcode: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn subject(
    State(d): D,
    v: Viewer,
    body: Result<Json<SubjectAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(Json(ask)) = body else { return refuse(StatusCode::BAD_REQUEST, "send the subject as JSON") };
    let subject = match crate::hunt::Subject::parse(
        ask.subject_id.as_deref(),
        ask.name.as_deref(),
        ask.dob.as_deref(),
        ask.vrm.as_deref(),
        ask.postcode.as_deref(),
    ) {
        Ok(s) if s.id.is_some() || s.name.is_some() || s.vrm.is_some() || s.postcode.is_some() => s,
        Ok(_) => return refuse(StatusCode::BAD_REQUEST, "name the subject: subject_id, name, vrm or postcode"),
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let range = match parse_range(ask.from.as_deref(), ask.to.as_deref()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(archive) = d.archive.clone() else {
        return refuse(StatusCode::NOT_FOUND, "no archive is configured ([archive] dir)");
    };
    let target = [ask.subject_id.as_deref(), ask.name.as_deref(), ask.vrm.as_deref(), ask.postcode.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
    if let Err(r) = audit(&d, &v, "view subject history", &target) {
        return r;
    }
    let found = blocking(move || crate::hunt::Hunt::open(&archive, None)?.who_accessed(&subject, &range)).await;
    match found {
        Ok(Ok(accesses)) => {
            let rows: Vec<serde_json::Value> = accesses
                .iter()
                .map(|a| {
                    let mut v = access_json(&d, std::slice::from_ref(&a.stored)).remove(0);
                    v["match"] = a.how.as_str().into();
                    v
                })
                .collect();
            Json(json!({ "accesses": rows })).into_response()
        }
        Ok(Err(e)) => server_error(e),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
struct Since {
    hours: Option<u32>,
}

async fn briefing(State(d): D, v: Viewer, q: Query<Since>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let _ = audit(&d, &v, "view briefing", "");
    match super::briefing::Briefing::gather(&d.store, d.risk_half_life, q.hours.unwrap_or(24), v.operations) {
        Ok(b) => Json(b).into_response(),
        Err(e) => server_error(e),
    }
}

async fn briefing_page(State(d): D, v: Viewer, q: Query<Since>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let _ = audit(&d, &v, "view briefing", "");
    match super::briefing::Briefing::gather(&d.store, d.risk_half_life, q.hours.unwrap_or(24), v.operations) {
        Ok(b) => Html(b.html()).into_response(),
        Err(e) => server_error(e),
    }
}

#[derive(serde::Deserialize)]
struct Limit {
    limit: Option<u32>,
}

async fn audit_trail(State(d): D, v: Viewer, q: Query<Limit>) -> Response {
    if let Err(r) = v.require(&[Role::Auditor]) {
        return r;
    }
    match d.store.audit_trail(q.limit.unwrap_or(500).min(10_000)) {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => server_error(e),
    }
}

async fn stream(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let mut rx = d.feed.subscribe();
    let s = async_stream(move |tx| async move {
        loop {
            match rx.recv().await {
                Ok(a) if visible(&v, &a) => {
                    let mut json = String::new();
                    a.write_json(&mut json);
                    if tx
                        .send(Ok::<_, std::convert::Infallible>(Event::default().event("alert").data(json)))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => return,
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::default()).into_response()
}

/// A stream fed by a task through a small channel.
fn async_stream<T: Send + 'static, F>(
    f: impl FnOnce(tokio::sync::mpsc::Sender<T>) -> F,
) -> tokio_stream::wrappers::ReceiverStream<T>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(f(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}
