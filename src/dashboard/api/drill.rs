//! Drill-downs: one alert with its evidence and watch-list entry, a user's timeline,
//! and a subject's access history, each within the viewer's scope: an access that
//! touched a live operation's subject, or that cites an operation, is not shown to an
//! account not cleared for operations, and no one sees their own.

use super::common::{audit, audit_marked, blocking, server_error, D, VIEWERS};
use crate::alert::Alert;
use crate::archive::columns::StoredEvent;
use crate::dashboard::auth::refuse;
use crate::dashboard::auth::Viewer;
use crate::dashboard::pseudonym::Masker;
use crate::dashboard::state::Dashboard;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::collections::HashSet;

/// Whether an archived access touched a live operation: it raised (or is evidence of)
/// an operation's alert, the engine explained it by an operation's team when it
/// archived it, its subject is a live operation's subject, or its reference names a
/// live operation. The first two hold for an operation the dashboard's watch lists do
/// not know (added on its topic while the engine runs, or a dashboard without watch
/// lists): a probe read a briefed team's look-ups, and the operation's name, as an
/// uncleared analyst.
fn touches_operation(d: &Dashboard, s: &StoredEvent, marked: &HashSet<String>) -> bool {
    let e = &s.event;
    let by_team = s.from.explained.as_ref().is_some_and(|x| {
        x.kind == crate::event::explained::Kind::Operation || x.of == Some(crate::event::explained::Kind::Operation)
    });
    if by_team || marked.contains(e.event_id.as_str()) {
        return true;
    }
    let Some(lists) = &d.lists else { return false };
    let person = crate::watchlist::PersonIdentity::new(e.subject_id.clone(), e.subject_name.clone(), e.subject_dob);
    let vrm = e.vrm_key();
    let postcode = e.subject_postcode.as_deref().and_then(crate::event::normalise::postcode);
    let mut found = crate::explain::SubjectMatches::default().named_in(lists, e.reference.as_deref());
    lists.operation_matches(&person, &person.keys(), vrm.as_deref(), postcode.as_deref(), &mut found.operations);
    crate::explain::touches_operation(lists, e.ts, &found)
}

/// Whether a subject searched for is an operation's subject (live or not, as the
/// watch lists match a person, a VRM or a postcode): a cleared account's search for
/// one is audited with its target for auditors cleared for operations only. An
/// uncleared account's searches are never marked: the mark would tell them, or an
/// uncleared auditor reading their searches, which names are operations' subjects.
fn names_an_operations_subject(d: &Dashboard, ask: &SubjectAsk, subject: &crate::hunt::Subject) -> bool {
    let Some(lists) = &d.lists else { return false };
    let id = ask.subject_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(Into::into);
    let name = ask.name.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(Into::into);
    let person = crate::watchlist::PersonIdentity::new(id, name, subject.dob);
    let mut found = crate::watchlist::Matches::new();
    lists.operation_matches(&person, &person.keys(), subject.vrm.as_deref(), subject.postcode.as_deref(), &mut found);
    !found.is_empty()
}

/// Whether the viewer may see an archived access.
fn visible_access(d: &Dashboard, v: &Viewer, s: &StoredEvent, marked: &HashSet<String>) -> bool {
    let unit = d.lists.as_ref().and_then(|l| l.staff_member(&s.event.user_id)).and_then(|m| m.unit.as_deref());
    let ops = !v.scope.operations && touches_operation(d, s, marked);
    v.scope.allows_access(&s.event.user_id, unit, ops)
}

/// The fields of an access that say nothing of its subject.
const NOT_THE_SUBJECT: [&str; 12] = [
    "event_id",
    "ts",
    "system",
    "user_id",
    "action",
    "subject_type",
    "result_count",
    "reason_code",
    "reference",
    "force",
    "terminal",
    "session_id",
];

/// Whether a pseudonymous viewer must not see this access's subject beside its user:
/// the user is not revealed to them and the subject is tied to the user's own life
/// (their record, associates, home, a colleague), so the two together name the officer.
fn personal_to_hidden_user(d: &Dashboard, m: &Masker, e: &crate::event::AccessEvent) -> bool {
    !m.revealed(&e.user_id, None)
        && d.lists
            .as_ref()
            .is_some_and(|l| crate::detect::personal::ties_to_user(&crate::enrich::enrich(e, l, &d.explanation), l))
}

/// Accesses as JSON, each with its explanation (`explained`, and `explanation` in
/// words): as the engine recorded it in the archive, else as the watch lists give it
/// now (without the memory of earlier accesses); their users as the viewer sees them,
/// and the subject of one tied to its hidden user's own life left out. In an alert's
/// detail (`alert`), a user revealed for that alert is shown as the alert shows them:
/// a pseudonym beside the revealed id would tie the two everywhere.
fn access_json(d: &Dashboard, v: &Viewer, stored: &[&StoredEvent], alert: Option<&str>) -> Vec<serde_json::Value> {
    let masker = d.masker(v);
    stored
        .iter()
        .map(|s| {
            let mut line = String::new();
            s.event.write_json(&mut line);
            let mut out: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            match (&s.from.explained, &d.lists) {
                (Some(recorded), _) => {
                    out["explained"] = true.into();
                    out["explanation"] = recorded.describe().into();
                }
                (None, Some(lists)) => {
                    let ctx = crate::enrich::enrich(&s.event, lists, &d.explanation);
                    let recorded = ctx.explanation.recorded();
                    out["explained"] = recorded.is_some().into();
                    out["explanation"] = match recorded {
                        Some(r) => r.describe(),
                        None => format!("unexplained: {}", ctx.justification.why_not()),
                    }
                    .into();
                }
                (None, None) => {}
            }
            if let Some(m) = &masker {
                let _ = d
                    .store
                    .pseudonym_of(&s.event.user_id, &crate::dashboard::pseudonym::pseudonym(&d.key, &s.event.user_id));
                out["user_id"] = m.name(&s.event.user_id, alert).into();
                // What the officer's own system wrote beside the pseudonym may name
                // them: a terminal (`WS-JONES-U10184`), a session, a source's own
                // fields (`operator`). Withheld while the officer is (a probe read
                // them all beside the masked id).
                if !m.revealed(&s.event.user_id, alert) {
                    if let Some(fields) = out.as_object_mut() {
                        let before = fields.len();
                        fields.retain(|k, _| {
                            k.starts_with("explan")
                                || (crate::event::Field::from_name(k).is_some()
                                    && !matches!(k.as_str(), "terminal" | "session_id"))
                        });
                        if fields.len() < before {
                            fields.insert(
                                "fields_withheld".into(),
                                "the terminal, session and source's own fields, which may name the officer".into(),
                            );
                        }
                    }
                }
                if personal_to_hidden_user(d, m, &s.event) {
                    if let Some(fields) = out.as_object_mut() {
                        fields.retain(|k, _| NOT_THE_SUBJECT.contains(&k.as_str()) || k.starts_with("explan"));
                        fields.insert(
                            "subject_hidden".into(),
                            "the record touches the officer's own life (a supervisor can reveal the officer)".into(),
                        );
                    }
                }
            }
            out
        })
        .collect()
}

/// The operation marks of these accesses' event ids.
fn marks(d: &Dashboard, stored: &[StoredEvent]) -> HashSet<String> {
    let ids: Vec<&str> = stored.iter().map(|s| s.event.event_id.as_str()).collect();
    d.store.operation_events(&ids).unwrap_or_default()
}

pub(super) async fn alert(State(d): D, v: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let row = match d.store.alert(&id) {
        Ok(Some(row)) if v.scope.allows_alert(&row.alert, row.operations) => row,
        // An alert the viewer may not see does not exist for them.
        Ok(_) => return refuse(StatusCode::NOT_FOUND, "no such alert"),
        Err(e) => return server_error(e),
    };
    if let Err(r) = audit(&d, &v, "view alert", &id) {
        return r;
    }
    let history = d.store.history(&id).unwrap_or_default();
    let proposal = d.store.proposal(&id).unwrap_or_default();
    let (archive, lists) = (d.archive.clone(), d.config.watchlists_dir.clone());
    let alert: Alert = row.alert.clone();
    let (events, entry) = blocking(move || {
        let events = archive.as_deref().and_then(|a| {
            let hunt = crate::hunt::Hunt::open(a, None).ok()?;
            let ids: Vec<&str> = alert.event_ids.iter().map(|e| &**e).collect();
            hunt.events_by_id(&ids).ok().map(|found| crate::evidence::evidence_of(&alert, found).0)
        });
        let entry = match (&lists, &alert.watchlist) {
            (Some(dir), Some(w)) => crate::evidence::watchlist_rows(dir, w.list, &w.key).unwrap_or_default(),
            _ => Vec::new(),
        };
        (events, entry)
    })
    .await
    .unwrap_or((None, Vec::new()));
    let events = events.map(|es| {
        let marked = marks(&d, &es);
        let shown: Vec<&StoredEvent> = es.iter().filter(|s| visible_access(&d, &v, s, &marked)).collect();
        access_json(&d, &v, &shown, Some(&id))
    });
    // The entry names people; an analyst sees it only once the identity is revealed.
    let masked = d.masker(&v).is_some_and(|m| !m.revealed(&row.alert.user_id, Some(&id)));
    let entry = if masked { Vec::new() } else { entry };
    Json(json!({
        "alert": d.shown(&v, row.alert), "status": row.status, "assignee": row.assignee, "history": history,
        "proposal": proposal, "events": events, "watchlist_rows": entry,
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
    crate::hunt::TimeRange::between(t(from)?, t(to)?).map_err(|e| refuse(StatusCode::BAD_REQUEST, &e))
}

#[derive(serde::Deserialize)]
pub(super) struct TimelineAsk {
    user_id: String,
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn timeline(
    State(d): D,
    v: Viewer,
    body: Result<Json<TimelineAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(Json(ask)) = body else { return refuse(StatusCode::BAD_REQUEST, "send {\"user_id\", \"from\"?, \"to\"?}") };
    if ask.user_id.trim().is_empty() || ask.user_id.len() > 128 {
        return refuse(StatusCode::BAD_REQUEST, "user_id is required");
    }
    let range = match parse_range(ask.from.as_deref(), ask.to.as_deref()) {
        Ok(r) => r,
        Err(r) => return r,
    };
    // Someone the viewer may not look at has no timeline for them.
    let unit = |u: &str| {
        let member = d.lists.as_ref().and_then(|l| l.staff_member(&u.to_ascii_uppercase()));
        member.and_then(|m| m.unit.clone())
    };
    let Some(user) = d.user_meant(&v, ask.user_id.trim()).filter(|u| v.scope.allows(u, unit(u).as_deref(), false))
    else {
        return refuse(StatusCode::NOT_FOUND, "no such user");
    };
    if let Err(r) = audit(&d, &v, "view timeline", &ask.user_id) {
        return r;
    }
    // One person's alerts side by side under their pseudonym: an alert revealed on its
    // own names the person, so it and its accesses are left out (by its id or events
    // it would tie the two); a reveal of the person shows everything.
    let masker = d.masker(&v);
    let revealed_alone = |a: &Alert| {
        masker.as_ref().is_some_and(|m| m.revealed(&a.user_id, Some(&a.alert_id)) && !m.revealed(&a.user_id, None))
    };
    // Withheld: every alert revealed alone, whatever the range asked, and every alert
    // sharing an access with one withheld (its sentence or events would name it), until
    // none is left to add.
    let all: Vec<Alert> = d.store.alerts_of(&user, &v.scope).unwrap_or_default().into_iter().map(|r| r.alert).collect();
    let mut held: Vec<bool> = all.iter().map(|a| revealed_alone(a)).collect();
    let mut withheld: std::collections::HashSet<compact_str::CompactString> = Default::default();
    loop {
        let before = withheld.len();
        for (a, h) in all.iter().zip(held.iter_mut()) {
            *h = *h || a.event_ids.iter().any(|e| withheld.contains(e));
            if *h {
                withheld.extend(a.event_ids.iter().cloned());
            }
        }
        if withheld.len() == before {
            break;
        }
    }
    let alerts: Vec<Alert> = all
        .into_iter()
        .zip(held)
        .filter(|(_, h)| !h)
        .map(|(a, _)| a)
        .filter(|a| range.from.is_none_or(|f| a.event_ts >= f) && range.to.is_none_or(|t| a.event_ts < t))
        .map(|a| d.shown_as(&v, a, true))
        .collect();
    let archive = d.archive.clone();
    let who = user.clone();
    let accesses = blocking(move || {
        let a = archive?;
        let hunt = crate::hunt::Hunt::open(&a, None).ok()?;
        let found = hunt.user_activity(&who, &range).ok()?;
        Some((found, hunt.unread().len()))
    })
    .await
    .ok()
    .flatten();
    // Archive files that could not be read are left out of the accesses: said.
    let incomplete = accesses.as_ref().map_or(0, |(_, unread)| *unread);
    let accesses = accesses.map(|(all, _)| {
        let marked = marks(&d, &all);
        let shown: Vec<&StoredEvent> = all
            .iter()
            .filter(|s| visible_access(&d, &v, s, &marked) && !withheld.contains(&s.event.event_id))
            .collect();
        access_json(&d, &v, &shown, None)
    });
    let name = masker.as_ref().map_or(user.clone(), |m| m.name(&user, None));
    let mut body = json!({ "user_id": name, "alerts": alerts, "accesses": accesses });
    if incomplete > 0 {
        body["incomplete"] = incomplete.into();
    }
    Json(body).into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct SubjectAsk {
    subject_id: Option<String>,
    name: Option<String>,
    dob: Option<String>,
    vrm: Option<String>,
    postcode: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub(super) async fn subject(
    State(d): D,
    v: Viewer,
    body: Result<Json<SubjectAsk>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(r) = v.require(VIEWERS) {
        return r;
    }
    let Ok(Json(ask)) = body else { return refuse(StatusCode::BAD_REQUEST, "send the subject as JSON") };
    let mut subject = match crate::hunt::Subject::parse(
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
    // The custody records they were held under, opened by number, as `who-accessed`.
    if let Some(lists) = &d.lists {
        subject.add_custody_records(lists);
    }
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
    let named = v.scope.operations && names_an_operations_subject(&d, &ask, &subject);
    let found = blocking(move || {
        let hunt = crate::hunt::Hunt::open(&archive, None)?;
        let accesses = hunt.who_accessed(&subject, &range)?;
        Ok::<_, crate::hunt::HuntError>((accesses, hunt.unread().len()))
    })
    .await;
    match found {
        Ok(Ok((accesses, unread))) => {
            let stored: Vec<StoredEvent> = accesses.iter().map(|a| a.stored.clone()).collect();
            let marked = marks(&d, &stored);
            // Audited once the answer is known, before it is given: a subject whose
            // accesses touched an operation is one, whether the watch lists here know
            // the operation or not.
            let restricted =
                v.scope.operations && (named || accesses.iter().any(|a| touches_operation(&d, &a.stored, &marked)));
            if let Err(r) = audit_marked(&d, &v, "view subject history", &target, restricted) {
                return r;
            }
            let visible = accesses.iter().filter(|a| visible_access(&d, &v, &a.stored, &marked));
            // The viewer named the subject: an access of a hidden officer to whom the
            // record is personal would name the officer by any of its fields (its id,
            // time or session link it to their alerts), so it is only counted.
            let masker = d.masker(&v);
            // So would an access of an alert whose officer is revealed in that alert
            // alone: shown under the pseudonym, its event id ties the two.
            let revealed_alone: std::collections::HashSet<(String, String)> = masker
                .as_ref()
                .map(|m| {
                    let alone = m.alerts.iter().filter(|(_, user)| !m.revealed(user, None));
                    let rows = alone.filter_map(|(id, user)| Some((d.store.alert(id).ok()??, user)));
                    rows.flat_map(|(row, user)| {
                        row.alert.event_ids.into_iter().map(move |e| (e.to_string(), user.clone()))
                    })
                    .collect()
                })
                .unwrap_or_default();
            let personal = |a: &&crate::hunt::Access| {
                let e = &a.stored.event;
                masker.as_ref().is_some_and(|m| personal_to_hidden_user(&d, m, e))
                    || revealed_alone.contains(&(e.event_id.to_string(), e.user_id.to_string()))
            };
            let (hidden, shown): (Vec<_>, Vec<_>) = visible.partition(personal);
            let rows: Vec<serde_json::Value> = shown
                .into_iter()
                .map(|a| {
                    let mut row = access_json(&d, &v, &[&a.stored], None).remove(0);
                    row["match"] = a.how.as_str().into();
                    row
                })
                .collect();
            let mut body = json!({ "accesses": rows });
            if !hidden.is_empty() {
                body["hidden"] = json!({
                    "accesses": hidden.len(),
                    "why": "by members of staff to whom the record is personal (their own, family, home, a colleague), or of an alert whose officer was revealed for it alone; a supervisor sees them",
                });
            }
            // Archive files that could not be read are left out: said.
            if unread > 0 {
                body["incomplete"] = unread.into();
            }
            Json(body).into_response()
        }
        // A search that failed is audited all the same.
        Ok(Err(e)) => {
            audit_marked(&d, &v, "view subject history", &target, named).map_or_else(|r| r, |_| server_error(e))
        }
        Err(r) => r,
    }
}
