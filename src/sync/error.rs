//! Why a pull failed, in words an admin can act on. A failed pull keeps
//! the previous one in service; the kind picks the metrics label.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SyncError {
    /// The credential could not get a token (bad secret, no identity, az
    /// not logged in). Never carries the secret itself.
    #[error("sign-in with {credential} failed: {reason}")]
    SignIn { credential: String, reason: String },
    /// The sign-in endpoint did not answer (refused, reset, timed out):
    /// the network's fault, not the credential's.
    #[error("sign-in with {credential} failed: {reason}")]
    SignInUnreachable { credential: String, reason: String },
    /// No answer: connection refused, reset, timed out, TLS failure.
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    /// An HTTP error status that retries did not cure.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// An answer that is not what the API documents (bad JSON, a nextLink
    /// to another host).
    #[error("{url}: {reason}")]
    Invalid { url: String, reason: String },
    /// The whole pull ran out of time (retries included).
    #[error("the pull did not finish within {0} s")]
    Deadline(u64),
    /// Setting the source up failed (TLS roots, a bad endpoint).
    #[error("{0}")]
    Setup(String),
}

impl SyncError {
    /// The `result` label of `pldns_sync_pulls_total` for this failure.
    pub fn result(&self) -> PullResult {
        match self {
            SyncError::SignIn { .. } => PullResult::SignInError,
            SyncError::Network { .. }
            | SyncError::SignInUnreachable { .. }
            | SyncError::Setup(_) => PullResult::NetworkError,
            SyncError::Status { status: 429, .. } => PullResult::Throttled,
            SyncError::Status { .. } => PullResult::HttpError,
            SyncError::Invalid { .. } => PullResult::InvalidAnswer,
            SyncError::Deadline(_) => PullResult::Timeout,
        }
    }
}

/// How a pull ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum PullResult {
    Ok,
    SignInError,
    NetworkError,
    Throttled,
    HttpError,
    InvalidAnswer,
    Timeout,
}

impl PullResult {
    pub const ALL: [PullResult; 7] = [
        PullResult::Ok,
        PullResult::SignInError,
        PullResult::NetworkError,
        PullResult::Throttled,
        PullResult::HttpError,
        PullResult::InvalidAnswer,
        PullResult::Timeout,
    ];

    pub fn label(self) -> &'static str {
        match self {
            PullResult::Ok => "ok",
            PullResult::SignInError => "sign_in_error",
            PullResult::NetworkError => "network_error",
            PullResult::Throttled => "throttled",
            PullResult::HttpError => "http_error",
            PullResult::InvalidAnswer => "invalid_answer",
            PullResult::Timeout => "timeout",
        }
    }
}
