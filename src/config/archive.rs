//! The evidence archive's section, `[archive]` (layout: docs/archive.md).

use super::reader::Section;
use crate::time::Span;
use std::path::PathBuf;

/// How the archive is written (the `[archive]` section).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArchiveConfig {
    /// The archive's root; `None`: no archive.
    pub dir: Option<PathBuf>,
    /// Rows per row group: smaller prunes finer, larger compresses better.
    pub row_group_rows: usize,
    /// The live engine writes its buffer once it holds this many events ...
    pub flush_rows: usize,
    /// ... or its oldest event has waited this long.
    pub flush_interval: Span,
    /// `archive prune` deletes dates older than this; `None`: keep everything.
    pub retention: Option<Span>,
    pub bloom_filters: bool,
    /// zstd level (1 fastest).
    pub zstd_level: i32,
}

impl ArchiveConfig {
    pub(super) fn read(&mut self, s: &Section) {
        s.opt_path("dir", &mut self.dir);
        s.usize("row_group_rows", 1_024..=10_000_000, &mut self.row_group_rows);
        s.usize("flush_rows", 1..=100_000_000, &mut self.flush_rows);
        s.span("flush_interval", &mut self.flush_interval);
        s.parsed("retention", &mut self.retention, |t| match t {
            "" => Ok(None),
            t => Span::parse(t).map(Some).map_err(|e| format!("{e} (got {t:?}; \"\" keeps everything)")),
        });
        // As `archive prune` refuses it: under a day deletes every date before today.
        if let Some(r) = self.retention.filter(|r| *r < Span::days(1)) {
            s.error("retention", format!("{}: at least 1d (a shorter age deletes every date before today)", r.human()));
        }
        s.bool("bloom_filters", &mut self.bloom_filters);
        let mut n = self.zstd_level as i64;
        s.int("zstd_level", 1..=22, &mut n);
        self.zstd_level = n as i32;
    }
}
