#![no_main]
//! CEF through a source mapping.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    accesswatch::fuzzing::cef(data);
});
