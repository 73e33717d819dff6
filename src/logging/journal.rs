//! Logging into the systemd journal through stderr. systemd sets
//! `JOURNAL_STREAM=<device>:<inode>` for a service whose stderr is a stream
//! to the journal; if our stderr is that very stream (a shell started from
//! the service's environment has another stderr), each line starts with an
//! sd-daemon priority prefix (`sd-daemon(3)`): `<3>` error, `<4>` warning,
//! `<6>` info, `<7>` debug, which journald turns into `PRIORITY=` and
//! `journalctl -p warning` filters on.
//!
//! Why prefixes and not the native protocol (`sd_journal_send`): one output
//! path for the plain and the JSON format, no datagram socket beside the
//! stream the unit already gives us, and the same bytes under any
//! supervisor that reads the convention (s6, runit's svlogd, Docker's
//! journald driver pass them through or parse them too).

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use tracing::Level;

/// The environment variable systemd sets (`systemd.exec(5)`).
pub const JOURNAL_STREAM: &str = "JOURNAL_STREAM";

/// The syslog priority of a tracing level (RFC 5424 §6.2.1 numbers).
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

/// True when stderr is the stream `JOURNAL_STREAM` names.
pub fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os(JOURNAL_STREAM) else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(parse) else {
        return false;
    };
    stderr_identity().is_some_and(|id| id == (dev, ino))
}

/// `<device>:<inode>`, both decimal.
fn parse(value: &str) -> Option<(u64, u64)> {
    let (dev, ino) = value.split_once(':')?;
    Some((dev.trim().parse().ok()?, ino.trim().parse().ok()?))
}

/// (st_dev, st_ino) of fd 2, by fstat on a duplicate of it.
fn stderr_identity() -> Option<(u64, u64)> {
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_follow_syslog() {
        assert_eq!(priority(&Level::ERROR), 3);
        assert_eq!(priority(&Level::WARN), 4);
        assert_eq!(priority(&Level::INFO), 6);
        assert_eq!(priority(&Level::DEBUG), 7);
    }

    #[test]
    fn journal_stream_values() {
        assert_eq!(parse("8:12345"), Some((8, 12345)));
        assert_eq!(parse("8"), None);
        assert_eq!(parse("x:1"), None);
    }
}
