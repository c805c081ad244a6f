//! The generated force's watch lists as the CSV files of spec/watchlists.md, each
//! under the header [`TableName::columns`] gives, so the generator and the loader
//! cannot disagree on a column.

use super::force;
use super::world::{self, World};
use crate::time::Timestamp;
use crate::watchlist::TableName;
use std::io;
use std::path::Path;

/// A CSV file of one table: rows are given as (column, value) pairs in any order and
/// written in the table's column order; a column the table does not have is our bug.
struct TableWriter {
    table: TableName,
    out: csv::Writer<std::fs::File>,
}

impl TableWriter {
    fn create(dir: &Path, table: TableName) -> io::Result<TableWriter> {
        let mut out = csv::Writer::from_path(dir.join(format!("{}.csv", table.as_str()))).map_err(csv_err)?;
        out.write_record(table.columns()).map_err(csv_err)?;
        Ok(TableWriter { table, out })
    }

    fn row(&mut self, cells: &[(&str, &str)]) -> io::Result<()> {
        for (column, _) in cells {
            assert!(self.table.columns().contains(column), "{} has no column {column}", self.table);
        }
        let record = self.table.columns().iter().map(|c| cells.iter().find(|(k, _)| k == c).map_or("", |(_, v)| *v));
        self.out.write_record(record).map_err(csv_err)
    }

    fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn csv_err(e: csv::Error) -> io::Error {
    io::Error::other(e.to_string())
}

fn ts(t: i64) -> String {
    Timestamp(t).to_string()
}

fn users(world: &World, ids: &[u32]) -> String {
    ids.iter().map(|&s| world.force.staff[s as usize].user_id.as_str()).collect::<Vec<_>>().join(";")
}

/// An incident's victims as the `victims` column gives them: the record id, or (for
/// a person without one) the name with the date of birth.
fn victims(world: &World, people: &[u32]) -> String {
    let one = |&p: &u32| {
        let p = &world.force.people[p as usize];
        match &p.pnc_id {
            Some(id) => id.to_string(),
            None => format!("{}, {} {}", p.surname.to_uppercase(), p.forenames, p.dob),
        }
    };
    people.iter().map(one).collect::<Vec<_>>().join(";")
}

/// Writes the six tables as known at `end` (a time after it is not yet known).
pub fn write(world: &World, dir: &Path, end: i64) -> io::Result<()> {
    let person = |p: u32| {
        let p = &world.force.people[p as usize];
        (
            p.pnc_id.clone().unwrap_or_default().to_string(),
            format!("{}, {}", p.surname.to_uppercase(), p.forenames),
            p.dob.to_string(),
            world.force.postcodes[p.postcode as usize].to_string(),
        )
    };
    let known = |t: Option<i64>| t.filter(|t| *t < end).map(ts).unwrap_or_default();

    let mut w = TableWriter::create(dir, TableName::Staff)?;
    for (i, s) in world.force.staff.iter().enumerate() {
        let p = world.force.person_of_staff(i as u32);
        let unit = world.force.unit_of(i as u32);
        w.row(&[
            ("user_id", s.user_id.as_str()),
            ("surname", &p.surname),
            ("forenames", &p.forenames),
            ("dob", &p.dob.to_string()),
            ("home_postcode", &world.force.postcodes[p.postcode as usize]),
            ("unit", unit.name),
            ("role", unit.role),
            ("force", if unit.org == "police" { "NS" } else { unit.org }),
            ("org", unit.org),
            ("status", s.status.as_str()),
            ("status_since", &s.status_since.map(|t| t.to_string()).unwrap_or_default()),
            ("shift", &unit.shift.to_string()),
        ])?;
    }
    w.finish()?;

    let mut w = TableWriter::create(dir, TableName::Custody)?;
    for c in world.custody.iter().filter(|c| c.arrested < end) {
        let (id, name, dob, _) = person(c.person);
        w.row(&[
            ("custody_ref", c.custody_ref.as_str()),
            ("subject_id", &id),
            ("subject_name", &name),
            ("subject_dob", &dob),
            ("suite", force::SUITES[c.suite as usize]),
            ("arrested_at", &ts(c.arrested)),
            ("released_at", &known(Some(c.released))),
            ("officers", &users(world, &c.officers)),
        ])?;
    }
    w.finish()?;

    let mut w = TableWriter::create(dir, TableName::HighProfile)?;
    for h in &world.high_profile {
        let (id, name, dob, _) = person(h.person);
        w.row(&[
            ("entry_id", h.entry_id),
            ("subject_id", &id),
            ("subject_name", &name),
            ("subject_dob", &dob),
            ("category", h.category),
            ("added_at", &ts(h.added_at)),
            ("case_team", &users(world, &h.case_team)),
            ("note", h.note),
        ])?;
    }
    w.finish()?;

    let mut w = TableWriter::create(dir, TableName::Associates)?;
    for a in &world.associates {
        let (id, name, dob, pc) = person(a.person);
        w.row(&[
            ("user_id", world.force.staff[a.user as usize].user_id.as_str()),
            ("subject_id", &id),
            ("subject_name", &name),
            ("subject_dob", &dob),
            ("subject_postcode", &pc),
            ("relationship", a.relationship.as_str()),
            ("declared_at", &ts(a.declared_at)),
        ])?;
    }
    w.finish()?;

    let mut w = TableWriter::create(dir, TableName::Operations)?;
    for op in &world.operations {
        let team = users(world, &op.team);
        for t in &op.targets {
            let (id, name, dob, vrm, pc) = match t {
                world::OpTarget::Person(p) => {
                    let (id, name, dob, _) = person(*p);
                    (id, name, dob, String::new(), String::new())
                }
                world::OpTarget::Vehicle(v) => {
                    let vrm = world.force.vehicles[*v as usize].vrm.to_string();
                    (String::new(), String::new(), String::new(), vrm, String::new())
                }
                world::OpTarget::Address(pc) => {
                    let pc = world.force.postcodes[*pc as usize].to_string();
                    (String::new(), String::new(), String::new(), String::new(), pc)
                }
            };
            w.row(&[
                ("operation", op.name),
                ("subject_id", &id),
                ("subject_name", &name),
                ("subject_dob", &dob),
                ("subject_vrm", &vrm),
                ("subject_postcode", &pc),
                ("team", &team),
                ("starts_at", &ts(op.starts)),
                ("ends_at", &known(op.ends)),
            ])?;
        }
    }
    w.finish()?;

    let mut w = TableWriter::create(dir, TableName::Incidents)?;
    for inc in world.incidents.iter().filter(|i| i.opened < end) {
        w.row(&[
            ("reference", inc.reference.as_str()),
            ("kind", inc.kind),
            ("opened_at", &ts(inc.opened)),
            ("closed_at", &known(inc.closed)),
            ("unit", inc.unit.unwrap_or("")),
            ("officers", &users(world, &inc.officers)),
            ("victims", &victims(world, &inc.victims)),
            ("vulnerable", if inc.vulnerable { "true" } else { "" }),
        ])?;
    }
    w.finish()
}
