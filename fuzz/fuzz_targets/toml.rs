#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| pldns_fuzz::records::run_toml(data));
