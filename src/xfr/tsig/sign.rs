//! Signing and verifying with TSIG (RFC 8945 §4.3, §5): a server verifies a
//! request and signs its answer, every message of a multi-message answer
//! chained to the one before (§5.3.1); a client signs its request and
//! verifies the answer, accepting up to 99 unsigned messages between signed
//! ones as §5.3.1 still allows, but never an unsigned first or last one.

use std::fmt;
use std::sync::Arc;

use super::rr::{Fields, TsigRecord, find};
use super::{FUDGE, Key, Keyring, MacState};
use crate::xfr::msg::kind::RCODE_NOTAUTH;
use crate::xfr::msg::read::Malformed;

/// TSIG error codes (RFC 8945 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsigError {
    BadSig = 16,
    BadKey = 17,
    BadTime = 18,
    BadTrunc = 22,
}

impl TsigError {
    pub fn from_code(code: u16) -> Option<TsigError> {
        match code {
            16 => Some(TsigError::BadSig),
            17 => Some(TsigError::BadKey),
            18 => Some(TsigError::BadTime),
            22 => Some(TsigError::BadTrunc),
            _ => None,
        }
    }
}

impl fmt::Display for TsigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TsigError::BadSig => "BADSIG",
            TsigError::BadKey => "BADKEY",
            TsigError::BadTime => "BADTIME",
            TsigError::BadTrunc => "BADTRUNC",
        })
    }
}

/// A request whose signature checked out: what its answer is signed with.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub key: Arc<Key>,
    pub mac: Vec<u8>,
}

/// A request whose signature did not check out, and what to answer.
#[derive(Debug, Clone)]
pub struct TsigFailure {
    pub error: TsigError,
    tsig: TsigRecord,
    /// Set for BADTIME, the one error answered with a signature (§5.2.3).
    key: Option<Arc<Key>>,
}

impl TsigFailure {
    /// The key name the client used, as text, for logs.
    pub fn key_name(&self) -> String {
        let mut s = String::new();
        let _ = crate::name::write_text(&self.tsig.key_name, &mut s);
        s
    }

    /// Turns a finished answer (header and question, normally nothing else)
    /// into the error answer: rcode NOTAUTH and a TSIG record carrying the
    /// error. BADKEY, BADSIG and BADTRUNC go unsigned (§5.3.2: a server
    /// must not sign with a key it could not verify); BADTIME is signed and
    /// carries our clock in Other Data (§5.2.3).
    pub fn answer(&self, msg: &mut Vec<u8>, now: u64) {
        if msg.len() < 12 {
            return;
        }
        msg[3] = (msg[3] & 0xF0) | RCODE_NOTAUTH;
        let now_bytes = now.to_be_bytes();
        let mut f = Fields {
            key_name: &self.tsig.key_name,
            algorithm: &self.tsig.algorithm,
            time_signed: now,
            fudge: FUDGE,
            error: self.error as u16,
            other: &[],
        };
        match &self.key {
            Some(key) => {
                f.time_signed = self.tsig.time_signed;
                f.other = &now_bytes[2..];
                let mut mac = key.mac();
                feed_prior(&mut mac, &self.tsig.mac);
                mac.update(msg);
                mac.update(&f.variables());
                let mac = mac.finish();
                f.append(msg, &mac);
            }
            None => f.append(msg, &[]),
        }
    }
}

/// What a request's signature says.
#[derive(Debug, Clone)]
pub enum RequestAuth {
    Unsigned,
    Signed(SignedRequest),
    Failed(TsigFailure),
}

fn feed_prior(mac: &mut MacState, prior: &[u8]) {
    mac.update(&(prior.len() as u16).to_be_bytes());
    mac.update(prior);
}

fn feed_stripped(mac: &mut MacState, tsig: &TsigRecord, msg: &[u8]) {
    let (header, rest) = tsig.unsigned_parts(msg);
    mac.update(&header);
    mac.update(rest);
}

/// Checks a request's TSIG (RFC 8945 §5.2, in its order: key, MAC, time,
/// truncation). `now` is seconds since the epoch. A malformed TSIG is a
/// FORMERR for the caller.
pub fn verify_request(msg: &[u8], keys: &Keyring, now: u64) -> Result<RequestAuth, Malformed> {
    let Some(tsig) = find(msg)? else {
        return Ok(RequestAuth::Unsigned);
    };
    let fail = |error, key| {
        Ok(RequestAuth::Failed(TsigFailure {
            error,
            tsig: tsig.clone(),
            key,
        }))
    };
    let Some(key) = keys.find(&tsig.key_name, &tsig.algorithm) else {
        return fail(TsigError::BadKey, None);
    };
    let full = key.algorithm.mac_len();
    // §5.2.2.1: a MAC longer than the hash, or shorter than 10 octets or
    // half the hash, is malformed.
    if tsig.mac.len() > full || tsig.mac.len() < 10.max(full / 2) {
        return Err(Malformed("TSIG MAC of impossible length"));
    }
    let mut mac = key.mac();
    feed_stripped(&mut mac, &tsig, msg);
    mac.update(&tsig.fields().variables());
    let valid = if tsig.mac.len() == full {
        mac.verify(&tsig.mac)
    } else {
        // A truncated MAC is checked (an invalid one is BADSIG, §5.2.2)
        // before it is refused (BADTRUNC, below).
        constant_time_prefix_eq(&mac.finish(), &tsig.mac)
    };
    if !valid {
        return fail(TsigError::BadSig, None);
    }
    if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
        return fail(TsigError::BadTime, Some(key.clone()));
    }
    // §5.2.4: we accept no truncated MACs (neither BIND nor we send them).
    if tsig.mac.len() < full {
        return fail(TsigError::BadTrunc, None);
    }
    Ok(RequestAuth::Signed(SignedRequest {
        key: key.clone(),
        mac: tsig.mac,
    }))
}

fn constant_time_prefix_eq(full: &[u8], tag: &[u8]) -> bool {
    let diff = full
        .iter()
        .zip(tag)
        .fold(0u8, |acc, (a, b)| acc | std::hint::black_box(a ^ b));
    tag.len() <= full.len() && diff == 0
}

/// Signs the messages of one answer to a signed request: the first chained
/// to the request's MAC with the full TSIG variables, each later one to the
/// MAC before it with the timers only (RFC 8945 §5.3.1). We sign every
/// message.
#[derive(Clone)]
pub struct ServerSequence {
    key: Arc<Key>,
    prior: Vec<u8>,
    first: bool,
}

impl ServerSequence {
    pub fn new(request: &SignedRequest) -> ServerSequence {
        ServerSequence {
            key: request.key.clone(),
            prior: request.mac.clone(),
            first: true,
        }
    }

    /// Room the TSIG record takes in each message.
    pub fn overhead(&self) -> usize {
        self.fields(0).size(self.key.algorithm.mac_len())
    }

    fn fields(&self, now: u64) -> Fields<'_> {
        Fields {
            key_name: self.key.name.wire(),
            algorithm: self.key.algorithm.wire(),
            time_signed: now,
            fudge: FUDGE,
            error: 0,
            other: &[],
        }
    }

    /// Signs one finished message in place.
    pub fn sign(&mut self, msg: &mut Vec<u8>, now: u64) {
        let mut mac = self.key.mac();
        feed_prior(&mut mac, &self.prior);
        mac.update(msg);
        let f = self.fields(now);
        if self.first {
            mac.update(&f.variables());
        } else {
            mac.update(&f.timers());
        }
        let mac = mac.finish();
        f.append(msg, &mac);
        self.prior = mac;
        self.first = false;
    }
}

/// Signs a request of ours (a transfer, an SOA query, a NOTIFY) in place and
/// returns what verifies its answer.
pub fn sign_request(msg: &mut Vec<u8>, key: &Arc<Key>, now: u64) -> ClientSequence {
    let f = Fields {
        key_name: key.name.wire(),
        algorithm: key.algorithm.wire(),
        time_signed: now,
        fudge: FUDGE,
        error: 0,
        other: &[],
    };
    let mut mac = key.mac();
    mac.update(msg);
    mac.update(&f.variables());
    let mac = mac.finish();
    f.append(msg, &mac);
    ClientSequence {
        key: key.clone(),
        prior: mac,
        first: true,
        unsigned: Vec::new(),
        unsigned_count: 0,
        last_signed: false,
    }
}

/// Why an answer to a signed request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is not signed")]
    Unsigned,
    #[error("more than 99 unsigned messages in a row")]
    TooManyUnsigned,
    #[error("the transfer ended on an unsigned message")]
    LastUnsigned,
    #[error("signed with another key ({0})")]
    WrongKey(String),
    #[error("the server rejected our signature: {0}")]
    Rejected(String),
    #[error("bad signature")]
    BadSig,
    #[error("signed {0} s away from our clock, more than the fudge allows")]
    BadTime(u64),
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

/// Verifies the messages of the answer to one signed request, in order.
pub struct ClientSequence {
    key: Arc<Key>,
    prior: Vec<u8>,
    first: bool,
    /// Unsigned messages since the last signed one: the next MAC covers them.
    unsigned: Vec<u8>,
    unsigned_count: usize,
    last_signed: bool,
}

/// RFC 8945 §5.3.1 (and RFC 2845 before it): at most 99 unsigned messages
/// between two signed ones.
const MAX_UNSIGNED: usize = 99;

impl ClientSequence {
    /// The request's MAC (what the answer's first MAC is chained to).
    pub fn request_mac(&self) -> &[u8] {
        &self.prior
    }

    /// Verifies the next message of the answer. `now` is seconds since the
    /// epoch.
    pub fn verify(&mut self, msg: &[u8], now: u64) -> Result<(), AnswerError> {
        let Some(tsig) = find(msg)? else {
            if self.first {
                return Err(AnswerError::Unsigned);
            }
            self.unsigned_count += 1;
            if self.unsigned_count > MAX_UNSIGNED {
                return Err(AnswerError::TooManyUnsigned);
            }
            self.unsigned.extend_from_slice(msg);
            self.last_signed = false;
            return Ok(());
        };
        if tsig.key_name != self.key.name.wire() || tsig.algorithm != self.key.algorithm.wire() {
            let mut s = String::new();
            let _ = crate::name::write_text(&tsig.key_name, &mut s);
            return Err(AnswerError::WrongKey(s));
        }
        if tsig.error != 0 {
            let what = TsigError::from_code(tsig.error)
                .map_or_else(|| format!("TSIG error {}", tsig.error), |e| e.to_string());
            return Err(AnswerError::Rejected(what));
        }
        if tsig.mac.len() != self.key.algorithm.mac_len() {
            return Err(AnswerError::BadSig);
        }
        let mut mac = self.key.mac();
        feed_prior(&mut mac, &self.prior);
        mac.update(&self.unsigned);
        feed_stripped(&mut mac, &tsig, msg);
        if self.first {
            mac.update(&tsig.fields().variables());
        } else {
            mac.update(&tsig.fields().timers());
        }
        if !mac.verify(&tsig.mac) {
            return Err(AnswerError::BadSig);
        }
        if now.abs_diff(tsig.time_signed) > u64::from(tsig.fudge) {
            return Err(AnswerError::BadTime(now.abs_diff(tsig.time_signed)));
        }
        self.prior = tsig.mac;
        self.first = false;
        self.unsigned.clear();
        self.unsigned_count = 0;
        self.last_signed = true;
        Ok(())
    }

    /// Call when the answer is complete: its last message must be signed.
    pub fn finish(&self) -> Result<(), AnswerError> {
        if self.last_signed {
            Ok(())
        } else {
            Err(AnswerError::LastUnsigned)
        }
    }
}
