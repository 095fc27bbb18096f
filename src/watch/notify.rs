//! Sending an answer that cleared its threshold: to incoming webhooks (Slack's payload or
//! a generic JSON one) and to a command, each notification linking to its session. Text
//! is redacted before it leaves the process.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// What is sent about one investigation.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// Always `triage.notification`.
    pub kind: &'static str,
    pub investigation: String,
    pub session: String,
    pub group_key: String,
    pub alerts: Vec<AlertRef>,
    pub confidence: f32,
    pub threshold: f32,
    pub threshold_from: String,
    /// The answer's heading.
    pub summary: String,
    /// The answer (redacted, capped).
    pub answer: String,
    pub evidence: Vec<String>,
    /// How old the cluster data behind the answer was, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_age_secs: Option<u64>,
    /// Set when the data was older than the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<String>,
    pub links: Links,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRef {
    pub alertname: String,
    pub fingerprint: String,
    pub severity: Option<String>,
    pub namespace: Option<String>,
}

/// Where the session behind a notification can be read.
#[derive(Debug, Clone, Serialize)]
pub struct Links {
    /// `triage sessions show <id>`
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A webhook's payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Slack,
    Json,
}

/// A webhook to post to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub format: Format,
}

impl Webhook {
    /// `slack:URL`, `json:URL`, or a bare URL (Slack's format for hooks.slack.com and
    /// paths with `/slack`, JSON otherwise).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (format, url) = match spec.split_once(':') {
            Some(("slack", rest)) => (Some(Format::Slack), rest),
            Some(("json", rest)) => (Some(Format::Json), rest),
            _ => (None, spec),
        };
        let parsed: http::Uri = url
            .parse()
            .map_err(|e| format!("notify webhook {url:?} is not a URL: {e}"))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(format!(
                "notify webhook {url:?} must be an http:// or https:// URL"
            ));
        }
        let format = format.unwrap_or_else(|| {
            let slackish =
                parsed.host() == Some("hooks.slack.com") || parsed.path().contains("/slack");
            if slackish {
                Format::Slack
            } else {
                Format::Json
            }
        });
        Ok(Self {
            url: url.to_string(),
            format,
        })
    }

    /// The URL without its path (which often holds the webhook's secret).
    pub fn label(&self) -> String {
        let kind = match self.format {
            Format::Slack => "slack",
            Format::Json => "json",
        };
        match self.url.parse::<http::Uri>() {
            Ok(u) => format!(
                "{kind} webhook {}://{}",
                u.scheme_str().unwrap_or("http"),
                u.authority().map(|a| a.as_str()).unwrap_or("")
            ),
            Err(_) => format!("{kind} webhook"),
        }
    }
}

/// The body a webhook of `format` receives.
pub fn payload(n: &Notification, format: Format) -> Value {
    match format {
        Format::Json => serde_json::to_value(n).unwrap_or(Value::Null),
        Format::Slack => slack_payload(n),
    }
}

fn slack_payload(n: &Notification) -> Value {
    let alerts: Vec<String> = n.alerts.iter().map(|a| a.alertname.clone()).collect();
    let head = format!(
        "*{}* — {} (confidence {:.2}, threshold {:.2})",
        alerts.join(", "),
        n.summary,
        n.confidence,
        n.threshold
    );
    let mut context = format!("session `{}` · `{}`", n.session, n.links.command);
    if let Some(url) = &n.links.url {
        context.push_str(&format!(" · <{url}|open the session>"));
    }
    if let Some(s) = &n.stale {
        context.push_str(&format!(" · :warning: {s}"));
    }
    let body: String = n.answer.chars().take(2800).collect();
    json!({
        "text": format!("{head}\n{}", n.links.command),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": head}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]}
        ]
    })
}

/// Post to each webhook (three tries with backoff on connection errors and 5xx); the
/// targets that worked, and the errors of those that did not.
pub async fn send_webhooks(
    client: &reqwest::Client,
    hooks: &[Webhook],
    n: &Notification,
) -> (Vec<String>, Vec<(String, String)>) {
    let sends = hooks.iter().map(|h| async move {
        let body = serde_json::to_vec(&payload(n, h.format)).unwrap_or_default();
        (h.label(), post(client, &h.url, body).await)
    });
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (label, result) in futures::future::join_all(sends).await {
        match result {
            Ok(()) => ok.push(label),
            Err(e) => failed.push((label, e)),
        }
    }
    (ok, failed)
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(300 * 2u64.pow(attempt))).await;
        }
        let sent = client
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 429 => {
                last = format!("answered {}", r.status());
            }
            Ok(r) => return Err(format!("answered {}", r.status())),
            Err(e) => last = e.without_url().to_string(),
        }
    }
    Err(last)
}

/// Run the notification command with the notification as JSON on its standard input.
pub async fn run_command(argv: &[String], n: &Notification) -> Result<(), String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(());
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("TRIAGE_SESSION", &n.session)
        .env("TRIAGE_INVESTIGATION", &n.investigation)
        .env("TRIAGE_CONFIDENCE", format!("{:.2}", n.confidence))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let body = serde_json::to_vec(n).unwrap_or_default();
        // A command that does not read its input is its own business.
        let _ = stdin.write_all(&body).await;
    }
    match tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => Err(format!(
            "{program} exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Err(e)) => Err(format!("{program}: {e}")),
        Err(_) => Err(format!("{program} did not finish within 30 s")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Notification {
        Notification {
            kind: "triage.notification",
            investigation: "inv-1".into(),
            session: "20250601-115000-ab12".into(),
            group_key: "{}:{alertname=\"X\"}".into(),
            alerts: vec![AlertRef {
                alertname: "KubePodCrashLooping".into(),
                fingerprint: "f1".into(),
                severity: Some("critical".into()),
                namespace: Some("shop".into()),
            }],
            confidence: 0.85,
            threshold: 0.8,
            threshold_from: "default".into(),
            summary: "bad rollout of checkout-api".into(),
            answer: "## Likely cause\n…".into(),
            evidence: vec![],
            data_age_secs: Some(2),
            stale: None,
            links: Links {
                command: "triage sessions show 20250601-115000-ab12".into(),
                trace: None,
                url: Some("https://triage.example/s/20250601-115000-ab12".into()),
            },
        }
    }

    #[test]
    fn webhook_specs_pick_a_format_and_labels_hide_the_secret_path() {
        let h = Webhook::parse("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert_eq!(h.format, Format::Slack);
        assert_eq!(h.label(), "slack webhook https://hooks.slack.com");
        assert_eq!(
            Webhook::parse("http://127.0.0.1:9/hook").unwrap().format,
            Format::Json
        );
        let forced = Webhook::parse("slack:http://127.0.0.1:9/hook").unwrap();
        assert_eq!(
            (forced.format, forced.url.as_str()),
            (Format::Slack, "http://127.0.0.1:9/hook")
        );
        assert!(Webhook::parse("ftp://x/y").is_err());
        assert!(Webhook::parse("not a url").is_err());
    }

    #[test]
    fn both_payloads_link_the_session() {
        let n = sample();
        let slack = payload(&n, Format::Slack);
        let text = slack["text"].as_str().unwrap();
        assert!(text.contains("KubePodCrashLooping"), "{text}");
        assert!(
            text.contains("triage sessions show 20250601-115000-ab12"),
            "{text}"
        );
        assert!(
            slack["blocks"][2]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("<https://triage.example/s/20250601-115000-ab12|open the session>")
        );
        let generic = payload(&n, Format::Json);
        assert_eq!(generic["kind"], "triage.notification");
        assert_eq!(generic["session"], "20250601-115000-ab12");
        assert_eq!(
            generic["confidence"].as_f64().map(|c| (c * 100.0).round()),
            Some(85.0)
        );
    }

    #[tokio::test]
    async fn the_command_gets_the_notification_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            format!("cat > {}", out.display()),
        ];
        run_command(&argv, &sample()).await.unwrap();
        let got: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(got["investigation"], "inv-1");
        let e = run_command(&["false".to_string()], &sample())
            .await
            .unwrap_err();
        assert!(e.starts_with("false exited"), "{e}");
    }
}
