//! An alert as Alertmanager sends it (the fields of its webhook payload, version 4), and
//! the text an engineer pastes from the notification: Alertmanager's default subject and
//! `__text_alert_list` template, with each alert's start time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// One notification: a group of alerts for one receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// `firing` or `resolved` (the group's status).
    #[serde(default = "firing")]
    pub status: String,
    #[serde(default)]
    pub receiver: Option<String>,
    /// The route's `group_by` labels; the subject lists their values.
    #[serde(default = "by_alertname")]
    pub group_by: Vec<String>,
    #[serde(default)]
    pub external_url: Option<String>,
    pub alerts: Vec<Alert>,
}

/// One alert of a notification.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    #[serde(default = "firing")]
    pub status: String,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub generator_url: Option<String>,
}

fn firing() -> String {
    "firing".to_string()
}

fn by_alertname() -> Vec<String> {
    vec!["alertname".to_string()]
}

impl Notification {
    /// Check what the rendering relies on.
    pub fn check(&self) -> Result<(), String> {
        let status_ok = |s: &str| s == "firing" || s == "resolved";
        if !status_ok(&self.status) {
            return Err(format!(
                "status = {:?}: expected \"firing\" or \"resolved\"",
                self.status
            ));
        }
        if self.alerts.is_empty() {
            return Err("alerts: at least one [[notification.alerts]] is needed".into());
        }
        for (i, a) in self.alerts.iter().enumerate() {
            if !status_ok(&a.status) {
                return Err(format!(
                    "alerts[{i}].status = {:?}: expected \"firing\" or \"resolved\"",
                    a.status
                ));
            }
            if !a.labels.contains_key("alertname") {
                return Err(format!("alerts[{i}].labels: `alertname` is missing"));
            }
        }
        Ok(())
    }

    fn with_status<'a>(&'a self, status: &'a str) -> impl Iterator<Item = &'a Alert> + 'a {
        self.alerts.iter().filter(move |a| a.status == status)
    }

    /// Labels every alert of the group has, with the same value.
    pub fn common_labels(&self) -> BTreeMap<String, String> {
        let mut common = self
            .alerts
            .first()
            .map(|a| a.labels.clone())
            .unwrap_or_default();
        for a in self.alerts.iter().skip(1) {
            common.retain(|k, v| a.labels.get(k) == Some(v));
        }
        common
    }

    /// Alertmanager's default subject: `[FIRING:2] <group label values> (<other common
    /// label values>)`, values in label-name order.
    pub fn subject(&self) -> String {
        let common = self.common_labels();
        let firing = self.with_status("firing").count();
        let mut out = if self.status == "firing" {
            format!("[FIRING:{firing}]")
        } else {
            "[RESOLVED]".to_string()
        };
        let group: Vec<&str> = common
            .iter()
            .filter(|(k, _)| self.group_by.contains(k))
            .map(|(_, v)| v.as_str())
            .collect();
        if !group.is_empty() {
            out.push(' ');
            out.push_str(&group.join(" "));
        }
        let rest: Vec<&str> = common
            .iter()
            .filter(|(k, _)| !self.group_by.contains(k))
            .map(|(_, v)| v.as_str())
            .collect();
        if !rest.is_empty() {
            out.push_str(&format!(" ({})", rest.join(" ")));
        }
        out
    }

    /// The notification as text: the subject, then each alert's labels, annotations,
    /// start time and source, firing alerts first.
    pub fn render(&self) -> String {
        let mut out = self.subject();
        out.push('\n');
        for (status, heading) in [
            ("firing", "Alerts Firing:"),
            ("resolved", "Alerts Resolved:"),
        ] {
            let alerts: Vec<&Alert> = self.with_status(status).collect();
            if alerts.is_empty() {
                continue;
            }
            out.push_str(heading);
            out.push('\n');
            for a in alerts {
                out.push_str(&a.render());
            }
        }
        out
    }
}

impl Alert {
    /// Alertmanager's `__text_alert_list` for one alert, with its start (and end) time.
    fn render(&self) -> String {
        let mut out = String::from("Labels:\n");
        for (k, v) in &self.labels {
            out.push_str(&format!(" - {k} = {v}\n"));
        }
        out.push_str("Annotations:\n");
        for (k, v) in &self.annotations {
            out.push_str(&format!(" - {k} = {v}\n"));
        }
        out.push_str(&format!("Starts at: {}\n", go_time(&self.starts_at)));
        if let Some(end) = &self.ends_at {
            out.push_str(&format!("Ends at: {}\n", go_time(end)));
        }
        if let Some(url) = &self.generator_url {
            out.push_str(&format!("Source: {url}\n"));
        }
        out
    }
}

/// A time as Go's `time.Time.String()` prints it in UTC: `2025-06-14 02:13:05 +0000 UTC`.
fn go_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.f +0000 UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(pod: &str, status: &str) -> Alert {
        Alert {
            status: status.into(),
            labels: [
                ("alertname", "KubePodCrashLooping"),
                ("namespace", "payments"),
                ("pod", pod),
                ("severity", "warning"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            annotations: [("summary".to_string(), "Pod is crash looping.".to_string())].into(),
            starts_at: "2025-06-14T02:13:05Z".parse().unwrap(),
            ends_at: None,
            generator_url: Some("http://prometheus/graph?g0.expr=x".into()),
        }
    }

    #[test]
    fn the_subject_lists_group_values_then_the_other_common_labels() {
        let n = Notification {
            status: "firing".into(),
            receiver: None,
            group_by: vec!["alertname".into(), "namespace".into()],
            external_url: None,
            alerts: vec![alert("api-1", "firing"), alert("api-2", "resolved")],
        };
        assert!(n.check().is_ok());
        assert_eq!(
            n.subject(),
            "[FIRING:1] KubePodCrashLooping payments (warning)"
        );
        let text = n.render();
        let firing = text.find("Alerts Firing:").unwrap();
        let resolved = text.find("Alerts Resolved:").unwrap();
        assert!(firing < resolved, "{text}");
        assert!(text.contains(" - pod = api-1\n"), "{text}");
        assert!(
            text.contains("Starts at: 2025-06-14 02:13:05 +0000 UTC\n"),
            "{text}"
        );
    }

    #[test]
    fn an_alert_without_a_name_or_with_an_unknown_status_is_refused() {
        let mut a = alert("api-1", "firing");
        a.labels.remove("alertname");
        let n = Notification {
            status: "firing".into(),
            receiver: None,
            group_by: by_alertname(),
            external_url: None,
            alerts: vec![a],
        };
        assert!(n.check().unwrap_err().contains("alertname"));
        let n = Notification {
            alerts: vec![alert("api-1", "pending")],
            ..n
        };
        assert!(n.check().unwrap_err().contains("alerts[0].status"));
    }
}
