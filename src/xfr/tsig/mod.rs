//! TSIG (RFC 8945): shared-secret signatures on transfer requests, on their
//! answers (every message of a multi-message transfer) and on NOTIFY. Keys
//! and their files are here; the TSIG record itself in [`rr`]; signing and
//! verifying, single messages and sequences, in [`sign`].
//!
//! Our own code on ring's HMAC, not hickory-proto's TSIG (single messages
//! on its `Message` type; its chained verifier takes no unsigned message
//! between signed ones and leaves time checks and error answers to the
//! caller) nor NLnet Labs' `domain` (proper sequences, but a second DNS
//! library with its own types beside hickory-proto). Unit tests cross-check
//! with hickory-proto's implementation; tests against BIND check the rest.

pub mod file;
pub mod rr;
pub mod sign;

#[cfg(test)]
mod tests;

use std::fmt;

use ring::hmac;

use crate::name::Name;

pub use rr::TsigRecord;
pub use sign::{ClientSequence, RequestAuth, ServerSequence, SignedRequest, TsigFailure};

/// RFC 8945 §10 recommends 300 s.
pub const FUDGE: u16 = 300;

/// The MAC algorithms we sign with (RFC 8945 §6). HMAC-MD5 and HMAC-SHA1
/// are refused: BIND's `tsig-keygen` defaults to HMAC-SHA256 and both older
/// ones are weak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSha512,
}

impl Algorithm {
    pub const NAMES: &'static str = "\"hmac-sha256\" or \"hmac-sha512\"";

    /// The configuration (and BIND) spelling.
    pub fn from_text(text: &str) -> Option<Algorithm> {
        match text
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .as_str()
        {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "hmac-sha512" => Some(Algorithm::HmacSha512),
            _ => None,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    /// The algorithm's name in canonical wire form, as the TSIG record
    /// carries it (RFC 8945 §6).
    pub fn wire(self) -> &'static [u8] {
        match self {
            Algorithm::HmacSha256 => b"\x0bhmac-sha256\x00",
            Algorithm::HmacSha512 => b"\x0bhmac-sha512\x00",
        }
    }

    /// The algorithm named by a canonical (lowercase) wire name.
    pub fn from_wire(wire: &[u8]) -> Option<Algorithm> {
        [Algorithm::HmacSha256, Algorithm::HmacSha512]
            .into_iter()
            .find(|a| a.wire() == wire)
    }

    /// Length of the untruncated MAC.
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha256 => 32,
            Algorithm::HmacSha512 => 64,
        }
    }
}

/// A TSIG key: its name (the owner of the TSIG record), algorithm and
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub name: Name,
    pub algorithm: Algorithm,
    secret: Box<[u8]>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret: configs and keys end up in debug logs.
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Key {
    pub fn new(name: Name, algorithm: Algorithm, secret: &[u8]) -> Key {
        Key {
            name,
            algorithm,
            secret: secret.into(),
        }
    }

    pub(crate) fn mac(&self) -> MacState {
        let algorithm = match self.algorithm {
            Algorithm::HmacSha256 => hmac::HMAC_SHA256,
            Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        };
        MacState {
            key: hmac::Key::new(algorithm, &self.secret),
            data: Vec::with_capacity(1024),
        }
    }
}

/// A MAC being computed over the pieces RFC 8945 §4.3 lists. The pieces
/// are gathered (a message or a few: kilobytes) so ring's one-shot verify,
/// constant-time, does the comparison.
pub(crate) struct MacState {
    key: hmac::Key,
    data: Vec<u8>,
}

impl MacState {
    pub fn update(&mut self, data: &[u8]) {
        self.data.extend_from_slice(data);
    }

    pub fn finish(self) -> Vec<u8> {
        hmac::sign(&self.key, &self.data).as_ref().to_vec()
    }

    /// Checks a full-length MAC in constant time (a timing leak would let
    /// an attacker guess a MAC byte by byte).
    pub fn verify(self, tag: &[u8]) -> bool {
        hmac::verify(&self.key, &self.data, tag).is_ok()
    }
}

/// A set of keys, looked up by name and algorithm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keyring(pub Vec<std::sync::Arc<Key>>);

impl Keyring {
    pub fn find(&self, name: &[u8], algorithm: &[u8]) -> Option<&std::sync::Arc<Key>> {
        self.0
            .iter()
            .find(|k| k.name.wire() == name && k.algorithm.wire() == algorithm)
    }

    pub fn named(&self, name: &Name) -> Option<&std::sync::Arc<Key>> {
        self.0.iter().find(|k| &k.name == name)
    }
}
