//! The board and what surrounds it: the alert list, counts, the risk ranking, charts,
//! the live stream and the daily briefing, each within the viewer's scope and each
//! read written to the audit trail.

use super::common::{audit, server_error, D, VIEWERS};
use crate::dashboard::auth::refuse;
use crate::dashboard::auth::Viewer;
use crate::dashboard::state::Dashboard;
use crate::dashboard::store::{Filter, Row, Status};
use crate::time::{Span, Timestamp};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub(super) async fn alerts(
    State(d): D,
    v: Viewer,
    q: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(Query(f)) = q else { return refuse(StatusCode::BAD_REQUEST, "unknown filter") };
    if f.user.is_some() {
        // A person's identifier would end up in access logs and browser history.
        return refuse(StatusCode::BAD_REQUEST, "filter by user with POST /api/alerts and the filters as JSON");
    }
    list(&d, &v, f)
}

/// The board with its filters in the body (needed to filter by user).
pub(super) async fn alerts_post(
    State(d): D,
    v: Viewer,
    body: Result<axum::Json<Filter>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(axum::Json(f)) = body else { return refuse(StatusCode::BAD_REQUEST, "send the filters as JSON") };
    list(&d, &v, f)
}

/// A row as the viewer sees it (see [`Dashboard::shown_as`]).
fn shown_row_as(d: &Dashboard, v: &Viewer, r: Row, by_pseudonym: bool) -> serde_json::Value {
    json!({ "alert": d.shown_as(v, r.alert, by_pseudonym), "status": r.status, "assignee": r.assignee })
}

fn list(d: &Dashboard, v: &Viewer, mut f: Filter) -> Response {
    if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
        if Status::parse(s).is_none() {
            return refuse(StatusCode::BAD_REQUEST, "unknown status");
        }
    }
    let by_pseudonym = f.user.as_deref().is_some_and(|u| u.starts_with("Officer "));
    if let Some(user) = f.user.as_deref().filter(|u| !u.is_empty()) {
        // A pseudonym the viewer was shown stands for its person.
        f.user = Some(d.user_meant(v, user).unwrap_or_else(|| "(nobody)".into()));
    }
    let target = serde_json::to_string(&json!({
        "severity": f.severity, "rule": f.rule, "unit": f.unit, "user": f.user.as_ref().map(|_| "(a user)"),
        "system": f.system, "status": f.status, "since": f.since,
    }))
    .unwrap_or_default();
    if let Err(r) = audit(d, v, "view the board", &target) {
        return r;
    }
    match d.store.alerts(&f, &v.scope) {
        Ok(rows) => {
            Json(rows.into_iter().map(|r| shown_row_as(d, v, r, by_pseudonym)).collect::<Vec<_>>()).into_response()
        }
        Err(e) => server_error(e),
    }
}

pub(super) async fn counts(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    if let Err(r) = audit(&d, &v, "view counts", "") {
        return r;
    }
    match d.store.counts(&v.scope) {
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

/// The risk ranking as the viewer sees it (pseudonyms for analysts).
fn ranking(d: &Dashboard, v: &Viewer, top: u32) -> Result<Vec<serde_json::Value>, Response> {
    let lines = d.store.risk(&v.scope, Timestamp::now(), d.risk_half_life, top).map_err(server_error)?;
    let masker = d.masker(v);
    Ok(lines
        .into_iter()
        .map(|l| {
            let name = match &masker {
                Some(m) => {
                    let p = m.name(&l.user_id, None);
                    let _ =
                        d.store.pseudonym_of(&l.user_id, &crate::dashboard::pseudonym::pseudonym(&d.key, &l.user_id));
                    p
                }
                None => l.user_id.clone(),
            };
            json!({ "user_id": name, "score": l.score, "alerts": l.alerts, "red": l.red })
        })
        .collect())
}

pub(super) async fn risk(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    if let Err(r) = audit(&d, &v, "view risk ranking", "") {
        return r;
    }
    match ranking(&d, &v, 20) {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
pub(super) struct Days {
    days: Option<u32>,
}

pub(super) async fn charts(State(d): D, v: Viewer, q: Query<Days>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let days = q.days.unwrap_or(30).clamp(1, 3_650);
    if let Err(r) = audit(&d, &v, "view charts", &format!("{days} days")) {
        return r;
    }
    let since = Timestamp::now() - Span::days(days as i64);
    let (by_day, by_rule) = match d.store.charts(&v.scope, since) {
        Ok(c) => c,
        Err(e) => return server_error(e),
    };
    let top = match ranking(&d, &v, 10) {
        Ok(t) => t,
        Err(r) => return r,
    };
    Json(json!({
        "days": days,
        "by_day": by_day,
        "by_rule": by_rule.into_iter().map(|(rule, n)| json!({"rule": rule, "n": n})).collect::<Vec<_>>(),
        "top_risk": top,
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct Since {
    hours: Option<u32>,
}

fn gather(d: &Dashboard, v: &Viewer, hours: u32) -> Result<crate::dashboard::briefing::Briefing, Response> {
    crate::dashboard::briefing::Briefing::gather(d, v, hours).map_err(server_error)
}

pub(super) async fn briefing(State(d): D, v: Viewer, q: Query<Since>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let hours = q.hours.unwrap_or(24).clamp(1, 24 * 31);
    if let Err(r) = audit(&d, &v, "view briefing", &format!("{hours} hours")) {
        return r;
    }
    match gather(&d, &v, hours) {
        Ok(b) => Json(b).into_response(),
        Err(r) => r,
    }
}

pub(super) async fn briefing_page(State(d): D, v: Viewer, q: Query<Since>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let hours = q.hours.unwrap_or(24).clamp(1, 24 * 31);
    if let Err(r) = audit(&d, &v, "view briefing", &format!("{hours} hours")) {
        return r;
    }
    match gather(&d, &v, hours) {
        Ok(b) => Html(b.html()).into_response(),
        Err(r) => r,
    }
}

/// New and updated alerts as Server-Sent Events, within scope; the stream ends when
/// its session does (sign-out, a new sign-in, expiry).
pub(super) async fn stream(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Some(held) = d.streams.open(&v.user) else {
        let why =
            format!("{} live streams are open for this account already", super::super::state::LiveStreams::PER_ACCOUNT);
        return refuse(StatusCode::TOO_MANY_REQUESTS, &why);
    };
    if let Err(r) = audit(&d, &v, "open the live stream", "") {
        return r;
    }
    let mut rx = d.feed.subscribe();
    let mut endings = d.sessions.endings();
    let s = async_stream(move |tx| async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tokio::select! {
                item = rx.recv() => match item {
                    Ok(row) if v.scope.allows_alert(&row.alert, row.operations) => {
                        let mut json = String::new();
                        d.shown(&v, row.alert.clone()).write_json(&mut json);
                        if tx.send(Ok::<_, std::convert::Infallible>(Event::default().event("alert").data(json))).await.is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                ended = endings.recv() => {
                    if v.session.as_ref().is_some_and(|s| ended.as_ref().is_ok_and(|e| e == s)) {
                        break;
                    }
                }
                _ = tick.tick() => {
                    // An expired session ends its stream too, and so does a client gone
                    // (its slot among the account's streams is given back).
                    if tx.is_closed() || v.session.as_ref().is_some_and(|s| !d.sessions.is_open(s)) {
                        break;
                    }
                }
            }
        }
        let _ = d.store.audit(&v.user, v.role.as_str(), "close the live stream", "");
        drop(held);
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
