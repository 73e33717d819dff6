//! Where log lines go and what they look like: stderr, plain or JSON
//! (`[log] format`), with a syslog priority prefix (`<3>`, `<4>`, `<6>`,
//! `<7>`) when stderr is the journal ([`journal`]), and JSON fields as real
//! JSON values ([`json`]). The subscriber is set up once, in `main`.

pub mod journal;
pub mod json;

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogConfig, LogFormat};

/// A list field: `answers = ?List(&addrs)`. Its `Debug` form is a JSON
/// array of the items' `Display` text, which the JSON format embeds as an
/// array (not as a string) and the plain format prints as it is.
pub struct List<'a, T>(pub &'a [T]);

impl<T: fmt::Display> fmt::Debug for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let text = serde_json::Value::String(item.to_string());
            write!(f, "{text}")?;
        }
        f.write_str("]")
    }
}

/// Sets up logging for the process: the level from `RUST_LOG`, else
/// `[log] level`; the format from `[log] format`; priorities (and no
/// timestamps: the journal keeps its own) when stderr is the journal.
pub fn init(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let journal = journal::stderr_is_journal();
    let ansi = !journal && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let plain = tracing_subscriber::fmt::format()
        .with_target(false)
        .with_ansi(ansi);
    // `try_init`: a second call (tests) keeps the first subscriber.
    let _ = match (log.format, journal) {
        (LogFormat::Json, _) => builder
            .event_format(Prefixed::new(json::Json::new(!journal), journal))
            .try_init(),
        (LogFormat::Plain, true) => builder
            .event_format(Prefixed::new(plain.without_time(), true))
            .try_init(),
        (LogFormat::Plain, false) => builder.event_format(Prefixed::new(plain, false)).try_init(),
    };
}

/// An event format with the sd-daemon priority prefix in front of each
/// line when `on` (systemd reads it with `SyslogLevelPrefix=yes`, its
/// default, and strips it).
pub struct Prefixed<F> {
    inner: F,
    on: bool,
}

impl<F> Prefixed<F> {
    pub fn new(inner: F, on: bool) -> Self {
        Prefixed { inner, on }
    }
}

impl<S, N, F> FormatEvent<S, N> for Prefixed<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if self.on {
            write!(writer, "<{}>", journal::priority(event.metadata().level()))?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_as_a_json_array() {
        let names = ["a.example".to_string(), "b\"c".to_string()];
        let text = format!("{:?}", List(&names));
        assert_eq!(text, r#"["a.example","b\"c"]"#);
        let back: Vec<String> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, names);
        assert_eq!(format!("{:?}", List::<String>(&[])), "[]");
    }
}
