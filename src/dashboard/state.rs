//! The dashboard's shared state: its configuration, the store, sessions, the sign-in
//! guard, the live feed, and what drill-downs read (the archive, the watch lists).

use super::auth::{Sessions, Viewer};
use super::pseudonym::Masker;
use super::signin::{PasswordPool, Throttle};
use super::store::{audit::Verdict, Row, Store};
use crate::alert::Alert;
use crate::config::{Config, DashboardConfig, ExplanationConfig};
use crate::live::LiveError;
use crate::metrics::Metrics;
use crate::time::Span;
use crate::watchlist::WatchLists;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The dashboard's shared state.
pub struct Dashboard {
    pub config: DashboardConfig,
    pub store: Store,
    pub sessions: Sessions,
    pub throttle: Throttle,
    pub passwords: PasswordPool,
    /// New and updated alerts (with their need-to-know marks), for the live stream.
    pub feed: tokio::sync::broadcast::Sender<Arc<Row>>,
    /// The evidence archive, for timelines, subject histories and evidence.
    pub archive: Option<PathBuf>,
    pub risk_half_life: Span,
    /// The watch lists of `watchlists_dir`, loaded at start, to judge each access in a
    /// timeline or subject history as the rules do, to find accesses to live
    /// operations' subjects, and to know the staff (scope, pseudonyms).
    pub lists: Option<WatchLists>,
    /// The staff ids alert sentences cannot be scanned for word by word.
    pub odd_staff_ids: super::pseudonym::OddIds,
    pub explanation: ExplanationConfig,
    /// The pseudonym key (kept in the database, so pseudonyms survive restarts).
    pub key: Vec<u8>,
    pub metrics: Arc<Metrics>,
    /// Held from reading an alert's status to writing the new one, so that a change
    /// is decided on the status it replaces (an analyst's acknowledgement racing a
    /// supervisor's closure must not reopen the alert).
    pub triage_lock: std::sync::Mutex<()>,
    /// The live streams each account has open.
    pub streams: LiveStreams,
}

/// The live streams open per account, bounded: each holds a connection and a task, and
/// writes two rows of the audit trail, so one account (behind a proxy, whose address
/// the per-address bound spares) could otherwise hold every connection the process may
/// open.
#[derive(Default)]
pub struct LiveStreams(crate::http::PerKey<String>);

/// One open live stream, given back when dropped.
pub type LiveStream = crate::http::Held<String>;

impl LiveStreams {
    /// Live streams one account may have open at once (a few tabs and screens).
    pub const PER_ACCOUNT: usize = 8;

    /// A stream for `user`, unless they have [`Self::PER_ACCOUNT`] open already.
    pub fn open(&self, user: &str) -> Option<LiveStream> {
        self.0.take(user.to_string(), Some(Self::PER_ACCOUNT))
    }
}

/// What need-to-know settings name that the staff list does not hold: an account's
/// `staff_id` (its own alerts, unit and manager would be shown to it: a probe's typo
/// `U1OO46`) or an ACU unit (its members' alerts would go to everyone).
pub fn staff_faults(config: &DashboardConfig, lists: &WatchLists) -> Option<String> {
    let mut faults = Vec::new();
    for (name, account) in &config.users {
        if let Some(id) = account.staff_id.as_deref().filter(|id| lists.staff_member(id).is_none()) {
            faults.push(format!("dashboard.users.{name}.staff_id: {id:?} is not in the staff list"));
        }
    }
    for unit in &config.acu_units {
        if !lists.staff.iter().any(|(_, _, s)| s.unit.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(unit))) {
            faults.push(format!("dashboard.acu_units: no one in the staff list is in {unit:?}"));
        }
    }
    (!faults.is_empty()).then(|| faults.join("; "))
}

impl Dashboard {
    pub fn open(config: &Config, metrics: Arc<Metrics>) -> Result<Arc<Dashboard>, LiveError> {
        let d = &config.dashboard;
        let store = Store::open(&d.db)?;
        let key = store.secret("pseudonym-key")?;
        let (feed, _) = tokio::sync::broadcast::channel(1_024);
        let mut dc = d.clone();
        if dc.watchlists_dir.is_none() {
            dc.watchlists_dir = config.live.watchlists_dir.clone();
        }
        // Need-to-know reads the staff list (units, line managers) and the operations:
        // watch lists that are configured but unreadable stop the dashboard rather than
        // open it with those rules silently off.
        let lists = match dc.watchlists_dir.as_deref() {
            None => None,
            Some(dir) => Some(crate::watchlist::load_dir(dir).map(|(lists, _)| lists)?),
        };
        // Said loudly, not refused: a staff list updated for a leaver must not lock the
        // unit out of its dashboard (check-config refuses it, with --watchlists).
        if let Some(fault) = lists.as_ref().and_then(|l| staff_faults(&dc, l)) {
            tracing::error!("need-to-know names what the staff list does not hold: {fault}");
        }
        if lists.is_none() && (dc.hide_own_unit || !dc.acu_units.is_empty()) {
            return Err(LiveError::Config(
                "dashboard.hide_own_unit and dashboard.acu_units need the staff list: set dashboard.watchlists_dir (or live.watchlists_dir)".into(),
            ));
        }
        if lists.is_none() && !dc.pseudonymous_roles.is_empty() {
            // Each alert's own user is masked all the same; the others a sentence names
            // (a subject spike's other users) are known as staff only from the list.
            tracing::warn!(
                "dashboard.pseudonymous_roles without the staff list: other officers named in alert sentences are shown by id to those roles; set dashboard.watchlists_dir (or live.watchlists_dir)"
            );
        }
        let secs = |s: Span| Duration::from_millis(s.0.max(0) as u64);
        Ok(Arc::new(Dashboard {
            sessions: Sessions::new(secs(dc.session_lifetime), secs(dc.session_idle)),
            throttle: Throttle::new(dc.login_max_failures, secs(dc.login_lockout)),
            passwords: PasswordPool::new(dc.password_workers),
            odd_staff_ids: super::pseudonym::OddIds::of(
                lists.iter().flat_map(|l| l.staff.iter().map(|(_, user_id, _)| user_id)),
            ),
            lists,
            explanation: config.explanation.clone(),
            config: dc,
            store,
            feed,
            archive: config.archive.dir.clone(),
            risk_half_life: config.risk.half_life,
            key,
            metrics,
            triage_lock: std::sync::Mutex::new(()),
            streams: LiveStreams::default(),
        }))
    }

    /// Takes a raised or updated alert: stored (with its need-to-know marks), then
    /// pushed to the open boards allowed to see it.
    pub fn observe(&self, alert: &Alert) -> Result<(), LiveError> {
        self.observe_from(alert, None)
    }

    /// As [`Dashboard::observe`], with where on the alert topic it was read (stored in
    /// the same transaction: see [`Store::upsert_alert_from`]).
    pub fn observe_from(&self, alert: &Alert, read: Option<(&str, i32, i64)>) -> Result<(), LiveError> {
        let row = self.store.upsert_alert_from(alert, read)?;
        let _ = self.feed.send(Arc::new(row));
        Ok(())
    }

    /// Whether `user_id` is a member of staff the lists know.
    pub fn is_staff(&self, user_id: &str) -> bool {
        // A sentence stored before ids were folded may write one in lower case.
        self.lists.as_ref().is_some_and(|l| l.staff_member(&user_id.to_ascii_uppercase()).is_some())
    }

    /// How the viewer sees members of staff, if as pseudonyms.
    pub fn masker(&self, v: &Viewer) -> Option<Masker<'_>> {
        if !v.pseudonymous {
            return None;
        }
        let mut m = Masker { key: &self.key, alerts: Default::default(), users: Default::default() };
        for r in self.store.reveals().unwrap_or_default().into_iter().filter(|r| r.approved_by.is_some()) {
            match r.scope.as_str() {
                "user" => m.users.insert(r.user_id),
                _ => m.alerts.insert((r.target, r.user_id)),
            };
        }
        Some(m)
    }

    /// An alert as the viewer sees it. The engine's running risk (`user_risk`) sums
    /// every alert of the user, those on operations included: only accounts cleared
    /// for operations see it (the ranking is computed within each viewer's scope).
    pub fn shown(&self, v: &Viewer, alert: Alert) -> Alert {
        self.shown_as(v, alert, false)
    }

    /// As [`Dashboard::shown`]; `by_pseudonym` when the viewer asked for alerts by a
    /// pseudonym: then a reveal for one alert does not show its user (it would tie the
    /// pseudonym to the person), only a reveal of the person does.
    pub fn shown_as(&self, v: &Viewer, mut alert: Alert, by_pseudonym: bool) -> Alert {
        if !v.scope.operations {
            alert.user_risk = None;
        }
        let masker = self.masker(v).map(|mut m| {
            if by_pseudonym {
                m.alerts.clear();
            }
            m
        });
        match masker {
            None => alert,
            Some(m) => {
                // Each pseudonym shown can be asked about (a timeline, a reveal): a spike's
                // other users too.
                for user in std::iter::once(&alert.user_id).chain(&alert.other_users) {
                    let _ = self.store.pseudonym_of(user, &super::pseudonym::pseudonym(&self.key, user));
                }
                let tied = !m.revealed(&alert.user_id, Some(&alert.alert_id)) && self.tied_to_user(&alert);
                m.alert(alert, &|t| self.is_staff(t), &self.odd_staff_ids, tied)
            }
        }
    }

    /// Whether an alert's subject is tied to its user's own life (their record,
    /// associates, home, a colleague), judged from what the alert says of its access.
    fn tied_to_user(&self, a: &Alert) -> bool {
        let Some(lists) = &self.lists else { return false };
        let access = crate::event::AccessEvent {
            event_id: a.event_ids.first().cloned().unwrap_or_default(),
            ts: a.event_ts,
            system: a.system.clone(),
            user_id: a.user_id.clone(),
            action: a.action,
            subject_type: a.subject.subject_type,
            subject_id: a.subject.subject_id.clone(),
            subject_name: a.subject.subject_name.clone(),
            subject_dob: a.subject.subject_dob,
            subject_postcode: a.subject.subject_postcode.clone(),
            subject_vrm: a.subject.subject_vrm.clone(),
            subject_sex: a.subject.subject_sex,
            query: None,
            result_count: None,
            reason_code: None,
            reference: None,
            force: None,
            terminal: None,
            session_id: None,
            extra: None,
        };
        let ctx = crate::enrich::enrich(&access, lists, &self.explanation);
        crate::detect::personal::ties_to_user(&ctx, lists)
    }

    /// The user id a viewer means: a pseudonym they were shown, or an id.
    pub fn user_meant(&self, v: &Viewer, name: &str) -> Option<String> {
        if name.starts_with("Officer ") {
            return self.store.user_of(name).ok().flatten();
        }
        // An analyst names people only by the pseudonyms shown to them. Ids are kept
        // upper-cased, as the engine folds them.
        (!v.pseudonymous).then(|| name.to_ascii_uppercase())
    }

    /// Checks the audit chain and publishes its anchor: the head hash and the row count,
    /// in the log and the metrics, for a copy kept elsewhere.
    pub fn anchor_audit(&self) {
        match self.store.verify_audit() {
            Ok(Verdict::Intact { rows, head, .. }) => {
                tracing::info!(rows, head = %head, "audit trail anchor: the chain is intact; keep this head to prove nothing before it is rewritten");
                self.metrics.audit_rows.set(rows as i64);
                self.metrics.audit_anchor.reset();
                self.metrics.audit_anchor.with_label_values(&[&head]).set(rows as i64);
            }
            Ok(Verdict::Broken { id, why, .. }) => {
                tracing::error!(row = id, %why, "audit trail is broken: it has been changed outside the dashboard");
                self.metrics.audit_broken.set(1);
            }
            Err(e) => tracing::error!(error = %e, "audit trail could not be checked"),
        }
    }
}
