//! DNS messages as the transfer code reads and writes them: whole-message
//! parsing with name decompression ([`read`]) and size-bounded writing with
//! compression against the zone apex ([`build`]).

pub mod build;
pub mod read;

#[cfg(test)]
mod tests;

pub use build::{Data, MessageWriter};
pub use read::{Header, Malformed, Parsed, Record, Soa};

/// Record types and opcodes the transfer code deals in, beside
/// `crate::wire::rtype`.
pub mod kind {
    /// RFC 8945.
    pub const TSIG: u16 = 250;
    /// RFC 1995.
    pub const IXFR: u16 = 251;
    /// RFC 5936.
    pub const AXFR: u16 = 252;
    /// CLASS ANY (255), the class of a TSIG record.
    pub const CLASS_ANY: u16 = 255;
    pub const OPCODE_QUERY: u8 = 0;
    /// RFC 1996.
    pub const OPCODE_NOTIFY: u8 = 4;
    /// RFC 8945 §3: TSIG errors travel as rcode NOTAUTH in the header.
    pub const RCODE_NOTAUTH: u8 = 9;
}
