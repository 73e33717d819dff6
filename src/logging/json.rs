//! The JSON log format: one object per line, in the shape
//! tracing-subscriber's own JSON format has
//! (`{"timestamp":..,"level":..,"fields":{"message":..,..}}`), but with
//! each field as a real JSON value: numbers and booleans as such, and a
//! `?List(..)` field (or any `Debug` text that is a JSON array or object)
//! as an array, not as a string holding one.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON event format; `timestamps` off under the journal (it keeps its
/// own).
pub struct Json {
    timestamps: bool,
}

impl Json {
    pub fn new(timestamps: bool) -> Json {
        Json { timestamps }
    }
}

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writeln!(writer, "{}", render(event, self.timestamps))
    }
}

/// The line for one event, without the newline.
pub fn render(event: &Event<'_>, timestamps: bool) -> String {
    let mut fields = Fields(Map::new());
    event.record(&mut fields);
    let mut line = Map::new();
    if timestamps {
        let mut now = String::new();
        let _ = SystemTime.format_time(&mut Writer::new(&mut now));
        line.insert("timestamp".into(), Value::String(now));
    }
    line.insert(
        "level".into(),
        Value::String(event.metadata().level().to_string()),
    );
    line.insert("fields".into(), Value::Object(fields.0));
    Value::Object(line).to_string()
}

struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.put(field, v);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        let v = i64::try_from(value).map_or_else(|_| Value::String(value.to_string()), Value::from);
        self.put(field, v);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = u64::try_from(value).map_or_else(|_| Value::String(value.to_string()), Value::from);
        self.put(field, v);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        // `message` is the formatted text, whatever it looks like.
        if field.name() != "message"
            && (text.starts_with('[') || text.starts_with('{'))
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            self.put(field, v);
        } else {
            self.put(field, Value::String(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Captures what the JSON format writes for events logged inside `f`.
    fn capture(f: impl FnOnce()) -> Vec<Value> {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let out = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .event_format(Json::new(true))
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = sink.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn fields_are_real_json_values() {
        let zones = vec!["privatelink.blob.core.windows.net".to_string()];
        let none: Vec<String> = Vec::new();
        let lines = capture(|| {
            tracing::info!(
                records_added = 3u64,
                ms = 12i64,
                config_changed = true,
                ratio = 0.5f64,
                zones_added = ?crate::logging::List(&zones),
                zones_removed = ?crate::logging::List(&none),
                trigger = "files",
                odd = ?"[not json",
                "reload applied"
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "INFO");
        assert!(line["timestamp"].as_str().unwrap().contains('T'));
        let f = &line["fields"];
        assert_eq!(f["message"], "reload applied");
        assert_eq!(f["records_added"], 3);
        assert_eq!(f["ms"], 12);
        assert_eq!(f["config_changed"], true);
        assert_eq!(f["ratio"], 0.5);
        assert_eq!(
            f["zones_added"],
            serde_json::json!(["privatelink.blob.core.windows.net"])
        );
        assert_eq!(f["zones_removed"], serde_json::json!([]));
        assert_eq!(f["trigger"], "files");
        assert_eq!(f["odd"], "\"[not json\"");
    }
}
