#![no_main]
//! Canonical JSON Lines: any bytes decode to an event or a reason, never a panic; an
//! accepted event written back in canonical form decodes to itself.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accesswatch::fuzzing::json(data);
});
