//! The built-in secret rules that need code beyond a regex (private keys, `sk-` keys,
//! bearer tokens, URLs with passwords, `key = value` pairs named like secrets), and the
//! words that make a key or an environment variable secret.

use std::ops::Range;

use regex::Captures;

/// A secret's kind and where it is.
pub(super) type Found = (&'static str, Range<usize>);

pub(super) enum Check {
    /// Every match is a secret of this kind: the `secret` group if there is one, else the
    /// whole match.
    Kind(&'static str),
    /// The same, for a rule from the table.
    Named(String),
    /// The match must pass a test, which also picks the span and the kind.
    With(fn(&Captures<'_>, &str) -> Option<Found>),
}

/// Words in a key that mark its value as secret; the key must end with one of them, so
/// `token_count` or `max_tokens` do not match.
pub(super) const SECRET_KEY_WORDS: &str = r"(?:password|passwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|credentials?)";

/// Environment variable names whose values are treated as secrets.
pub(super) const SECRET_ENV_WORDS: [&str; 7] = [
    "KEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "PRIVATE",
];

/// Shortest environment value worth redacting; shorter ones match too much ordinary text.
pub(super) const MIN_ENV_VALUE_LEN: usize = 6;

pub(super) fn builtin_rules() -> Vec<(&'static str, String, Check)> {
    let key_value = format!(
        r#"(?i)(?P<key>[a-z0-9_.-]*{SECRET_KEY_WORDS})["']?[ \t]*(?P<sep>:=|[:=])[ \t]*(?:"(?P<dq>[^"\r\n]*)"|'(?P<sq>[^'\r\n]*)'|(?P<bare>[^\s"'`,;&(){{}}\[\]<>=][^\s"'`,;&(){{}}\[\]<>]*))"#
    );
    vec![
        (
            "private-key",
            // A key cut off by a tool's output cap has no END line: redact what is there.
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?:(?s:.*?)-----END[A-Z0-9 ]*PRIVATE KEY-----|[A-Za-z0-9+/=\s\\]*)".into(),
            Check::Kind("private-key"),
        ),
        (
            "gcp-private-key",
            r#""private_key"[ \t]*:[ \t]*"(?P<secret>-----BEGIN[A-Z ]*PRIVATE KEY-----[^"]*)""#.into(),
            Check::Kind("gcp-private-key"),
        ),
        (
            "aws-access-key",
            r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16})\b".into(),
            Check::Kind("aws-access-key"),
        ),
        (
            "aws-secret-key",
            r#"(?i)\baws_?secret_?access_?key["']?[ \t]*[:=][ \t]*["']?(?P<secret>[A-Za-z0-9/+=]{30,})"#.into(),
            Check::Kind("aws-secret-key"),
        ),
        (
            "github-token",
            r"\b(?P<secret>(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}))\b".into(),
            Check::Kind("github-token"),
        ),
        (
            "slack-token",
            r"\b(?P<secret>(?:xox[abprs]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}))".into(),
            Check::Kind("slack-token"),
        ),
        (
            "api-key",
            r"\b(?P<secret>sk-(?:proj-|svcacct-|admin-|ant-)?(?P<tail>[A-Za-z0-9_-]{20,}))".into(),
            Check::With(sk_key),
        ),
        (
            "jwt",
            r"\b(?P<secret>eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)".into(),
            Check::Kind("jwt"),
        ),
        (
            "bearer-token",
            r"(?i)\bbearer[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)".into(),
            Check::With(bearer),
        ),
        (
            "basic-auth",
            r#"(?i)\bauthorization["']?[ \t]*[:=][ \t]*["']?basic[ \t]+(?P<secret>[A-Za-z0-9+/]{6,}=*)"#.into(),
            Check::Kind("basic-auth"),
        ),
        (
            "url-password",
            r#"\b[A-Za-z][A-Za-z0-9+.-]{0,20}://[^\s:/?#@"'<>]+:(?P<secret>[^\s/?#@"'<>]+)@"#.into(),
            Check::With(url_password),
        ),
        ("key-value", key_value, Check::With(key_value_secret)),
    ]
}

pub(super) fn span_of(caps: &Captures<'_>) -> Option<Range<usize>> {
    caps.name("secret")
        .or_else(|| caps.get(0))
        .map(|m| m.range())
}

/// `sk-…` also starts ordinary names (`sk-learn-model-server-…`); real keys mix upper
/// case and digits, Kubernetes names cannot have upper case.
pub(super) fn sk_key(caps: &Captures<'_>, _: &str) -> Option<Found> {
    let tail = caps.name("tail")?.as_str();
    let mixed =
        tail.bytes().any(|b| b.is_ascii_uppercase()) && tail.bytes().any(|b| b.is_ascii_digit());
    if !mixed {
        return None;
    }
    Some(("api-key", caps.name("secret")?.range()))
}

/// "bearer authentication" is prose; tokens are not plain words.
pub(super) fn bearer(caps: &Captures<'_>, _: &str) -> Option<Found> {
    let m = caps.name("secret")?;
    let word = m.as_str().bytes().all(|b| b.is_ascii_alphabetic());
    (!word).then(|| ("bearer-token", m.range()))
}

pub(super) fn url_password(caps: &Captures<'_>, _: &str) -> Option<Found> {
    let m = caps.name("secret")?;
    (!is_reference(m.as_str())).then(|| ("url-password", m.range()))
}

/// `key=value`, `key: value`, `"key": "value"` with a secret-looking key. Quoted values
/// are secrets unless they are references or empty; bare values also have to not look
/// like code (`token = next_token(…)`, `password: String`, `password=self.password`).
pub(super) fn key_value_secret(caps: &Captures<'_>, text: &str) -> Option<Found> {
    let key_match = caps.name("key")?;
    // `https://x-access-token:…@host` is a URL's user name; the URL rule takes the password.
    if text[..key_match.start()].ends_with("://") {
        return None;
    }
    let key = key_match.as_str();
    let kind = kind_for_key(key);
    if let Some(m) = caps.name("dq").or_else(|| caps.name("sq")) {
        return plausible_quoted(m.as_str()).then(|| (kind, m.range()));
    }
    let m = caps.name("bare")?;
    let sep = caps.name("sep")?;
    let value = m.as_str();
    if value.len() < 3 || is_reference(value) || is_keyword(value) {
        return None;
    }
    let next = text[m.end()..].chars().next();
    if next == Some('(') {
        return None;
    }
    let has_digit = value.bytes().any(|b| b.is_ascii_digit());
    let identifier = |s: &str| {
        s.split(['.'])
            .flat_map(|p| p.split("::"))
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    };
    if !has_digit && identifier(value) {
        let path = value.contains('.') || value.contains("::");
        if path {
            return None;
        }
        let before_sep = &text[..sep.start()];
        let after_sep = &text[sep.end()..m.start()];
        let spaced = before_sep.ends_with([' ', '\t']) || !after_sep.is_empty();
        match sep.as_str() {
            "=" => {
                let kwarg = matches!(next, Some(',' | ')'));
                if spaced || kwarg || value.eq_ignore_ascii_case(key) {
                    return None;
                }
            }
            ":=" => return None,
            _ => {
                let type_like = value.starts_with(|c: char| c.is_ascii_uppercase())
                    || matches!(
                        value,
                        "str"
                            | "string"
                            | "bytes"
                            | "int"
                            | "bool"
                            | "number"
                            | "any"
                            | "unknown"
                            | "object"
                            | "usize"
                            | "u8"
                    )
                    || matches!(next, Some(',' | ';' | ')' | '='));
                if type_like {
                    return None;
                }
            }
        }
    }
    Some((kind, m.range()))
}

pub(super) fn kind_for_key(key: &str) -> &'static str {
    let k = key.to_ascii_lowercase();
    if k.contains("pass") {
        "password"
    } else if k.contains("token") {
        "token"
    } else if k.contains("api") && k.contains("key") {
        "api-key"
    } else if k.contains("secret") {
        "secret"
    } else if k.contains("credential") {
        "credential"
    } else {
        "key"
    }
}

/// `$DB_PASSWORD`, `${TOKEN}`, `{{ .Values.token }}`, `<your-token>`, `%s`, `****`:
/// pointers to a secret, or masks, rather than the secret.
pub(super) fn is_reference(value: &str) -> bool {
    let v = value.trim();
    v.starts_with('$')
        || v.starts_with("{{")
        || v.starts_with('%')
        || (v.starts_with('<') && v.ends_with('>'))
        || v.starts_with("[REDACTED:")
        || v.chars().all(|c| c == '*' || c == '•')
}

pub(super) fn is_keyword(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "null" | "nil" | "none" | "true" | "false" | "undefined" | "redacted"
    )
}

pub(super) fn plausible_quoted(value: &str) -> bool {
    !value.is_empty() && !is_reference(value) && !is_keyword(value)
}

/// Regexes written with `\b` use ASCII word boundaries: a Unicode boundary makes the
/// lazy DFA give up on non-ASCII input and fall back to a much slower engine.
pub(super) fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}
