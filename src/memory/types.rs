//! What a memory is: its kind, status, scope, claim and check; recall queries and hits;
//! the alert patterns and path globs scopes match with.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    Procedural,
    Episodic,
    Correction,
}

impl MemoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryKind::Procedural => "procedural",
            MemoryKind::Episodic => "episodic",
            MemoryKind::Correction => "correction",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "procedural" => Ok(MemoryKind::Procedural),
            "episodic" => Ok(MemoryKind::Episodic),
            "correction" => Ok(MemoryKind::Correction),
            other => Err(format!(
                "unknown memory kind {other:?}; use procedural, episodic or correction"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryStatus {
    Proposed,
    Active,
    Retired,
}

impl MemoryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryStatus::Proposed => "proposed",
            MemoryStatus::Active => "active",
            MemoryStatus::Retired => "retired",
        }
    }
}

/// Where a memory applies. Empty fields match anything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

impl Scope {
    /// `KEY=VALUE` as on the command line (`service=checkout-api`, `paths=src/**`).
    pub fn set(&mut self, pair: &str) -> Result<(), String> {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("scope {pair:?} is not KEY=VALUE"))?;
        let v = v.trim().to_string();
        match k.trim() {
            "alert" => self.alert = Some(v),
            "service" => self.service = Some(v),
            "namespace" | "ns" => self.namespace = Some(v),
            "cluster" | "context" => self.cluster = Some(v),
            "path" | "paths" => self
                .paths
                .extend(v.split(',').map(|s| s.trim().to_string())),
            other => {
                return Err(format!(
                    "unknown scope key {other:?}; use alert, service, namespace, cluster or paths"
                ));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self == &Scope::default()
    }

    /// Words of the scope, for full-text search.
    pub fn words(&self) -> String {
        [&self.alert, &self.service, &self.namespace, &self.cluster]
            .iter()
            .filter_map(|v| v.as_deref())
            .chain(self.paths.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        for (k, v) in [
            ("alert", &self.alert),
            ("service", &self.service),
            ("namespace", &self.namespace),
            ("cluster", &self.cluster),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={v}"));
            }
        }
        if !self.paths.is_empty() {
            parts.push(format!("paths={}", self.paths.join(",")));
        }
        if parts.is_empty() {
            f.write_str("anywhere")
        } else {
            f.write_str(&parts.join(" "))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: String,
    pub kind: MemoryKind,
    pub text: String,
    #[serde(default)]
    pub scope: Scope,
    pub confidence: f32,
    /// Who or what made it: `user`, `runbook:docs/runbooks/x.md`, `session:<id>`.
    pub source: String,
    pub status: MemoryStatus,
    pub created: i64,
    pub updated: i64,
    #[serde(default)]
    pub last_used: Option<i64>,
    #[serde(default)]
    pub uses: u32,
    #[serde(default)]
    pub confirmations: u32,
    #[serde(default)]
    pub contradictions: u32,
    /// What it asserts, in a form one read can check (episodes carry one; a user's
    /// correction may not, and is then checked by the names it mentions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// A person confirmed it (kept it when it was proposed, or edited it). Memories a
    /// person wrote (`source: user`) count as confirmed; synced runbooks, episodes the
    /// agent wrote and imports do not until someone does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reviewed: bool,
    /// The repository a synced runbook came from (its canonical path on this machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
}

/// What an episode or correction asserts: the object, the cause, and the read that
/// confirms it today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// `Kind/namespace/name` of the object the cause is about.
    pub resource: String,
    /// The cause, as an answer states it.
    pub hypothesis: String,
    pub check: Check,
    /// Suggested commands and why, read commands first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<(String, String)>,
    /// The right response is to leave it alone.
    #[serde(default)]
    pub expected: bool,
}

impl Claim {
    /// (kind, namespace, name) of the resource.
    pub fn parts(&self) -> (&str, Option<&str>, &str) {
        let parts: Vec<&str> = self.resource.split('/').collect();
        match parts.as_slice() {
            [kind, ns, name] => (kind, Some(ns), name),
            [kind, name] => (kind, None, name),
            _ => ("", None, self.resource.as_str()),
        }
    }
}

/// The one read that tells whether a cause holds now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Check {
    /// Nothing cheap confirms it.
    #[default]
    None,
    /// The newest ReplicaSet is the one failing; the previous one is healthy.
    NewReplicaSetFailing,
    /// A pod of the workload last terminated OOMKilled.
    OomAtLimit,
    /// The Deployment behind a Service is scaled to zero.
    NoEndpoints,
    /// A dependency has no ready replicas (a Deployment, or the `kind` named:
    /// `StatefulSet`).
    DependencyDown {
        service: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    },
    /// A ConfigMap key is missing (`value` absent) or holds this value.
    ConfigKey {
        configmap: String,
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<String>,
    },
    /// Pods of the workload cannot be scheduled.
    Unschedulable,
    /// The CronJob ran recently (it is not suspended, and its last run or an active
    /// Job falls in the last few hours).
    CronJobRan { cronjob: String },
    /// The object (`Kind/namespace/name`) does not exist.
    Missing { resource: String },
    /// The object exists (and, with a key, holds that key).
    Present {
        resource: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Pods of the workload still show this reason (waiting, terminated, pending,
    /// evicted); empty: they are still failing.
    PodsShow { reason: String },
    /// A node condition still holds (`Ready` means not ready).
    NodeCondition { node: String, condition: String },
    /// A Service has no ready endpoints.
    ServiceEmpty { service: String },
    /// An autoscaler runs at its maximum replicas.
    AtMaximum { hpa: String },
}

impl Memory {
    pub fn new(kind: MemoryKind, text: impl Into<String>, scope: Scope, source: &str) -> Self {
        let now = chrono::Utc::now().timestamp();
        let text = text.into();
        let id = format!(
            "m-{}",
            &blake3::hash(format!("{now}{text}{}", std::process::id()).as_bytes()).to_hex()[..8]
        );
        Self {
            id,
            kind,
            text,
            scope,
            confidence: 0.6,
            source: source.to_string(),
            status: MemoryStatus::Active,
            created: now,
            updated: now,
            last_used: None,
            uses: 0,
            confirmations: 0,
            contradictions: 0,
            claim: None,
            reviewed: false,
            repo: None,
        }
    }

    /// Whether no person has confirmed it: it is shown as unconfirmed, and what it
    /// suggests is checked before it is proposed.
    pub fn unconfirmed(&self) -> bool {
        !(self.reviewed || self.source == "user" || self.source.starts_with("user:"))
    }

    /// A check today agreed with it: more confidence, one more use.
    pub fn confirm(&mut self) {
        let now = chrono::Utc::now().timestamp();
        self.confirmations += 1;
        self.uses += 1;
        self.last_used = Some(now);
        self.updated = now;
        self.confidence = (self.confidence + (1.0 - self.confidence) * 0.25).min(0.95);
    }

    /// A check today disagreed. Contradicted at least twice, and more often than
    /// confirmed, it is retired. Returns whether it was.
    pub fn contradict(&mut self) -> bool {
        self.contradictions += 1;
        self.updated = chrono::Utc::now().timestamp();
        self.confidence = (self.confidence * 0.6).max(0.05);
        if self.contradictions >= 2 && self.contradictions > self.confirmations {
            self.status = MemoryStatus::Retired;
            return true;
        }
        false
    }

    /// A person's rating: a signal that moves confidence, not a verdict; a later check
    /// or correction can overturn it.
    pub fn rate(&mut self, helpful: bool) {
        self.updated = chrono::Utc::now().timestamp();
        self.confidence = if helpful {
            (self.confidence + 0.1).min(0.9)
        } else {
            (self.confidence - 0.15).max(0.05)
        };
    }

    /// The first line, without Markdown heading marks.
    pub fn title(&self) -> &str {
        self.text
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

/// A glob (`*` any run of characters, `**` across `/`, `?` one character) as a regex.
fn glob_regex(glob: &str, anchored: bool) -> Option<regex::Regex> {
    let mut re = String::new();
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str(if anchored { "[^/]*" } else { "\\S*" }),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    let re = if anchored {
        format!("^{re}$")
    } else {
        format!("(?i){re}")
    };
    regex::Regex::new(&re).ok()
}

/// Whether a path glob (`services/checkout-api/**`, `*.go`) matches `path`.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    let path = path.trim_matches(|c: char| matches!(c, '`' | '"' | '\'' | ',' | ':' | '(' | ')'));
    let path = path.strip_prefix("./").unwrap_or(path);
    let glob = glob.strip_prefix("./").unwrap_or(glob);
    // Relative to any folder: `services/x/**` matches `/src/services/x/main.go` from a
    // stack trace, and `*.go` matches at any depth.
    glob_regex(&format!("**/{glob}"), true)
        .is_some_and(|r| r.is_match(path) || r.is_match(&format!("/{path}")))
}

/// Whether an alert name or pattern (`Kube*CrashLooping`) appears in `text`.
pub fn pattern_in(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return text.to_lowercase().contains(&pattern.to_lowercase());
    }
    glob_regex(pattern, false).is_some_and(|r| r.is_match(text))
}

/// What recall is looking for.
#[derive(Debug, Clone, Default)]
pub struct RecallQuery {
    pub text: String,
    pub scope: Scope,
}

/// A recalled memory, with why it matched.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryHit {
    pub memory: Memory,
    pub score: f32,
    pub why: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_patterns_and_path_globs_match_what_they_should() {
        assert!(pattern_in("ConsumerLag", "consumerlag on orders-worker"));
        assert!(pattern_in(
            "Kube*CrashLooping",
            "KubePodCrashLooping: checkout-api"
        ));
        assert!(!pattern_in("Kube*CrashLooping", "KubeJobFailed: backfill"));
        assert!(glob_matches(
            "services/checkout-api/**",
            "services/checkout-api/cmd/checkout-api/config.go"
        ));
        assert!(glob_matches("*.go", "`services/checkout-api/main.go`,"));
        assert!(!glob_matches(
            "services/checkout-api/**",
            "services/orders-worker/worker.py"
        ));
        assert!(
            !glob_matches("src/*.rs", "src/agent/exec.rs"),
            "* stays in one folder"
        );
        assert!(glob_matches(
            "services/checkout-api/**",
            "/src/services/checkout-api/cmd/checkout-api/config.go"
        ));
    }

    #[test]
    fn scope_pairs_parse_and_bad_keys_say_what_is_valid() {
        let mut s = Scope::default();
        s.set("service=checkout-api").unwrap();
        s.set("paths=src/a.rs,src/b.rs").unwrap();
        assert_eq!(
            s.to_string(),
            "service=checkout-api paths=src/a.rs,src/b.rs"
        );
        let e = s.set("team=x").unwrap_err();
        assert!(e.contains("use alert, service"), "{e}");
        assert!(s.set("nonsense").is_err());
    }
}
