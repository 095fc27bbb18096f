//! Logs go to a file under the state dir (never to the screen the TUI draws on).
//! `TRIAGE_LOG` sets the filter (default `warn`); `TRIAGE_LOG_STDERR=1` logs to stderr.
//! At `debug`, each index write logs its time when it ends (`triage=debug`).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub fn init() {
    let filter = EnvFilter::try_from_env("TRIAGE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    if std::env::var_os("TRIAGE_LOG_STDERR").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_span_events(FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .try_init();
        return;
    }
    let Some(dir) = crate::config::state_dir() else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("triage.log"))
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
