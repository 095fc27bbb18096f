//! The Alertmanager webhook payload (version 4), checked before anything acts on it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::agent::alert::AlertFacts;

/// Why a payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("not an Alertmanager webhook payload: {0}")]
    Shape(String),
    #[error("payload version {0:?} is not supported; triage reads Alertmanager's version \"4\"")]
    Version(String),
    #[error("alerts[{index}]: {message}")]
    Alert { index: usize, message: String },
}

/// One webhook call: a group of alerts Alertmanager sends together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    pub version: String,
    pub group_key: String,
    #[serde(default)]
    pub truncated_alerts: u64,
    /// `firing` or `resolved`: the group's status.
    pub status: AlertStatus,
    #[serde(default)]
    pub receiver: String,
    #[serde(default)]
    pub group_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager's identity of the alert (a hash of its labels).
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    pub fn name(&self) -> &str {
        self.labels
            .get("alertname")
            .map(String::as_str)
            .unwrap_or("")
    }

    pub fn severity(&self) -> Option<&str> {
        self.labels.get("severity").map(String::as_str)
    }

    pub fn namespace(&self) -> Option<&str> {
        self.labels.get("namespace").map(String::as_str)
    }

    /// The fingerprint, or one made from the labels when a sender left it out.
    pub fn identity(&self) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        let text: String = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
    }

    /// What an investigation is asked about it.
    pub fn facts(&self) -> AlertFacts<'_> {
        AlertFacts {
            labels: &self.labels,
            annotations: &self.annotations,
            starts_at: self.starts_at,
        }
    }
}

/// Parse and check a webhook body.
pub fn parse(body: &[u8]) -> Result<WebhookPayload, PayloadError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| PayloadError::Shape("`version` is missing".into()))?;
    if version != "4" {
        return Err(PayloadError::Version(version.to_string()));
    }
    if let Some(alerts) = value.get("alerts").and_then(serde_json::Value::as_array) {
        for (index, a) in alerts.iter().enumerate() {
            check_alert(index, a)?;
        }
    }
    let payload: WebhookPayload =
        serde_json::from_value(value).map_err(|e| PayloadError::Shape(e.to_string()))?;
    if payload.group_key.trim().is_empty() {
        return Err(PayloadError::Shape("`groupKey` is empty".into()));
    }
    Ok(payload)
}

fn check_alert(index: usize, a: &serde_json::Value) -> Result<(), PayloadError> {
    let err = |message: String| PayloadError::Alert { index, message };
    serde_json::from_value::<Alert>(a.clone()).map_err(|e| err(e.to_string()))?;
    let named = a
        .pointer("/labels/alertname")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|n| !n.trim().is_empty());
    if !named {
        return Err(err("labels.alertname is missing".into()));
    }
    Ok(())
}

/// What an investigation of these alerts is asked.
pub fn request_text(alerts: &[&Alert]) -> String {
    let facts: Vec<AlertFacts<'_>> = alerts.iter().map(|a| a.facts()).collect();
    crate::agent::alert::request_text(&facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(alerts: &str) -> String {
        format!(
            r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"X\"}}","status":"firing","receiver":"triage",
            "groupLabels":{{}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://am","alerts":[{alerts}]}}"#
        )
    }

    #[test]
    fn a_version_4_payload_parses() {
        let body = payload(
            r#"{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"web-1","severity":"critical"},
            "annotations":{"summary":"web-1 restarts"},"startsAt":"2025-06-01T11:50:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"abc"}"#,
        );
        let p = parse(body.as_bytes()).unwrap();
        assert_eq!(p.alerts.len(), 1);
        assert_eq!(p.alerts[0].identity(), "abc");
        let text = request_text(&[&p.alerts[0]]);
        assert!(
            text.starts_with("KubePodCrashLooping: web-1 restarts"),
            "{text}"
        );
        assert!(text.contains("namespace=shop, pod=web-1"), "{text}");
        assert!(text.contains("alert firing since 11:50 UTC"), "{text}");
        let (playbook, _) = crate::agent::playbook::route(&text);
        assert_eq!(playbook, crate::protocol::Playbook::Incident);
    }

    #[test]
    fn malformed_payloads_say_what_is_wrong() {
        assert!(matches!(parse(b"{not json"), Err(PayloadError::NotJson(_))));
        assert!(matches!(
            parse(br#"{"version":"3","groupKey":"g","status":"firing","alerts":[]}"#),
            Err(PayloadError::Version(v)) if v == "3"
        ));
        let e = parse(payload(r#"{"status":"firing","labels":{}}"#).as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "alerts[0]: labels.alertname is missing");
        let e = parse(payload(r#"{"status":"burning","labels":{"alertname":"X"}}"#).as_bytes())
            .unwrap_err();
        assert!(
            e.to_string().starts_with("alerts[0]: unknown variant"),
            "{e}"
        );
        assert!(matches!(
            parse(br#"{"version":"4","status":"firing","alerts":[]}"#),
            Err(PayloadError::Shape(_))
        ));
    }

    #[test]
    fn an_alert_without_a_fingerprint_gets_one_from_its_labels() {
        let body = payload(r#"{"status":"firing","labels":{"alertname":"X","pod":"a"}}"#);
        let p = parse(body.as_bytes()).unwrap();
        let again = parse(body.as_bytes()).unwrap();
        assert_eq!(p.alerts[0].identity(), again.alerts[0].identity());
        assert_eq!(p.alerts[0].identity().len(), 16);
    }
}
