//! Redaction: secrets are replaced by stable placeholders before any text reaches the
//! model. Each secret gets one placeholder per [`Redactor`] (`[REDACTED:github-token#1]`),
//! so the model can still tell two secrets apart and refer back to one, and the view can
//! map placeholders back for local display.
//!
//! One pass finds candidate spans: a `RegexSet` says which patterns occur at all, and only
//! those run again to locate matches; Kubernetes Secret maps are found by small scanners
//! that understand YAML indentation and JSON nesting, which a regex cannot.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use regex::{Captures, Regex, RegexSet};

use crate::config::AgentConfig;

mod builtin;
mod k8s;
pub mod table;

use builtin::{
    Check, MIN_ENV_VALUE_LEN, SECRET_ENV_WORDS, SECRET_KEY_WORDS, ascii_boundaries, builtin_rules,
    is_reference, kind_for_key, plausible_quoted, span_of,
};

/// A configured pattern that does not compile.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    #[error("agent.redact_patterns[{index}] ({pattern:?}) is not a valid regex: {source}")]
    BadPattern {
        index: usize,
        pattern: String,
        source: regex::Error,
    },
    #[error("built-in redaction pattern {kind} does not compile: {source}")]
    BuiltIn {
        kind: &'static str,
        source: regex::Error,
    },
    #[error("the secret rule table is broken: {0}")]
    Table(String),
}

/// Redacted text and how many secrets were replaced in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub count: usize,
}

/// Replaces secrets with placeholders; cheap to share (`&self` everywhere).
pub struct Redactor {
    rules: Vec<Rule>,
    prefilter: RegexSet,
    env: Option<EnvSecrets>,
    placeholder: Regex,
    secret_key: Regex,
    /// `"name": "X", "value": "…"` pairs in JSON text (either order).
    env_pair: Regex,
    vault: Mutex<Vault>,
}

impl std::fmt::Debug for Redactor {
    // The vault holds the secrets themselves, so it never appears in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("rules", &self.rules.len())
            .field(
                "env_values",
                &self.env.as_ref().map_or(0, |e| e.names.len()),
            )
            .finish_non_exhaustive()
    }
}

struct Rule {
    regex: Regex,
    check: Check,
}

struct EnvSecrets {
    regex: Regex,
    /// Value → variable name, for the placeholder's kind.
    names: HashMap<String, String>,
}

#[derive(Default)]
struct Vault {
    by_secret: HashMap<String, String>,
    by_placeholder: HashMap<String, String>,
    counters: HashMap<String, usize>,
}

impl Vault {
    fn placeholder(&mut self, kind: &str, secret: &str) -> String {
        if let Some(p) = self.by_secret.get(secret) {
            return p.clone();
        }
        let n = self.counters.entry(kind.to_string()).or_insert(0);
        *n += 1;
        let p = format!("[REDACTED:{kind}#{n}]");
        self.by_secret.insert(secret.to_string(), p.clone());
        self.by_placeholder.insert(p.clone(), secret.to_string());
        p
    }
}

/// A candidate secret: byte range, kind, and rank among rules for ties.
struct Span {
    range: Range<usize>,
    kind: Cow<'static, str>,
    rank: usize,
}

impl Redactor {
    /// Built-in patterns plus `config.redact_patterns`; no environment values.
    pub fn new(config: &AgentConfig) -> Result<Self, RedactError> {
        let mut rules = Vec::new();
        let mut sources = Vec::new();
        for (kind, pattern, check) in builtin_rules() {
            let pattern = ascii_boundaries(&pattern);
            let regex =
                Regex::new(&pattern).map_err(|source| RedactError::BuiltIn { kind, source })?;
            sources.push(pattern);
            rules.push(Rule { regex, check });
        }
        for rule in table::rules().map_err(RedactError::Table)? {
            let pattern = ascii_boundaries(&rule.regex);
            let regex = Regex::new(&pattern)
                .map_err(|e| RedactError::Table(format!("rule {}: {e}", rule.kind)))?;
            sources.push(pattern);
            rules.push(Rule {
                regex,
                check: Check::Named(rule.kind),
            });
        }
        for (index, pattern) in config.redact_patterns.iter().enumerate() {
            let regex = Regex::new(pattern).map_err(|source| RedactError::BadPattern {
                index,
                pattern: pattern.clone(),
                source,
            })?;
            sources.push(pattern.clone());
            rules.push(Rule {
                regex,
                check: Check::Kind("custom"),
            });
        }
        let prefilter = RegexSet::new(&sources).map_err(|source| RedactError::BuiltIn {
            kind: "prefilter",
            source,
        })?;
        let placeholder = Regex::new(r"\[REDACTED:[^\]\s#]+#[0-9]+\]").map_err(|source| {
            RedactError::BuiltIn {
                kind: "placeholder",
                source,
            }
        })?;
        let secret_key =
            Regex::new(&format!(r"(?i)^[a-z0-9_.-]*{SECRET_KEY_WORDS}$")).map_err(|source| {
                RedactError::BuiltIn {
                    kind: "secret-key",
                    source,
                }
            })?;
        let env_pair = Regex::new(
            r#"\\?"name\\?"\s*:\s*\\?"(?P<n1>[A-Za-z0-9_.-]+)\\?"\s*,\s*\\?"value\\?"\s*:\s*\\?"(?P<v1>[^"\\]*)|\\?"value\\?"\s*:\s*\\?"(?P<v2>[^"\\]*)\\?"\s*,\s*\\?"name\\?"\s*:\s*\\?"(?P<n2>[A-Za-z0-9_.-]+)"#,
        )
        .map_err(|source| RedactError::BuiltIn {
            kind: "env-pair",
            source,
        })?;
        Ok(Self {
            rules,
            prefilter,
            env: None,
            placeholder,
            secret_key,
            env_pair,
            vault: Mutex::new(Vault::default()),
        })
    }

    /// [`Redactor::new`] plus the values of this process's secret-looking environment
    /// variables (`GITHUB_TOKEN`, `OPENAI_API_KEY`, `DB_PASSWORD`, …).
    pub fn from_env(config: &AgentConfig) -> Result<Self, RedactError> {
        Ok(Self::new(config)?.with_env_values(std::env::vars()))
    }

    /// Also redact the values of these `(name, value)` pairs whose name looks secret.
    pub fn with_env_values<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut names = self.env.take().map(|e| e.names).unwrap_or_default();
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref());
            if secret_env_name(name) && value.trim().len() >= MIN_ENV_VALUE_LEN {
                names
                    .entry(value.to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
        if names.is_empty() {
            return self;
        }
        // Longest first, so a value that contains another is replaced whole.
        let mut values: Vec<&String> = names.keys().collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let alternation = values
            .iter()
            .map(|v| regex::escape(v))
            .collect::<Vec<_>>()
            .join("|");
        match Regex::new(&alternation) {
            Ok(regex) => self.env = Some(EnvSecrets { regex, names }),
            // Only a pathological number of values can exceed the size limit; the
            // built-in patterns still apply.
            Err(e) => tracing::warn!("environment values are not redacted: {e}"),
        }
        self
    }

    /// Replace every secret in `text` with its placeholder.
    pub fn redact(&self, text: &str) -> Redacted {
        let spans = self.find(text);
        if spans.is_empty() {
            return Redacted {
                text: text.to_string(),
                count: 0,
            };
        }
        let mut vault = self.vault.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for span in &spans {
            out.push_str(&text[at..span.range.start]);
            out.push_str(&vault.placeholder(&span.kind, &text[span.range.clone()]));
            at = span.range.end;
        }
        out.push_str(&text[at..]);
        Redacted {
            text: out,
            count: spans.len(),
        }
    }

    /// Put the secrets back, for local display only; unknown placeholders stay as they are.
    pub fn unredact(&self, text: &str) -> String {
        let vault = self.vault.lock().unwrap_or_else(PoisonError::into_inner);
        if vault.by_placeholder.is_empty() {
            return text.to_string();
        }
        self.placeholder
            .replace_all(text, |caps: &Captures<'_>| {
                let p = &caps[0];
                vault
                    .by_placeholder
                    .get(p)
                    .cloned()
                    .unwrap_or_else(|| p.to_string())
            })
            .into_owned()
    }

    /// Redact every string in a JSON value. Values under secret-looking keys and a
    /// Secret's `data`/`stringData` entries are replaced whole.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s).text),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => {
                let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret");
                // `{"name": "DB_PASSWORD", "value": "…"}`: a container's environment.
                let env_secret = map
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(secret_env_name);
                let mut out = serde_json::Map::with_capacity(map.len());
                for (key, v) in map {
                    let redacted = match v {
                        Value::Object(data)
                            if is_secret && (key == "data" || key == "stringData") =>
                        {
                            Value::Object(
                                data.iter()
                                    .map(|(k, v)| (k.clone(), self.whole(v, "k8s-secret")))
                                    .collect(),
                            )
                        }
                        Value::String(s)
                            if self.secret_key.is_match(key) && plausible_quoted(s) =>
                        {
                            self.whole(v, kind_for_key(key))
                        }
                        Value::String(_) if env_secret && key == "value" => {
                            self.whole(v, "env-value")
                        }
                        _ => self.redact_json(v),
                    };
                    out.insert(key.clone(), redacted);
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn whole(&self, value: &serde_json::Value, kind: &str) -> serde_json::Value {
        match value {
            serde_json::Value::String(s) if !s.is_empty() && !is_reference(s) => {
                let mut vault = self.vault.lock().unwrap_or_else(PoisonError::into_inner);
                serde_json::Value::String(vault.placeholder(kind, s))
            }
            other => self.redact_json(other),
        }
    }

    /// Candidate spans, merged where they overlap, in text order.
    fn find(&self, text: &str) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut rank = 0;
        if let Some(k8s) = k8s::secret_spans(text) {
            spans.extend(k8s.into_iter().map(|range| Span {
                range,
                kind: Cow::Borrowed("k8s-secret"),
                rank,
            }));
        }
        spans.extend(
            k8s::env_spans(text, &self.env_pair, secret_env_name)
                .into_iter()
                .map(|range| Span {
                    range,
                    kind: Cow::Borrowed("env-value"),
                    rank,
                }),
        );
        for index in self.prefilter.matches(text).iter() {
            let Some(rule) = self.rules.get(index) else {
                continue;
            };
            rank = index + 1;
            for caps in rule.regex.captures_iter(text) {
                let found = match &rule.check {
                    Check::Kind(kind) => span_of(&caps).map(|r| (Cow::Borrowed(*kind), r)),
                    Check::Named(kind) => span_of(&caps).map(|r| (Cow::Owned(kind.clone()), r)),
                    Check::With(test) => test(&caps, text).map(|(k, r)| (Cow::Borrowed(k), r)),
                };
                if let Some((kind, range)) = found
                    && !range.is_empty()
                {
                    spans.push(Span { range, kind, rank });
                }
            }
        }
        if let Some(env) = &self.env {
            rank = self.rules.len() + 1;
            for m in env.regex.find_iter(text) {
                let name = env.names.get(m.as_str()).map_or("value", String::as_str);
                spans.push(Span {
                    range: m.range(),
                    kind: Cow::Owned(format!("env:{name}")),
                    rank,
                });
            }
        }
        if spans.is_empty() {
            return spans;
        }
        // Placeholders already in the text (redacting twice, or text quoting an earlier
        // answer) are never touched.
        let protected: Vec<Range<usize>> = self
            .placeholder
            .find_iter(text)
            .map(|m| m.range())
            .collect();
        spans.retain(|s| {
            !protected
                .iter()
                .any(|p| s.range.start < p.end && p.start < s.range.end)
        });
        spans.sort_by(|a, b| {
            a.range
                .start
                .cmp(&b.range.start)
                .then(b.range.end.cmp(&a.range.end))
                .then(a.rank.cmp(&b.rank))
        });
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for span in spans {
            match merged.last_mut() {
                Some(last) if span.range.start < last.range.end => {
                    last.range.end = last.range.end.max(span.range.end);
                }
                _ => merged.push(span),
            }
        }
        merged
    }
}

fn secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // `*_FILE`, `*_PATH`, `*_DIR` hold locations and `*_ENV` names another variable
    // (`TRIAGE_LLM_API_KEY_ENV=OPENAI_API_KEY`); none of them is the secret.
    let pointer = ["_FILE", "_PATH", "_DIR", "_ENV"]
        .iter()
        .any(|s| upper.ends_with(s));
    !pointer && SECRET_ENV_WORDS.iter().any(|w| upper.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_rule_example_is_redacted() {
        let r = redactor();
        for rule in table::rules().unwrap() {
            let out = r.redact(&rule.example);
            assert!(
                out.count >= 1 && out.text.contains("[REDACTED:"),
                "{}: {:?}",
                rule.kind,
                out.text
            );
        }
    }

    fn redactor() -> Redactor {
        Redactor::new(&AgentConfig::default()).unwrap()
    }

    /// Redacts `text`, checks `secret` is gone, a placeholder of `kind` took its place, and
    /// everything in `keep` survived.
    fn assert_redacts(text: &str, secret: &str, kind: &str, keep: &[&str]) {
        let r = redactor();
        let out = r.redact(text);
        assert!(
            !out.text.contains(secret),
            "{kind}: secret left in {:?}",
            out.text
        );
        assert!(
            out.text.contains(&format!("[REDACTED:{kind}#1]")),
            "{kind}: no placeholder in {:?}",
            out.text
        );
        for k in keep {
            assert!(out.text.contains(k), "{kind}: lost {k:?} in {:?}", out.text);
        }
        assert!(out.count >= 1);
        assert_eq!(r.unredact(&out.text), text, "{kind}: round trip");
    }

    #[test]
    fn cloud_keys() {
        assert_redacts(
            "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE # prod",
            "AKIAIOSFODNN7EXAMPLE",
            "aws-access-key",
            &["export AWS_ACCESS_KEY_ID=", "# prod"],
        );
        assert_redacts(
            "[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = eu-west-1",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws-secret-key",
            &["aws_secret_access_key = ", "region = eu-west-1"],
        );
        let gcp = r#"{"type": "service_account", "project_id": "shop-prod", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n", "client_email": "ci@shop-prod.iam.gserviceaccount.com"}"#;
        assert_redacts(
            gcp,
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
            "gcp-private-key",
            &[
                r#""project_id": "shop-prod""#,
                "ci@shop-prod.iam.gserviceaccount.com",
            ],
        );
    }

    #[test]
    fn vendor_tokens() {
        let ghp = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";
        assert_redacts(
            &format!("remote: https://x-access-token:{ghp}@github.com/acme/shop.git"),
            ghp,
            "github-token",
            &["github.com/acme/shop.git"],
        );
        for prefix in ["gho_", "ghu_", "ghs_", "ghr_"] {
            let t = format!("{prefix}A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
            assert_redacts(
                &format!("GH_TOKEN {t} end"),
                &t,
                "github-token",
                &["GH_TOKEN ", " end"],
            );
        }
        let pat = "github_pat_11ABCDE2Y0aBcDeFgHiJkL_mNoPqRsTuVwXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ01234";
        assert_redacts(
            &format!("using {pat} for CI"),
            pat,
            "github-token",
            &["using ", " for CI"],
        );
        let slack = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
        assert_redacts(
            &format!("SLACK_BOT={slack} posting to #incidents"),
            slack,
            "slack-token",
            &["posting to #incidents"],
        );
        let sk = "sk-proj-Ab3dEf6hIj9kLmN0pQrStUvWxYz12345";
        assert_redacts(
            &format!("client = OpenAI(api={sk})"),
            sk,
            "api-key",
            &["client = OpenAI(api="],
        );
    }

    #[test]
    fn jwt_pem_and_bearer() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_redacts(
            &format!("level=info msg=\"session\" jwt={jwt} user=42"),
            jwt,
            "jwt",
            &["level=info", "user=42"],
        );
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2Alp\nq8xH0KR9i8CgQbHLT0lZ4R3kVZpwSYm3Ayd5Kd9d\n-----END RSA PRIVATE KEY-----";
        assert_redacts(
            &format!("tls:\n{pem}\ncert follows"),
            "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2Alp",
            "private-key",
            &["tls:\n", "\ncert follows"],
        );
        // Cut off by an output cap: no END line, still removed.
        assert_redacts(
            "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9u\nZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9u",
            "private-key",
            &["key:\n"],
        );
        assert_redacts(
            "curl -H 'Authorization: Bearer 8f14e45fceea167a5a36dedd4bea2543' https://api.shop.internal/v1/orders",
            "8f14e45fceea167a5a36dedd4bea2543",
            "bearer-token",
            &[
                "Authorization: Bearer ",
                "https://api.shop.internal/v1/orders",
            ],
        );
        assert_redacts(
            "Authorization: Basic YWRtaW46aHVudGVyMg==",
            "YWRtaW46aHVudGVyMg==",
            "basic-auth",
            &["Authorization: Basic "],
        );
    }

    #[test]
    fn url_passwords_keep_the_user() {
        assert_redacts(
            "DATABASE_URL=postgres://orders:Tr0ub4dor@db.shop.svc:5432/orders?sslmode=require",
            "Tr0ub4dor",
            "url-password",
            &[
                "postgres://orders:",
                "@db.shop.svc:5432/orders?sslmode=require",
            ],
        );
        let r = redactor();
        for plain in [
            "http://localhost:8080/healthz",
            "https://user@github.com/acme/shop",
            "redis://:${REDIS_PASSWORD}@redis:6379",
        ] {
            assert_eq!(r.redact(plain).count, 0, "{plain}");
        }
    }

    #[test]
    fn key_value_secrets() {
        assert_redacts(
            "password=hunter2 user=bob",
            "hunter2",
            "password",
            &["password=", " user=bob"],
        );
        assert_redacts(
            "DB_PASSWD: s3cr3t!\nport: 5432",
            "s3cr3t!",
            "password",
            &["DB_PASSWD: ", "port: 5432"],
        );
        assert_redacts(
            "client_secret=abc123def456",
            "abc123def456",
            "secret",
            &["client_secret="],
        );
        assert_redacts(
            "GET /cb?token=tok_4242abcd&state=1",
            "tok_4242abcd",
            "token",
            &["?token=", "&state=1"],
        );
        assert_redacts(
            "x-api-key: AIzaSyA-1234567",
            "AIzaSyA-1234567",
            "api-key",
            &["x-api-key: "],
        );
        assert_redacts(
            r#"{"user": "bob", "password": "correct horse battery"}"#,
            "correct horse battery",
            "password",
            &[r#"{"user": "bob", "password": ""#, r#""}"#],
        );
        assert_redacts(
            "Server=db;Database=orders;Password=Winter2024;",
            "Winter2024",
            "password",
            &["Server=db;Database=orders;Password=", ";"],
        );
        assert_redacts(
            "kubectl create secret generic db --from-literal=password=pa55word",
            "pa55word",
            "password",
            &["--from-literal=password="],
        );
    }

    #[test]
    fn ordinary_code_and_ids_are_left_alone() {
        let r = redactor();
        let text = r#"let token_count = 3;
let max_tokens = config.max_tokens;
fn parse(token: &str) -> Result<Token, Error> {
    let token = lexer.next_token();
    let password = request.form.get("password");
    connect(user=user, password=password)
    println!("token: {}", token);
}
pub struct Creds { pub password: String, pub api_key: Option<String> }
if token == expected { return; }
commit 9fceb02d0ae598e95dc970b74767f19372d61af8
Author: Ada <ada@example.com>
uid: 3f1c2d4e-5b6a-4c7d-8e9f-0a1b2c3d4e5f
pod/checkout-api-7d9f8b6c5d-x2x9z   1/1 Running
deployment.apps/sk-learn-inference-server-canary-v2
secretName: checkout-tls
valueFrom:
  secretKeyRef:
    name: db-credentials
    key: password
password: ""
token: ${GITHUB_TOKEN}
api_key = "<your-api-key>"
The bearer authentication scheme is described in RFC 6750.
PWD=/home/oncall/shop
"#;
        let out = r.redact(text);
        assert_eq!(out.count, 0, "{}", out.text);
        assert_eq!(out.text, text);
    }

    #[test]
    fn same_secret_same_placeholder() {
        let r = redactor();
        let a = r.redact("password=hunter2 then password=hunter3 and again password=hunter2");
        assert_eq!(
            a.text,
            "password=[REDACTED:password#1] then password=[REDACTED:password#2] and again password=[REDACTED:password#1]"
        );
        assert_eq!(a.count, 3);
        // Across calls too, and redacting twice changes nothing.
        let b = r.redact("retrying with password=hunter3");
        assert_eq!(b.text, "retrying with password=[REDACTED:password#2]");
        assert_eq!(
            r.redact(&a.text),
            Redacted {
                text: a.text.clone(),
                count: 0
            }
        );
        // Unknown placeholders stay.
        assert_eq!(
            r.unredact("[REDACTED:password#9] [REDACTED:password#1]"),
            "[REDACTED:password#9] hunter2"
        );
    }

    #[test]
    fn environment_values() {
        let r = redactor().with_env_values([
            ("CHECKOUT_DB_PASSWORD", "v3ry-s3cret-value"),
            ("STRIPE_KEY", "rk_live_9f8e7d6c5b"),
            ("HOME", "/home/oncall"),
            ("SHORT_TOKEN", "abc"),
            ("TRIAGE_LLM_API_KEY_ENV", "OPENAI_API_KEY"),
        ]);
        let text = "connecting as checkout with v3ry-s3cret-value from /home/oncall, key rk_live_9f8e7d6c5b, abc, OPENAI_API_KEY";
        let out = r.redact(text);
        assert_eq!(
            out.text,
            "connecting as checkout with [REDACTED:env:CHECKOUT_DB_PASSWORD#1] from /home/oncall, key [REDACTED:env:STRIPE_KEY#1], abc, OPENAI_API_KEY"
        );
        assert_eq!(r.unredact(&out.text), text);
    }

    #[test]
    fn kubernetes_secret_yaml() {
        let yaml = "apiVersion: v1
items:
- apiVersion: v1
  data:
    password: aHVudGVyMg==
    tls.crt: |
      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t
      TUlJQjlUQ0NBYUNnQXdJQkFnSUJBREFOQmdr
  kind: Secret
  metadata:
    name: db-credentials
  type: Opaque
- apiVersion: v1
  data:
    LOG_LEVEL: debug
  kind: ConfigMap
  metadata:
    name: checkout-config
kind: List
---
apiVersion: v1
kind: Secret
metadata:
  name: api
stringData:
  url: \"https://hooks.example.com/T000/B000\"
";
        let r = redactor();
        let out = r.redact(yaml);
        for secret in [
            "aHVudGVyMg==",
            "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
            "TUlJQjlUQ0NBYUNnQXdJQkFnSUJBREFOQmdr",
            "https://hooks.example.com/T000/B000",
        ] {
            assert!(!out.text.contains(secret), "{secret} left in {}", out.text);
        }
        assert!(
            out.text.contains("password: [REDACTED:k8s-secret#1]"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains("url: \"[REDACTED:k8s-secret#3]\""),
            "{}",
            out.text
        );
        // A ConfigMap's data is configuration, not a secret.
        assert!(out.text.contains("LOG_LEVEL: debug"), "{}", out.text);
        assert!(out.text.contains("name: db-credentials"), "{}", out.text);
        assert_eq!(out.count, 3);
        assert_eq!(r.unredact(&out.text), yaml);
    }

    #[test]
    fn kubernetes_secret_json() {
        let json = r#"{"apiVersion":"v1","data":{"password":"aHVudGVyMg==","username":"b3JkZXJz"},"kind":"Secret","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"v1\",\"data\":{\"password\":\"aHVudGVyMg==\"},\"kind\":\"Secret\"}\n"},"name":"db"},"type":"Opaque"}
{"apiVersion":"v1","data":{"LOG_LEVEL":"debug"},"kind":"ConfigMap"}"#;
        let r = redactor();
        let out = r.redact(json);
        assert!(!out.text.contains("aHVudGVyMg=="), "{}", out.text);
        assert!(!out.text.contains("b3JkZXJz"), "{}", out.text);
        assert!(out.text.contains(r#""name":"db""#), "{}", out.text);
        assert!(out.text.contains(r#""LOG_LEVEL":"debug""#), "{}", out.text);
        assert_eq!(r.unredact(&out.text), json);
    }

    #[test]
    fn json_values_are_redacted_in_place() {
        let r = redactor();
        let value = serde_json::json!({
            "kind": "Secret",
            "data": {"password": "aHVudGVyMg=="},
            "metadata": {"name": "db"},
            "env": [{"name": "X", "value": "postgres://app:Tr0ub4dor@db:5432"}],
            "db_password": "hunter2",
            "token_count": 3,
            "notes": ["ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"]
        });
        let out = r.redact_json(&value);
        assert_eq!(out["data"]["password"], "[REDACTED:k8s-secret#1]");
        assert_eq!(out["metadata"]["name"], "db");
        assert_eq!(
            out["env"][0]["value"],
            "postgres://app:[REDACTED:url-password#1]@db:5432"
        );
        assert_eq!(out["db_password"], "[REDACTED:password#1]");
        assert_eq!(out["token_count"], 3);
        assert_eq!(out["notes"][0], "[REDACTED:github-token#1]");
    }

    #[test]
    fn custom_patterns_and_their_errors() {
        let config = AgentConfig {
            redact_patterns: vec![
                r"EMP-[0-9]{6}".into(),
                r"ticket=(?P<secret>[A-Z]{3}-[0-9]+)".into(),
            ],
            ..AgentConfig::default()
        };
        let r = Redactor::new(&config).unwrap();
        let out = r.redact("employee EMP-123456 opened ticket=OPS-42");
        assert_eq!(
            out.text,
            "employee [REDACTED:custom#1] opened ticket=[REDACTED:custom#2]"
        );

        let config = AgentConfig {
            redact_patterns: vec!["ok".into(), "(unclosed".into()],
            ..AgentConfig::default()
        };
        let err = Redactor::new(&config).unwrap_err().to_string();
        assert!(err.contains("agent.redact_patterns[1]"), "{err}");
        assert!(
            err.contains("(unclosed") && err.contains("unclosed group"),
            "{err}"
        );
    }

    #[test]
    fn large_inputs_stay_fast() {
        let line = "2024-05-01T12:00:00Z INFO checkout-api-7d9f8b6c5d-x2x9z handled GET /v1/orders/9fceb02d in 12ms trace=3f1c2d4e-5b6a-4c7d \u{2713}\n";
        let mut text = line.repeat(100 * 1024 / line.len());
        text.push_str("password=hunter2\n");
        let r = redactor();
        let started = std::time::Instant::now();
        let out = r.redact(&text);
        let elapsed = started.elapsed();
        assert_eq!(out.count, 1);
        // Generous for an unoptimised test build on a busy machine; a real run is ~ms.
        assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
    }

    #[test]
    fn secret_named_container_env_values_in_yaml_json_and_escaped_json() {
        let r = redactor();
        let yaml = "    env:\n    - name: DB_PASSWORD\n      value: plainvalue-one\n    - name: LOG_LEVEL\n      value: debug\n    - name: STRIPE_KEY\n      valueFrom:\n        secretKeyRef: {name: s, key: k}\n";
        let out = r.redact(yaml);
        assert!(!out.text.contains("plainvalue-one"), "{}", out.text);
        assert!(out.text.contains("value: debug"), "{}", out.text);
        assert!(out.text.contains("secretKeyRef"), "{}", out.text);
        let json = r#"{"env":[{"name":"STRIPE_KEY","value":"plainvalue-two"},{"value":"plainvalue-three","name":"API_TOKEN"},{"name":"MODE","value":"fast"}]}"#;
        let out = r.redact(json);
        for v in ["plainvalue-two", "plainvalue-three"] {
            assert!(!out.text.contains(v), "{}", out.text);
        }
        assert!(out.text.contains(r#""value":"fast""#), "{}", out.text);
        // The same spec quoted inside a string (a last-applied annotation).
        let escaped = serde_json::to_string(json).unwrap();
        let out = r.redact(&escaped);
        for v in ["plainvalue-two", "plainvalue-three"] {
            assert!(!out.text.contains(v), "{}", out.text);
        }
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let out = r.redact_json(&value);
        assert_eq!(out["env"][2]["value"], "fast");
        assert!(
            out["env"][0]["value"]
                .as_str()
                .unwrap()
                .starts_with("[REDACTED:")
        );
        assert!(
            out["env"][1]["value"]
                .as_str()
                .unwrap()
                .starts_with("[REDACTED:")
        );
    }
}
