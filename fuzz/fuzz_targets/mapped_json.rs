#![no_main]
//! JSON through a source mapping (nested paths, value translations, time patterns).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accesswatch::fuzzing::mapped_json(data);
});
