//! Which backend of an Ingress serves a request, per the Kubernetes Ingress spec: a
//! rule's host matches exactly (case-insensitive) or by a leading `*.` wildcard standing
//! for exactly one DNS label, a rule without host matches every host; within the most
//! specific matching host, a path of type `Exact` matches the whole path, `Prefix` (and
//! `ImplementationSpecific`, read as `Prefix`) matches element-wise on `/`-separated
//! segments; the longest matching path wins, `Exact` over `Prefix` at equal length; a
//! request no path matches goes to the default backend, or to none.

use std::sync::LazyLock;

use k8s_openapi::api::networking::v1::Ingress;
use regex::Regex;
use serde::Serialize;

static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?|grpcs?)://([a-z0-9.-]+)(?::\d{2,5})?(/[^\s'"`]*)?"#).ok()
});

/// Hosts (lowercase) and paths (`/` when none) of the URLs in a text; punctuation that
/// closes a sentence or a bracket after a URL is not part of its path.
pub fn urls(text: &str) -> Vec<(String, String)> {
    URL.as_ref().map_or_else(Vec::new, |r| {
        r.captures_iter(text)
            .map(|c| {
                let host = c[1].trim_end_matches('.').to_ascii_lowercase();
                let path = c.get(2).map_or("/", |m| {
                    m.as_str().trim_end_matches([')', ']', ',', '.', ';', '>'])
                });
                let path = if path.is_empty() { "/" } else { path };
                (host, path.to_string())
            })
            .collect()
    })
}

/// How a path is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PathType {
    Exact,
    Prefix,
    ImplementationSpecific,
}

impl PathType {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("Exact") => Self::Exact,
            Some("Prefix") => Self::Prefix,
            _ => Self::ImplementationSpecific,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "Exact",
            Self::Prefix => "Prefix",
            Self::ImplementationSpecific => "ImplementationSpecific",
        }
    }
}

/// One path of one rule: host (empty: any), path, its type, backend Service and port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngressPath {
    pub host: String,
    pub path: String,
    pub path_type: PathType,
    pub service: String,
    pub port: Option<String>,
}

/// The paths of an Ingress and its default backend Service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Paths {
    pub paths: Vec<IngressPath>,
    pub default_backend: Option<String>,
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served<'a> {
    /// A rule's path (its index in `Paths::paths`).
    Path(usize, &'a IngressPath),
    /// No path matched; the default backend Service.
    Default(&'a str),
    /// No path matched and there is no default backend (the controller answers 404).
    Nothing,
}

pub fn of(i: &Ingress) -> Paths {
    let mut out = Paths::default();
    let Some(spec) = i.spec.as_ref() else {
        return out;
    };
    out.default_backend = spec
        .default_backend
        .as_ref()
        .and_then(|b| b.service.as_ref())
        .map(|s| s.name.clone());
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.clone().unwrap_or_default().to_ascii_lowercase();
        for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
            let Some(svc) = &p.backend.service else {
                continue;
            };
            out.paths.push(IngressPath {
                host: host.clone(),
                path: p.path.clone().unwrap_or_else(|| "/".into()),
                path_type: PathType::parse(Some(p.path_type.as_str())),
                service: svc.name.clone(),
                port: svc
                    .port
                    .as_ref()
                    .and_then(|p| p.number.map(|n| n.to_string()).or_else(|| p.name.clone())),
            });
        }
    }
    out
}

/// How specifically a rule's host matches `host`: 2 exact, 1 wildcard, 0 any host;
/// `None` when it does not match.
pub fn host_match(rule: &str, host: &str) -> Option<u8> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if rule.is_empty() || rule == "*" {
        return Some(0);
    }
    if let Some(suffix) = rule.strip_prefix("*.") {
        let first = host.strip_suffix(suffix)?.strip_suffix('.')?;
        return (!first.is_empty() && !first.contains('.')).then_some(1);
    }
    rule.eq_ignore_ascii_case(&host).then_some(2)
}

/// Whether a path of `kind` matches the request path (query and fragment ignored).
pub fn path_match(kind: PathType, rule: &str, path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let path = if path.is_empty() { "/" } else { path };
    match kind {
        PathType::Exact => rule == path,
        PathType::Prefix | PathType::ImplementationSpecific => {
            let want: Vec<&str> = rule.split('/').filter(|s| !s.is_empty()).collect();
            let have: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            have.len() >= want.len() && want.iter().zip(&have).all(|(a, b)| a == b)
        }
    }
}

/// The path among `paths` that serves `host` + `path`: the most specific matching host,
/// then the longest matching path, `Exact` before `Prefix` at equal length.
pub fn best<'a, I>(paths: I, host: &str, path: &str) -> Option<(usize, &'a IngressPath)>
where
    I: IntoIterator<Item = &'a IngressPath>,
{
    let paths: Vec<(usize, &IngressPath, u8)> = paths
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| host_match(&p.host, host).map(|h| (i, p, h)))
        .collect();
    let top = paths.iter().map(|(_, _, h)| *h).max()?;
    paths
        .into_iter()
        .filter(|(_, p, h)| *h == top && path_match(p.path_type, &p.path, path))
        .max_by_key(|(i, p, _)| {
            let len = p.path.trim_end_matches('/').len();
            (len, p.path_type == PathType::Exact, std::cmp::Reverse(*i))
        })
        .map(|(i, p, _)| (i, p))
}

/// Where an Ingress sends `host` + `path`.
pub fn serve<'a>(paths: &'a Paths, host: &str, path: &str) -> Served<'a> {
    match best(&paths.paths, host, path) {
        Some((i, p)) => Served::Path(i, p),
        None => paths
            .default_backend
            .as_deref()
            .map_or(Served::Nothing, Served::Default),
    }
}

/// Whether any rule of the Ingress is for `host` (a default backend serves every host).
pub fn serves_host(paths: &Paths, host: &str) -> bool {
    paths
        .paths
        .iter()
        .any(|p| host_match(&p.host, host).is_some_and(|h| h > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str, t: PathType, svc: &str) -> IngressPath {
        IngressPath {
            host: "foo.bar.com".into(),
            path: path.into(),
            path_type: t,
            service: svc.into(),
            port: None,
        }
    }

    #[test]
    fn path_types_match_as_the_spec_table_says() {
        use PathType::{Exact, ImplementationSpecific, Prefix};
        // (type, rule path, request path, matches): the Ingress spec's examples.
        let cases = [
            (Prefix, "/", "/anything/at/all", true),
            (Exact, "/foo", "/foo", true),
            (Exact, "/foo", "/bar", false),
            (Exact, "/foo", "/foo/", false),
            (Exact, "/foo/", "/foo", false),
            (Prefix, "/foo", "/foo", true),
            (Prefix, "/foo", "/foo/", true),
            (Prefix, "/foo/", "/foo", true),
            (Prefix, "/foo/", "/foo/", true),
            (Prefix, "/aaa/bb", "/aaa/bbb", false),
            (Prefix, "/aaa/bbb", "/aaa/bbb", true),
            (Prefix, "/aaa/bbb/", "/aaa/bbb", true),
            (Prefix, "/aaa/bbb", "/aaa/bbb/", true),
            (Prefix, "/aaa/bbb", "/aaa/bbb/ccc", true),
            (Prefix, "/aaa/bbb", "/aaa/bbbxyz", false),
            (Prefix, "/aaa", "/ccc", false),
            (Exact, "/v2", "/v2?x=1", true),
            (ImplementationSpecific, "/api", "/api/v1", true),
        ];
        for (t, rule, path, want) in cases {
            assert_eq!(path_match(t, rule, path), want, "{t:?} {rule} ~ {path}");
        }
    }

    #[test]
    fn the_longest_path_wins_and_exact_beats_prefix() {
        use PathType::{Exact, Prefix};
        let paths = Paths {
            paths: vec![
                p("/", Prefix, "root"),
                p("/aaa", Prefix, "a"),
                p("/aaa/bbb", Prefix, "ab"),
                p("/foo", Prefix, "foo-prefix"),
                p("/foo", Exact, "foo-exact"),
                p("/v2", Exact, "v2"),
            ],
            default_backend: None,
        };
        let to = |path: &str| match serve(&paths, "foo.bar.com", path) {
            Served::Path(_, p) => p.service.clone(),
            Served::Default(s) => format!("default {s}"),
            Served::Nothing => "none".into(),
        };
        assert_eq!(to("/aaa/ccc"), "a");
        assert_eq!(to("/aaa/bbb"), "ab");
        assert_eq!(to("/ccc"), "root");
        assert_eq!(to("/foo"), "foo-exact");
        assert_eq!(to("/foo/x"), "foo-prefix");
        assert_eq!(to("/v2"), "v2");
        // An Exact path does not serve what lies below it: the request falls through.
        assert_eq!(to("/v2/healthz"), "root");
    }

    #[test]
    fn hosts_match_exactly_or_by_one_label_and_unmatched_requests_go_to_the_default() {
        assert_eq!(host_match("foo.bar.com", "FOO.bar.com"), Some(2));
        assert_eq!(host_match("*.foo.com", "bar.foo.com"), Some(1));
        assert_eq!(host_match("*.foo.com", "baz.bar.foo.com"), None);
        assert_eq!(host_match("*.foo.com", "foo.com"), None);
        assert_eq!(host_match("", "any.example"), Some(0));
        let mut paths = Paths {
            paths: vec![p("/aaa", PathType::Prefix, "a")],
            default_backend: None,
        };
        assert_eq!(serve(&paths, "foo.bar.com", "/ccc"), Served::Nothing);
        assert_eq!(serve(&paths, "other.com", "/aaa"), Served::Nothing);
        paths.default_backend = Some("fallback".into());
        assert_eq!(
            serve(&paths, "foo.bar.com", "/ccc"),
            Served::Default("fallback")
        );
        // The exact host's rules take precedence over a catch-all rule.
        paths.paths.push(IngressPath {
            host: String::new(),
            ..p("/ccc", PathType::Prefix, "any-host")
        });
        assert_eq!(
            serve(&paths, "foo.bar.com", "/ccc"),
            Served::Default("fallback")
        );
        assert!(
            matches!(serve(&paths, "x.com", "/ccc"), Served::Path(_, q) if q.service == "any-host")
        );
    }
}
