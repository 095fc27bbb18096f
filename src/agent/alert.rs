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
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }

    pub fn name(&self) -> &str {
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

/// Lower is more urgent: critical, error/high, warning, info, anything else.
pub fn severity_rank(severity: Option<&str>) -> u8 {
    match severity.map(str::to_ascii_lowercase).as_deref() {
        Some("critical" | "page" | "p1") => 0,
        Some("error" | "high" | "major" | "p2") => 1,
        Some("warning" | "medium" | "p3") => 2,
        Some("info" | "low" | "none") => 4,
        _ => 3,
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

/// The request for a group's firing alerts, the most severe first (then by name), as
/// `triage watch` orders them.
pub fn request_for_group(alerts: &[AlertFacts<'_>]) -> String {
    let mut firing = alerts.to_vec();
    firing.sort_by(|a, b| {
        severity_rank(a.label("severity"))
            .cmp(&severity_rank(b.label("severity")))
            .then(a.name().cmp(b.name()))
    });
    request_text(&firing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_group_is_asked_about_its_most_severe_alert_with_the_others_named() {
        let warn = labels(&[("alertname", "KubeHpaMaxedOut"), ("severity", "warning")]);
        let crit = labels(&[
            ("alertname", "KubePodCrashLooping"),
            ("severity", "critical"),
            ("namespace", "shop"),
            ("pod", "web-1"),
            ("job", "kube-state-metrics"),
        ]);
        let summary: BTreeMap<String, String> =
            [("summary".to_string(), "web-1 restarts".to_string())].into();
        let none = BTreeMap::new();
        let facts = [
            AlertFacts {
                labels: &warn,
                annotations: &none,
                starts_at: None,
            },
            AlertFacts {
                labels: &crit,
                annotations: &summary,
                starts_at: None,
            },
        ];
        let text = request_for_group(&facts);
        assert_eq!(
            text,
            "KubePodCrashLooping: web-1 restarts (namespace=shop, pod=web-1); severity critical; \
             alert firing; 1 more alert in the group (KubeHpaMaxedOut)"
        );
        assert_eq!(request_for_group(&[]), "");
    }
}
