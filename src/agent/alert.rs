//! An Alertmanager alert as the request an investigation is asked: the alert in words an
//! engineer would type, with the labels that name its target. Background investigations
//! (`triage watch`) and the incident eval's watch mode ask the same way.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// What a request is made of: one alert's labels, annotations and start.
#[derive(Debug, Clone, Copy)]
pub struct AlertFacts<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub starts_at: Option<DateTime<Utc>>,
}

impl AlertFacts<'_> {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    fn name(&self) -> &str {
        self.label("alertname").unwrap_or("")
    }

    /// The alert's own words: summary, else description, else message.
    fn summary(&self) -> Option<&str> {
        ["summary", "description", "message"]
            .iter()
            .find_map(|k| self.annotations.get(*k))
            .map(String::as_str)
            .filter(|s| !s.trim().is_empty())
    }
}

/// Labels that name what an alert is about, in the order they are shown.
const TARGET_LABELS: &[&str] = &[
    "namespace",
    "deployment",
    "statefulset",
    "daemonset",
    "cronjob",
    "job_name",
    "service",
    "pod",
    "container",
    "node",
    "persistentvolumeclaim",
    "horizontalpodautoscaler",
];

/// What an investigation is asked: the alert in words an engineer would type, with the
/// labels that name its target.
pub fn request_text(alerts: &[AlertFacts<'_>]) -> String {
    let Some(first) = alerts.first() else {
        return String::new();
    };
    let mut text = first.name().to_string();
    if let Some(s) = first.summary() {
        text.push_str(": ");
        text.push_str(s.trim());
    }
    let targets: Vec<String> = TARGET_LABELS
        .iter()
        .filter_map(|k| first.labels.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    if !targets.is_empty() {
        text.push_str(&format!(" ({})", targets.join(", ")));
    }
    if let Some(sev) = first.label("severity") {
        text.push_str(&format!("; severity {sev}"));
    }
    // "alert firing" also tells the agent to run its incident playbook.
    match first.starts_at.filter(|t| t.timestamp() > 0) {
        Some(t) => text.push_str(&format!("; alert firing since {}", t.format("%H:%M UTC"))),
        None => text.push_str("; alert firing"),
    }
    let others: Vec<&str> = alerts.iter().skip(1).map(AlertFacts::name).collect();
    if !others.is_empty() {
        let mut names = others.clone();
        names.sort_unstable();
        names.dedup();
        text.push_str(&format!(
            "; {} more alert{} in the group ({})",
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
    }
    text
}
