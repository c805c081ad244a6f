//! The explanation an access takes from the subject's own records: the custody record
//! of the person held, the case team of a high-profile entry, a live operation's team.

use super::staff::{works_at_suite, Staffing};
use super::{known_in_time, Access, Explanation};
use crate::config::ExplanationConfig;
use crate::event::{Action, SubjectType};
use crate::time::Timestamp;
use crate::watchlist::{Matches, RowId, WatchLists};

/// The explanation from the subject's own records, if any: a custody record of the
/// person held (its officers, or the suite's staff), a high-profile entry's case team,
/// a live operation's team; the first found, in that order. Where one row is surely
/// the subject (record id, name and date of birth), a row matched by name alone is
/// likely another person and explains nothing (a probe: an officer on a `MATE, D`
/// custody looked up another Mate in custody by PNC id unseen). Surely the subject
/// and current: a custody record of two years ago matched by id does not make the
/// current `MATE, Dave` custody of the officer's own another person's (a review).
pub(super) fn subject_explanation<'e, 'a>(
    a: &Access<'e, 'a>,
    lists: &'a WatchLists,
    config: &ExplanationConfig,
) -> Option<Explanation<'a>> {
    let e = a.event;
    let ts = e.ts;
    let known = |r: Option<Timestamp>| known_in_time(r, ts, config);
    let m = a.matches;
    let sure = surely_the_subject_now(a, lists, config);
    let rows = |matches: &'e Matches| matches.iter().filter(move |(_, s)| !(sure && s.is_weak()));
    for &(id, _) in rows(&m.custody) {
        let Some(record) = lists.custody.get(id) else { continue };
        if !known(record.recorded_at) || ts < record.arrested_at - config.before_open {
            continue;
        }
        let released = record.released_at;
        if record.officers.contains(&e.user_id) && released.is_none_or(|r| ts <= r + config.after_close) {
            return Some(Explanation::Custody { record, by_suite: false, force_wide: false, custody_work: true });
        }
        if released.is_none_or(|r| ts <= r + config.custody_staff_after) {
            if let Some(staffing) = works_at_suite(a.user, record, ts, config) {
                let force_wide = staffing == Staffing::ForceWide;
                let custody_work = ts >= record.arrested_at
                    && (e.subject_type == SubjectType::Custody
                        || (released.is_none_or(|r| ts <= r)
                            && !matches!(e.action, Action::Print | Action::Export)
                            && (config.custody_work_systems.is_empty()
                                || config.custody_work_systems.contains(&e.system))));
                return Some(Explanation::Custody { record, by_suite: true, force_wide, custody_work });
            }
        }
    }
    for &(id, _) in rows(&m.high_profile) {
        let Some(entry) = lists.high_profile.get(id) else { continue };
        if known(entry.recorded_at) && entry.case_team.contains(&e.user_id) && entry.expires_at.is_none_or(|x| ts < x) {
            return Some(Explanation::CaseTeam(entry));
        }
    }
    for &(id, _) in rows(&m.operations) {
        let Some(op) = lists.operations.get(id) else { continue };
        if known(op.recorded_at) && op.team.contains(&e.user_id) && op.is_live_at(ts) {
            return Some(Explanation::Operation(op));
        }
    }
    None
}

/// Whether a row that applies at the access (a custody record from its opening to its
/// closing's margins, a high-profile entry known and not expired, an operation live)
/// matches the subject surely: by record id, name and date of birth, VRM or postcode.
fn surely_the_subject_now(a: &Access, lists: &WatchLists, config: &ExplanationConfig) -> bool {
    let ts = a.event.ts;
    let known = |r: Option<Timestamp>| known_in_time(r, ts, config);
    let any = |m: &Matches, applies: &dyn Fn(RowId) -> bool| m.iter().any(|&(id, s)| !s.is_weak() && applies(id));
    let after = config.after_close.max(config.custody_staff_after);
    any(&a.matches.custody, &|id| {
        lists.custody.get(id).is_some_and(|r| {
            known(r.recorded_at)
                && ts >= r.arrested_at - config.before_open
                && r.released_at.is_none_or(|x| ts <= x + after)
        })
    }) || any(&a.matches.high_profile, &|id| {
        lists.high_profile.get(id).is_some_and(|e| known(e.recorded_at) && e.expires_at.is_none_or(|x| ts < x))
    }) || any(&a.matches.operations, &|id| {
        lists.operations.get(id).is_some_and(|o| known(o.recorded_at) && o.is_live_at(ts))
    })
}
