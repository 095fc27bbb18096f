//! Container logs as `kubectl logs` reads them: a tail (`--tail`), a window (`--since`),
//! the previous instance (`-p`), and following new lines (`-f`), through the guarded
//! client.

use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use kube::api::LogParams;
use kube::core::Request;

use super::client::KubeClient;
use super::error::{ReadError, ReadErrorKind};
use super::resources;

/// What part of a container's log to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub container: Option<String>,
    pub previous: bool,
    /// Lines from the end; `None` takes `[kube] log_tail_lines` unless `all_lines`.
    pub tail_lines: Option<i64>,
    /// The whole log (`--tail -1`), still capped by `[kube] log_tail_bytes` unless
    /// following.
    pub all_lines: bool,
    pub since: Option<Duration>,
    /// Keep the request open and hand over lines as they come.
    pub follow: bool,
}

impl KubeClient {
    /// The log text (not following).
    pub async fn logs_with(
        &self,
        namespace: &str,
        pod: &str,
        o: &LogOptions,
    ) -> Result<String, ReadError> {
        let lp = self.log_params(o);
        let req = Request::new(resources::PODS.list_path(Some(namespace)))
            .logs(pod, &lp)
            .map_err(|e| {
                log_error(namespace, pod).with(ReadErrorKind::Other, None, e.to_string())
            })?;
        self.run(|| log_error(namespace, pod), self.raw().request_text(req))
            .await
    }

    /// Follow a log: each line goes to `on_line` as it arrives, until the server ends
    /// the stream (the container stopped, or a replay has no more) or the caller stops.
    pub async fn follow_logs(
        &self,
        namespace: &str,
        pod: &str,
        o: &LogOptions,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), ReadError> {
        let mut o = o.clone();
        o.follow = true;
        let lp = self.log_params(&o);
        let req = Request::new(resources::PODS.list_path(Some(namespace)))
            .logs(pod, &lp)
            .map_err(|e| {
                log_error(namespace, pod).with(ReadErrorKind::Other, None, e.to_string())
            })?;
        // Only the start of the stream is bounded by the request timeout.
        let reader = self
            .run(|| log_error(namespace, pod), self.raw().request_stream(req))
            .await?;
        let mut lines = reader.lines();
        while let Some(line) = lines.next().await {
            let line = line.map_err(|e| {
                log_error(namespace, pod).with(ReadErrorKind::Other, None, e.to_string())
            })?;
            on_line(&line);
        }
        Ok(())
    }

    fn log_params(&self, o: &LogOptions) -> LogParams {
        LogParams {
            container: o.container.clone(),
            previous: o.previous,
            follow: o.follow,
            tail_lines: if o.all_lines {
                None
            } else {
                Some(o.tail_lines.unwrap_or(self.options().log_tail_lines))
            },
            limit_bytes: (!o.follow).then_some(self.options().log_tail_bytes),
            since_seconds: o.since.map(|d| d.as_secs().max(1) as i64),
            ..LogParams::default()
        }
    }
}

fn log_error(namespace: &str, pod: &str) -> ReadError {
    ReadError::new("get", "pods/log", Some(namespace), Some(pod))
}
