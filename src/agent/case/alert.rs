//! Reading an alert as Alertmanager sends it (or as a person types it): its name, labels,
//! annotations and start time, and which labels could name the object at fault.
//!
//! Labels are read critically. `job`, `instance`, `endpoint`, `prometheus` and often
//! `service` and `container` name the monitoring system that scraped the metric (the
//! kube-state-metrics Service, an exporter's endpoint), not the culprit; they count only
//! when they name an object of the cluster that is not part of monitoring.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use regex::Regex;

/// What the alert says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Alert {
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// When it started firing, when the text says.
    pub starts_at: Option<DateTime<Utc>>,
    /// What kind of trouble the words describe.
    pub symptom: AlertSymptom,
}

/// The trouble an alert reports, from its name and words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AlertSymptom {
    /// Errors returned to callers (5xx, error rate, failed requests).
    Errors,
    /// Slowness (latency, p99, timeouts).
    Latency,
    /// Work piling up (lag, backlog, queue depth).
    Backlog,
    /// Not running or not available (down, crash, restarts, pending, not ready).
    Availability,
    /// A resource running out (memory, CPU, disk, throttling).
    Saturation,
    /// A scheduled or batch job failed or did not run.
    Batch,
    /// Certificates or expiry.
    Expiry,
    #[default]
    Unknown,
}

impl AlertSymptom {
    /// Whether healthy-looking pods' logs are worth reading.
    pub fn reads_logs(self) -> bool {
        matches!(
            self,
            Self::Errors | Self::Latency | Self::Backlog | Self::Expiry | Self::Unknown
        )
    }
}

/// Labels that name what the alert is about, strongest first.
pub const OBJECT_LABELS: &[(&str, &str)] = &[
    ("pod", "Pod"),
    ("exported_pod", "Pod"),
    ("deployment", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("job_name", "Job"),
    ("cronjob", "CronJob"),
    ("horizontalpodautoscaler", "HorizontalPodAutoscaler"),
    ("hpa", "HorizontalPodAutoscaler"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    ("node", "Node"),
    ("ingress", "Ingress"),
    ("destination_workload", "Deployment"),
    ("workload", "Deployment"),
    ("app_kubernetes_io_name", "Deployment"),
    ("app", "Deployment"),
    ("exported_service", "Service"),
    ("service_name", "Service"),
    ("destination_service_name", "Service"),
    ("secret", "Secret"),
    ("configmap", "ConfigMap"),
];

/// Labels that usually name the monitoring system rather than the culprit.
pub const MONITORING_LABELS: &[&str] = &["service", "job", "instance", "endpoint", "container"];

/// Labels and annotations that are never object names.
const IGNORED: &[&str] = &[
    "alertname",
    "severity",
    "prometheus",
    "namespace",
    "exported_namespace",
    "reason",
    "phase",
    "condition",
    "status",
    "team",
    "cluster",
    "region",
    "uid",
    "le",
    "quantile",
    "code",
    "method",
    "route",
    "path",
    "resource",
    "unit",
    "verb",
    "priority",
];

const ANNOTATIONS: &[&str] = &[
    "summary",
    "description",
    "message",
    "runbook_url",
    "runbook",
    "dashboard",
    "impact",
];

/// Names of monitoring components: a label naming one of these is not the culprit.
const MONITORING_NAMES: &[&str] = &[
    "kube-state-metrics",
    "node-exporter",
    "prometheus",
    "alertmanager",
    "blackbox-exporter",
    "grafana",
    "kubelet",
    "cadvisor",
    "pushgateway",
    "thanos",
    "otel-collector",
    "opentelemetry-collector",
    "datadog",
    "victoria-metrics",
    "vmagent",
];

/// Whether a name belongs to the monitoring system.
pub fn is_monitoring(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    MONITORING_NAMES.iter().any(|m| n.contains(m))
}

static LINE_PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?m)^[\s\-*•]*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=|:)\s*"?(.+?)"?\s*,?\s*$"#).ok()
});
static INLINE_PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"\b([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"?([A-Za-z0-9][A-Za-z0-9_.:/\-]*)"?"#).ok()
});
static FIRING: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\[(?:FIRING|RESOLVED)(?::\d+)?\]\s*([A-Za-z][A-Za-z0-9_]+)").ok()
});
static ISO_TIME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?\s*(Z|UTC|\+00:00)?")
        .ok()
});
static CLOCK: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:since|from|at|started|starting|starts)\b[^0-9\n]{0,12}(\d{1,2}):(\d{2})\b",
    )
    .ok()
});

fn re(r: &'static LazyLock<Option<Regex>>) -> Option<&'static Regex> {
    r.as_ref()
}

/// An alert name leading a request (`KubePodCrashLooping: …`, `ConsumerLag …`): one
/// CamelCase word with at least two capitals.
pub fn alert_name(request: &str) -> Option<String> {
    let first = request
        .split_whitespace()
        .next()?
        .trim_end_matches([':', ',']);
    let capitals = first.chars().filter(|c| c.is_ascii_uppercase()).count();
    (capitals >= 2
        && first.len() >= 6
        && first.chars().all(|c| c.is_ascii_alphanumeric())
        && first.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && first.chars().any(|c| c.is_ascii_lowercase()))
    .then(|| first.to_string())
}

/// Parse an alert's text. `now` places a bare `since 14:05` on the right day.
pub fn parse(text: &str, now: DateTime<Utc>) -> Alert {
    let mut alert = Alert::default();
    if let Some(r) = re(&LINE_PAIR) {
        for c in r.captures_iter(text) {
            let key = c[1].to_ascii_lowercase();
            let value = c[2].trim().trim_matches('"').to_string();
            if ANNOTATIONS.contains(&key.as_str()) {
                alert.annotations.insert(key, value);
            } else if !value.contains(' ') && !value.is_empty() {
                alert.labels.entry(key).or_insert(value);
            }
        }
    }
    if let Some(r) = re(&INLINE_PAIR) {
        for c in r.captures_iter(text) {
            let key = c[1].to_ascii_lowercase();
            if !ANNOTATIONS.contains(&key.as_str()) {
                alert.labels.entry(key).or_insert_with(|| c[2].to_string());
            }
        }
    }
    alert.name = alert
        .labels
        .get("alertname")
        .cloned()
        .or_else(|| {
            re(&FIRING)
                .and_then(|r| r.captures(text))
                .map(|c| c[1].to_string())
        })
        .or_else(|| alert_name(text));
    alert.starts_at = start_time(text, now);
    alert.symptom = symptom(text);
    alert
}

/// When the trouble started: an ISO time in the text, or a clock time after "since",
/// "at", "from" (the latest such time not after `now`).
fn start_time(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Alertmanager's own line first, then any timestamp.
    let starts = text
        .find("Starts at:")
        .or_else(|| text.find("startsAt"))
        .map_or(text, |i| &text[i..]);
    if let Some(c) = re(&ISO_TIME).and_then(|r| r.captures(starts).or_else(|| r.captures(text))) {
        let time = if c[2].len() == 5 {
            format!("{}:00", &c[2])
        } else {
            c[2].to_string()
        };
        if let Ok(t) =
            chrono::NaiveDateTime::parse_from_str(&format!("{} {time}", &c[1]), "%Y-%m-%d %H:%M:%S")
        {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    let c = re(&CLOCK)?.captures(text)?;
    let (h, m) = (c[1].parse().ok()?, c[2].parse().ok()?);
    let clock = NaiveTime::from_hms_opt(h, m, 0)?;
    let today = Utc.from_utc_datetime(&now.date_naive().and_time(clock));
    Some(if today > now + Duration::minutes(5) {
        today - Duration::days(1)
    } else {
        today
    })
}

/// The kind of trouble, from the alert's words.
fn symptom(text: &str) -> AlertSymptom {
    let t = word_starts(text);
    let has = |words: &[&str]| words.iter().any(|w| t.contains(&format!(" {w}")));
    let latency = has(&[
        "latency",
        "p99",
        "p95",
        "slow",
        "timeout",
        "timing out",
        "duration",
    ]);
    if has(&["certificate", "cert expir", "x509", "tls expir", "ssl"]) {
        AlertSymptom::Expiry
    } else if has(&[
        "5xx",
        "error rate",
        "errors",
        "http 5",
        "5.. ",
        "failed requests",
    ]) || (has(&["error budget", "burn"]) && !latency)
    {
        // An SLO's error budget burns for whatever its SLI counts: a latency SLO's for
        // slow requests.
        AlertSymptom::Errors
    } else if latency {
        AlertSymptom::Latency
    } else if has(&["lag", "backlog", "queue", "piling", "pending messages"]) {
        AlertSymptom::Backlog
    } else if has(&["job failed", "cron job", "backup", "not run", "missed"]) {
        AlertSymptom::Batch
    } else if has(&[
        "down",
        "crash",
        "restart",
        "pending",
        "not ready",
        "unavailable",
        "mismatch",
        "degraded",
        "rollout",
        "replicas",
        "not starting",
        "evict",
        "unhealthy",
    ]) {
        AlertSymptom::Availability
    } else if has(&[
        "throttl",
        "memory",
        "cpu",
        "disk",
        "filesystem",
        "volume",
        "space",
        "pressure",
        "oom",
        "saturat",
    ]) {
        AlertSymptom::Saturation
    } else {
        AlertSymptom::Unknown
    }
}

/// The text with a space before every word, so that a term matches only where a word
/// starts: `space` is not found in `namespace`, nor `oom` in `room`. Identifiers are
/// split into their words (`KubePodCrashLooping`, `OOMKilled`, `job_failed`), and
/// everything but letters, digits, `.` and spaces counts as a space.
fn word_starts(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + text.len() / 4 + 1);
    out.push(' ');
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        let split = prev.is_some_and(|p| {
            (p.is_lowercase() && c.is_uppercase())
                || (p.is_uppercase() && c.is_uppercase() && next_lower)
        });
        if split {
            out.push(' ');
        }
        if c.is_alphanumeric() || c == '.' {
            out.extend(c.to_lowercase());
        } else {
            out.push(' ');
        }
    }
    out
}

impl Alert {
    /// Label values that could name an object, with the kind the label implies and how
    /// much the label is to be trusted (1.0 for object labels, lower for labels that
    /// usually name the monitoring system). Values naming monitoring components are
    /// left out.
    pub fn object_hints(&self) -> Vec<(String, Option<&'static str>, f32)> {
        let mut out = Vec::new();
        for (label, kind) in OBJECT_LABELS {
            let Some(v) = self.labels.get(*label) else {
                continue;
            };
            if !is_monitoring(v) {
                out.push((v.clone(), Some(*kind), 1.0));
            } else if !self.names_the_scraper(label, v) {
                // A monitoring component's own object (its volume filling, its pod
                // crashing) can be what the alert is about: weaker than another object
                // label, stronger than a label that usually names the scraper.
                out.push((v.clone(), Some(*kind), 0.5));
            }
        }
        for label in MONITORING_LABELS {
            if let Some(v) = self.labels.get(*label)
                && !is_monitoring(v)
            {
                // `instance` is host:port or ip:port: the host part may still be a node.
                let v = v.split(':').next().unwrap_or(v).to_string();
                out.push((v, None, 0.4));
            }
        }
        out
    }

    /// Whether an object label's value is the scraper's own rather than the subject's:
    /// the subject moved to `exported_<label>` (a scrape without `honor_labels`), or the
    /// value is what `job`, `service` or `container` call the scraper.
    fn names_the_scraper(&self, label: &str, value: &str) -> bool {
        self.labels.contains_key(&format!("exported_{label}"))
            || ["job", "service", "container"].iter().any(|k| {
                self.labels
                    .get(*k)
                    .is_some_and(|s| !s.is_empty() && value.starts_with(s.as_str()))
            })
    }

    /// The namespace the alert is about, when a label says.
    pub fn namespace(&self) -> Option<&str> {
        // `exported_namespace` is the application's when the scraper (an ingress
        // controller, kube-state-metrics with relabelling) sits in its own namespace.
        self.labels
            .get("exported_namespace")
            .or_else(|| self.labels.get("namespace"))
            .map(String::as_str)
    }

    /// Every label and annotation value, for word matching (ignored keys left out).
    pub fn words(&self) -> String {
        let labels = self
            .labels
            .iter()
            .filter(|(k, _)| {
                !IGNORED.contains(&k.as_str()) && !MONITORING_LABELS.contains(&k.as_str())
            })
            .map(|(_, v)| v.as_str());
        let notes = self.annotations.values().map(String::as_str);
        labels.chain(notes).collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_words_match_where_words_start() {
        // Label keys and other words that merely contain a term do not count.
        for text in [
            "[FIRING:1] CheckoutStatus\nLabels:\n - namespace = shop\n - room = blue\n - flag = on",
            "shutdown planned; breakdown by region; enqueued",
        ] {
            assert_eq!(symptom(text), AlertSymptom::Unknown, "{text}");
        }
        // Identifiers are read as their words.
        for (text, want) in [
            ("KubeContainerOOMKilled", AlertSymptom::Saturation),
            ("KubePodCrashLooping", AlertSymptom::Availability),
            ("NodeNotReady", AlertSymptom::Availability),
            ("KubeJobFailed", AlertSymptom::Batch),
            ("KubeCronJobMissedSchedule", AlertSymptom::Batch),
            ("CPUThrottlingHigh", AlertSymptom::Saturation),
            ("NodeFilesystemSpaceFillingUp", AlertSymptom::Saturation),
            ("ApiErrorBudgetBurn", AlertSymptom::Errors),
            ("CheckoutHighErrorRate", AlertSymptom::Errors),
            ("LatencyP99High", AlertSymptom::Latency),
            ("KafkaConsumerLag", AlertSymptom::Backlog),
            (
                "rate(http_requests_total{status=~\"5..\"}[5m])",
                AlertSymptom::Errors,
            ),
            ("TLSCertificateExpiringSoon", AlertSymptom::Expiry),
        ] {
            assert_eq!(symptom(text), want, "{text}");
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 1, 14, 20, 0).unwrap()
    }

    #[test]
    fn alertmanager_text_gives_labels_annotations_and_start() {
        let text = "[FIRING:1] KubePodCrashLooping (shop checkout-api-7c9d-x2x api)\n\
            Labels:\n - alertname = KubePodCrashLooping\n - container = api\n - endpoint = http\n\
            - job = kube-state-metrics\n - namespace = shop\n - pod = checkout-api-7c9d-x2x\n\
            - service = prometheus-kube-state-metrics\n - severity = warning\n\
            Annotations:\n - description = Pod shop/checkout-api-7c9d-x2x (api) is restarting 2.5 times / 10 minutes.\n\
            - summary = Pod is crash looping.\n\
            Starts at: 2025-06-01 14:05:12.345 +0000 UTC";
        let a = parse(text, now());
        assert_eq!(a.name.as_deref(), Some("KubePodCrashLooping"));
        assert_eq!(a.labels["pod"], "checkout-api-7c9d-x2x");
        assert_eq!(a.namespace(), Some("shop"));
        assert!(a.annotations["summary"].contains("crash looping"));
        assert_eq!(
            a.starts_at,
            Some(Utc.with_ymd_and_hms(2025, 6, 1, 14, 5, 12).unwrap())
        );
        let hints = a.object_hints();
        assert_eq!(hints[0], ("checkout-api-7c9d-x2x".into(), Some("Pod"), 1.0));
        // The scraping Service and job name monitoring, not the culprit.
        assert!(!hints.iter().any(|h| h.0.contains("kube-state-metrics")));
        assert_eq!(a.symptom, AlertSymptom::Availability);
    }

    #[test]
    fn a_monitoring_components_own_object_is_a_weaker_hint_unless_it_is_the_scraper() {
        // Prometheus's own volume filling up: the claim is the subject.
        let own = parse(
            "KubePersistentVolumeFillingUp\nLabels:\n - job = kubelet\n - namespace = monitoring\n\
             - persistentvolumeclaim = prometheus-db-prometheus-0\n",
            now(),
        );
        assert!(own.object_hints().contains(&(
            "prometheus-db-prometheus-0".into(),
            Some("PersistentVolumeClaim"),
            0.5
        )));
        // Scraped without honor_labels: `pod` is kube-state-metrics's, `exported_pod` the subject's.
        let scraped = parse(
            "KubePodNotReady\nLabels:\n - exported_pod = search-api-0\n - job = kube-state-metrics\n\
             - pod = kube-state-metrics-6d4f9-abcde\n",
            now(),
        );
        let hints = scraped.object_hints();
        assert!(hints.contains(&("search-api-0".into(), Some("Pod"), 1.0)));
        assert!(!hints.iter().any(|h| h.0.starts_with("kube-state-metrics")));
    }

    #[test]
    fn prometheus_style_labels_and_a_clock_time() {
        let a = parse(
            "HighErrorRate {namespace=\"shop\", service=\"checkout-api\", job=\"checkout-api\"} 5xx ratio 12% since 13:58",
            now(),
        );
        assert_eq!(a.name.as_deref(), Some("HighErrorRate"));
        assert_eq!(a.labels["service"], "checkout-api");
        assert_eq!(
            a.starts_at,
            Some(Utc.with_ymd_and_hms(2025, 6, 1, 13, 58, 0).unwrap())
        );
        assert_eq!(a.symptom, AlertSymptom::Errors);
        // A clock time later than now is yesterday's.
        let late = parse("lag since 23:50", now());
        assert_eq!(
            late.starts_at,
            Some(Utc.with_ymd_and_hms(2025, 5, 31, 23, 50, 0).unwrap())
        );
        assert_eq!(late.symptom, AlertSymptom::Backlog);
    }

    #[test]
    fn plain_requests_still_parse() {
        let a = parse("checkout-api 5xx since 14:05", now());
        assert_eq!(a.name, None);
        assert!(a.labels.is_empty(), "{:?}", a.labels);
        assert_eq!(a.symptom, AlertSymptom::Errors);
        assert!(is_monitoring("prometheus-kube-state-metrics"));
        assert!(!is_monitoring("checkout-api"));
    }
}
