//! `[watch]`: where alerts come in, how sure an answer must be before it is
//! sent, where it goes, and what background work may spend.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WatchConfig {
    /// Address of the webhook receiver (loopback unless set otherwise).
    pub listen: String,
    /// Bearer token Alertmanager must send (`http_config.authorization`); prefer
    /// `token_file` or `TRIAGE_WATCH_TOKEN`.
    pub token: Option<String>,
    /// A file holding the bearer token (first line).
    pub token_file: Option<PathBuf>,
    /// Largest webhook body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Confidence at or above which an answer is sent; below it the investigation is
    /// kept quiet.
    pub threshold: f32,
    /// Thresholds for some alerts: the first route that matches decides.
    pub routes: Vec<Route>,
    /// Incoming-webhook URLs; `slack:` or `json:` before the URL picks the payload
    /// (default: Slack's for hooks.slack.com and paths with `/slack`, JSON otherwise).
    pub notify_webhooks: Vec<String>,
    /// A command run for each notification (program and arguments, no shell), the
    /// notification as JSON on its standard input.
    pub notify_command: Vec<String>,
    /// A link to a session for notifications, `{session}` replaced by its id.
    pub session_url: Option<String>,
    /// Investigations running at once.
    pub concurrency: usize,
    /// Investigations waiting at most; past it the least severe wait is recorded as
    /// skipped, never dropped silently.
    pub queue_max: usize,
    /// Background work a day (UTC), all investigations together.
    pub daily_investigations: u32,
    pub daily_tokens: u64,
    pub daily_tool_calls: u32,
    /// `fast`: background investigations use `llm.fast_model` when one is configured;
    /// `main`: the same model as `ask`.
    pub model_tier: String,
    /// Cluster data older than this is called stale in the answer and the notification.
    pub stale_after_secs: u64,
    /// A group that fires again this soon after it resolved joins its closed
    /// investigation (a flap) instead of starting a new one.
    pub reopen_within_secs: u64,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9099".into(),
            token: None,
            token_file: None,
            max_body_bytes: 1024 * 1024,
            threshold: DEFAULT_THRESHOLD,
            routes: Vec::new(),
            notify_webhooks: Vec::new(),
            notify_command: Vec::new(),
            session_url: None,
            concurrency: 2,
            queue_max: 1000,
            daily_investigations: 500,
            daily_tokens: 5_000_000,
            daily_tool_calls: 20_000,
            model_tier: "fast".into(),
            stale_after_secs: 300,
            reopen_within_secs: 3600,
        }
    }
}

/// The default notification threshold, chosen on the incident suite's tune half: the
/// lowest threshold at which at least 80% of notifications were right, else one above
/// every tune answer's confidence (`scripts/watch-thresholds`, docs/watch.md). For the
/// offline planner today that is above its highest confidence: it keeps every answer
/// quiet unless a route lowers the threshold.
pub const DEFAULT_THRESHOLD: f32 = 0.9;

/// A threshold for the alerts that match every field given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    pub namespace: Option<String>,
    /// An alert name or pattern (`Kube*CrashLooping`).
    pub alertname: Option<String>,
    pub severity: Option<String>,
    pub threshold: f32,
}

impl Route {
    /// `namespace=shop alertname=X severity=critical`
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("namespace", &self.namespace),
            ("alertname", &self.alertname),
            ("severity", &self.severity),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        if parts.is_empty() {
            "every alert".into()
        } else {
            parts.join(" ")
        }
    }
}

impl WatchConfig {
    /// Values that cannot work, named with their key.
    pub fn validate(&self) -> Result<(), String> {
        let unit = |key: &str, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("watch.{key} = {v} is outside 0..1"))
            }
        };
        unit("threshold", self.threshold)?;
        for (i, r) in self.routes.iter().enumerate() {
            unit(&format!("routes[{i}].threshold"), r.threshold)?;
        }
        if self.concurrency == 0 {
            return Err("watch.concurrency must be at least 1".into());
        }
        if !matches!(self.model_tier.as_str(), "fast" | "main") {
            return Err(format!(
                "watch.model_tier = {:?}: use \"fast\" or \"main\"",
                self.model_tier
            ));
        }
        if self
            .notify_command
            .first()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err("watch.notify_command: the program is empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key() {
        let mut c = WatchConfig {
            threshold: 1.5,
            ..WatchConfig::default()
        };
        assert_eq!(
            c.validate().unwrap_err(),
            "watch.threshold = 1.5 is outside 0..1"
        );
        c.threshold = 0.8;
        c.model_tier = "cheap".into();
        assert!(c.validate().unwrap_err().contains("model_tier"));
        assert!(WatchConfig::default().validate().is_ok());
    }
}
