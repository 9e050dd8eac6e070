//! The command line's log subscriber: `tracing` events on stderr, one line
//! each, filtered by `DOSSIER_LOG`.
//!
//! The library only emits events; an embedder installs its own subscriber.
//! This one prints what the binary always printed, in the same shape:
//! `warning: plugin webhook: POST ... retrying in 100 ms`, or
//! `info: script sla.rhai, hook before_save_case: computed the due date`.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The environment variable holding the filter (`env_filter` syntax, e.g.
/// `debug` or `warn,dossier_host::script=info`).
pub(crate) const ENV: &str = "DOSSIER_LOG";

/// Without `DOSSIER_LOG`, `info`: plugin `info` lines and script prints
/// show, as they always have; `debug` lines wait to be asked for.
const DEFAULT: LevelFilter = LevelFilter::INFO;

/// Installs the subscriber for this process. Does nothing if one is already
/// installed (an embedder calling [`super::run`] keeps its own). An unusable
/// `DOSSIER_LOG` is reported in one line and the default level used instead:
/// a typo in a log setting should not stop a service.
pub(crate) fn install() {
    let filter = filter(std::env::var(ENV).ok().as_deref());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .event_format(Lines)
        .try_init();
}

/// The filter `value` (the variable's value, if set) describes.
fn filter(value: Option<&str>) -> EnvFilter {
    let builder = EnvFilter::builder().with_default_directive(DEFAULT.into());
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => builder.parse_lossy(""),
        Some(value) => builder.parse(value).unwrap_or_else(|e| {
            note!("warning: ignoring {ENV}={value:?} ({e}); logging at {DEFAULT}");
            builder.parse_lossy("")
        }),
    }
}

/// `level: field value, field value: message`, without timestamps (a
/// service manager adds its own).
struct Lines;

impl<S, N> FormatEvent<S, N> for Lines
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
        let mut fields = Fields::default();
        event.record(&mut fields);
        write!(writer, "{}: ", level_word(*event.metadata().level()))?;
        if !fields.context.is_empty() {
            write!(writer, "{}: ", fields.context)?;
        }
        writeln!(writer, "{}", fields.message)
    }
}

/// The word people read for a level, as compilers and the CLI's own
/// `error:` lines spell it.
fn level_word(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warning",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// An event's message, and its other fields as `name value, name value`.
#[derive(Default)]
struct Fields {
    message: String,
    context: String,
}

impl Fields {
    fn push(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if field.name() == "message" {
            let _ = self.message.write_fmt(value);
            return;
        }
        if !self.context.is_empty() {
            self.context.push_str(", ");
        }
        let _ = write!(self.context, "{} {value}", field.name());
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        // Strings as they are: `plugin webhook`, not `plugin "webhook"`.
        self.push(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_defaults_to_info_and_survives_a_typo() {
        assert_eq!(filter(None).max_level_hint(), Some(LevelFilter::INFO));
        assert_eq!(filter(Some(" ")).max_level_hint(), Some(LevelFilter::INFO));
        assert_eq!(
            filter(Some("debug")).max_level_hint(),
            Some(LevelFilter::DEBUG)
        );
        assert_eq!(
            filter(Some("warn,dossier_host::script=trace")).max_level_hint(),
            Some(LevelFilter::TRACE)
        );
        assert_eq!(
            filter(Some("dossier_host=loud")).max_level_hint(),
            Some(LevelFilter::INFO)
        );
    }
}
