#![no_main]
//! Canonical CSV: a header line and records, any bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accesswatch::fuzzing::csv(data);
});
