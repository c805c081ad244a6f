//! Triage (acknowledge, escalate, note, assign, close) with four eyes on closure, and
//! reveals of the identities behind pseudonyms.

use super::common::{audit, audit_marked, server_error, D, VIEWERS};
use crate::dashboard::auth::Viewer;
use crate::dashboard::auth::{refuse, Role};
use crate::dashboard::state::Dashboard;
use crate::dashboard::store::Status;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(serde::Deserialize)]
pub(super) struct Triage {
    action: String,
    assignee: Option<String>,
    outcome: Option<String>,
    note: Option<String>,
}

pub(super) async fn triage(
    State(d): D,
    v: Viewer,
    Path(id): Path<String>,
    body: Result<Json<Triage>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(Json(t)) = body else {
        return refuse(StatusCode::BAD_REQUEST, "send {\"action\", \"assignee\"?, \"outcome\"?, \"note\"?} as JSON");
    };
    let note = t.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 4_000) {
        return refuse(StatusCode::BAD_REQUEST, "a note is at most 4,000 characters");
    }
    let _deciding = d.triage_lock.lock().unwrap_or_else(|e| e.into_inner());
    let current = match d.store.alert(&id) {
        Ok(Some(row)) if v.scope.allows_alert(&row.alert, row.operations) => row,
        Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => return server_error(e),
    };
    let keep = Status::parse(&current.status).unwrap_or(Status::New);
    let supervisor = || v.require(&[Role::Supervisor]);
    // An alert closed with an outcome, resolved by the engine, or waiting for a second
    // supervisor to approve its closure changes status only at a supervisor's hand:
    // closing is theirs, so undoing it is too.
    let settling = keep.is_closed() || keep == Status::ClosureProposed;
    if settling && matches!(t.action.as_str(), "acknowledge" | "escalate") {
        if let Err(r) = supervisor() {
            return r;
        }
    }
    let result = match t.action.as_str() {
        "acknowledge" => d.store.triage(&id, &v.user, Status::Acknowledged, None, note),
        "escalate" => d.store.triage(&id, &v.user, Status::Escalated, None, note),
        "note" if note.is_some() => d.store.triage(&id, &v.user, keep, None, note),
        "note" => return refuse(StatusCode::BAD_REQUEST, "a note needs text"),
        "assign" => {
            if let Err(r) = supervisor() {
                return r;
            }
            let assignee = t.assignee.as_deref().map(str::trim);
            let Some((a, account)) = assignee.and_then(|a| d.config.users.get_key_value(a)) else {
                return refuse(StatusCode::BAD_REQUEST, "assign to a dashboard user");
            };
            // To someone whose need-to-know holds the alert: not the officer it is
            // about, their manager, or an account not cleared for its operation (a
            // probe assigned an analyst's own alert to them).
            let theirs = crate::dashboard::scope::Scope::of(account, &d.config, d.lists.as_ref());
            let a_row = &current.alert;
            if !theirs.allows_alert(a_row, current.operations) {
                return refuse(StatusCode::BAD_REQUEST, "that user may not see this alert");
            }
            d.store.triage(&id, &v.user, Status::Assigned, Some(a.as_str()), note)
        }
        "close" => {
            if let Err(r) = supervisor() {
                return r;
            }
            let Some(outcome) =
                t.outcome.as_deref().and_then(Status::parse).filter(|s| s.is_closed() && *s != Status::Resolved)
            else {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "close with an outcome: justified, misconduct, criminal or no_further_action",
                );
            };
            // Four eyes: clearing a serious alert is a proposal until another approves.
            let cleared = matches!(outcome, Status::Justified | Status::NoFurtherAction);
            if cleared && d.config.four_eyes.contains(&current.alert.severity) {
                d.store.propose_closure(&id, &v.user, outcome, note)
            } else {
                d.store.triage(&id, &v.user, outcome, None, note)
            }
        }
        "approve_closure" | "reject_closure" => {
            if let Err(r) = supervisor() {
                return r;
            }
            let Some(p) = d.store.proposal(&id).unwrap_or_default() else {
                return refuse(StatusCode::CONFLICT, "no closure is waiting for approval");
            };
            if p.proposed_by == v.user {
                return refuse(StatusCode::FORBIDDEN, "a second person must approve a closure you proposed");
            }
            if t.action == "reject_closure" {
                d.store.triage(&id, &v.user, Status::Escalated, None, note)
            } else {
                let outcome = Status::parse(&p.outcome).unwrap_or(Status::NoFurtherAction);
                d.store.triage(&id, &v.user, outcome, None, note)
            }
        }
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "action is acknowledge, escalate, note, assign, close, approve_closure or reject_closure",
            )
        }
    };
    match result {
        Ok(Some(())) => {
            if let Err(r) = audit(&d, &v, &format!("triage {}", t.action), &id) {
                return r;
            }
            let status = d.store.alert(&id).ok().flatten().map(|r| r.status).unwrap_or_default();
            Json(json!({
                "status": status, "history": d.store.history(&id).unwrap_or_default(),
                "proposal": d.store.proposal(&id).unwrap_or_default(),
            }))
            .into_response()
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => server_error(e),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct RevealAsk {
    /// Reveal the person of this alert, for this alert only ...
    alert_id: Option<String>,
    /// ... or the person behind this pseudonym, for their whole case.
    pseudonym: Option<String>,
    reason: String,
}

/// A supervisor reveals who is behind a pseudonym, with a reason (audited); with
/// `reveal_needs_approval`, it takes effect when a second supervisor approves.
pub(super) async fn reveal(
    State(d): D,
    v: Viewer,
    body: Result<Json<RevealAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(&[Role::Supervisor]) {
        return r;
    }
    let Ok(Json(ask)) = body else {
        return refuse(StatusCode::BAD_REQUEST, "send {\"alert_id\" or \"pseudonym\", \"reason\"}");
    };
    let reason = ask.reason.trim();
    if reason.chars().count() < 10 || reason.chars().count() > 1_000 {
        return refuse(StatusCode::BAD_REQUEST, "state the reason (10 to 1,000 characters)");
    }
    let (scope, target, user) = match (&ask.alert_id, &ask.pseudonym) {
        (Some(a), None) => match d.store.alert(a) {
            Ok(Some(row)) if v.scope.allows_alert(&row.alert, row.operations) => {
                ("alert", a.clone(), row.alert.user_id.to_string())
            }
            Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such alert"),
            Err(e) => return server_error(e),
        },
        // Need-to-know as for the officer's alerts: no one reveals themselves, their
        // manager or (uncleared) the ACU by pseudonym either.
        (None, Some(p)) => match d.store.user_of(p) {
            Ok(Some(u)) if v.scope.allows(&u, unit_of(&d, &u), false) => ("user", u.clone(), u),
            Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such pseudonym"),
            Err(e) => return server_error(e),
        },
        _ => return refuse(StatusCode::BAD_REQUEST, "give alert_id or pseudonym, not both"),
    };
    let approved = !d.config.reveal_needs_approval;
    let id = match d.store.request_reveal(scope, &target, &user, reason, &v.user, approved) {
        Ok(id) => id,
        Err(e) => return server_error(e),
    };
    let what = if approved { "reveal identity" } else { "request to reveal identity" };
    // The reason may name the operation: marked for auditors cleared for operations.
    let restricted = reveal_scope(&d, &v, scope, &target, &user, &v.user) == Some(true);
    if let Err(r) = audit_marked(&d, &v, what, &format!("{scope} {target}: {reason}"), restricted) {
        return r;
    }
    Json(json!({ "id": id, "approved": approved, "user_id": user })).into_response()
}

/// Whether the viewer may see a reveal: its alert, or its officer's alerts, are in
/// their scope; `Some(true)` when it may speak of an operation: of an operation's
/// alert, or by pseudonym asked by an account cleared for operations (its reason may
/// name the one the officer was found through: a review).
fn reveal_scope(d: &Dashboard, v: &Viewer, scope: &str, target: &str, user: &str, asker: &str) -> Option<bool> {
    let ops = match scope {
        "alert" => {
            let row = d.store.alert(target).ok()??;
            if !v.scope.allows_alert(&row.alert, row.operations) {
                return None;
            }
            row.operations
        }
        _ => {
            if !v.scope.allows(user, unit_of(d, user), false) {
                return None;
            }
            d.config.users.get(asker).is_some_and(|a| a.operations)
        }
    };
    (v.scope.operations || !ops).then_some(ops)
}

fn unit_of<'a>(d: &'a Dashboard, user: &str) -> Option<&'a str> {
    d.lists.as_ref()?.staff_member(&user.to_ascii_uppercase())?.unit.as_deref()
}

pub(super) async fn approve_reveal(State(d): D, v: Viewer, Path(id): Path<i64>) -> Response {
    if let Err(r) = v.require(&[Role::Supervisor]) {
        return r;
    }
    // One the approver may not see (of an operation's alert uncleared, or about
    // themselves) does not exist for them (a probe approved both).
    let asked = match d.store.reveals() {
        Ok(all) => all.into_iter().find(|r| r.id == id),
        Err(e) => return server_error(e),
    };
    let Some(restricted) = asked.and_then(|r| reveal_scope(&d, &v, &r.scope, &r.target, &r.user_id, &r.requested_by))
    else {
        return refuse(StatusCode::NOT_FOUND, "no such reveal");
    };
    match d.store.approve_reveal(id, &v.user) {
        Ok(true) => match audit_marked(&d, &v, "approve reveal", &id.to_string(), restricted) {
            Ok(()) => Json(json!({ "id": id, "approved": true })).into_response(),
            Err(r) => r,
        },
        Ok(false) => refuse(StatusCode::CONFLICT, "no reveal waiting that another supervisor asked for"),
        Err(e) => server_error(e),
    }
}

pub(super) async fn reveals(State(d): D, v: Viewer) -> Response {
    if let Err(r) = v.require(&[Role::Supervisor]) {
        return r;
    }
    if let Err(r) = audit(&d, &v, "view reveals", "") {
        return r;
    }
    // Each as the viewer's need-to-know allows (a probe read every reveal's reason:
    // an operation's name, a case against an officer).
    match d.store.reveals() {
        Ok(list) => {
            let shown: Vec<_> = list
                .into_iter()
                .filter(|r| reveal_scope(&d, &v, &r.scope, &r.target, &r.user_id, &r.requested_by).is_some())
                .collect();
            Json(shown).into_response()
        }
        Err(e) => server_error(e),
    }
}
