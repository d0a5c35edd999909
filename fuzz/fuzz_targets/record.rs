//! The record decoder: any bytes a store may hold decode to a record or a
//! typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = twofactor::__internal::document_json(data);
    let _ = twofactor::__internal::record_debug(data);
});
