#![no_main]
//! A watch-list row: as a topic message for every table, and as a CSV file.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accesswatch::fuzzing::watchlist_row(data);
});
