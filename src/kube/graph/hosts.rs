//! Host names in configuration values, and the Services they name.

use std::collections::HashMap;

use crate::kube::state::ResourceRef;

/// Whether a value looks like it names a host: a URL, `host:port`, or a dotted name.
pub fn host_like(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.len() > 500 || v.contains(char::is_whitespace) {
        return false;
    }
    v.contains("://")
        || v.split_once(':').is_some_and(|(h, p)| {
            !h.is_empty()
                && p.chars()
                    .take_while(|c| *c != '/')
                    .all(|c| c.is_ascii_digit())
                && !p.is_empty()
        })
        || (v.contains('.')
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '/'))
            && v.chars().any(|c| c.is_ascii_alphabetic()))
}

/// The host names in a value: URL hosts, `host:port`, dotted names, and a value that is
/// a single bare name. Words in prose do not count.
pub fn hosts_in(value: &str) -> Vec<String> {
    let tokens: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '=' | '(' | ')'))
        // `key:` in YAML and `[section]` headers are not hosts.
        .filter(|t| !t.is_empty() && !t.ends_with(':') && !t.starts_with('['))
        .collect();
    let single = tokens.len() == 1;
    tokens
        .into_iter()
        .filter(|t| single || t.contains(':') || t.contains('.'))
        .filter_map(|token| {
            let rest = token.split_once("://").map_or(token, |(_, r)| r);
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            let host = rest.split(['/', '?', '#']).next()?;
            let host = host.split(':').next()?.trim_end_matches('.');
            if host.is_empty() {
                None
            } else {
                Some(host.to_ascii_lowercase())
            }
        })
        .collect()
}

/// The service a host name refers to, from a client in `namespace`: `payments`,
/// `payments.shop`, `payments.shop.svc`, `payments.shop.svc.cluster.local`.
pub fn service_for_host<'a>(
    host: &str,
    namespace: &str,
    services: &'a HashMap<(String, String), ResourceRef>,
) -> Option<&'a ResourceRef> {
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] => services.get(&(namespace.to_string(), name.to_string())),
        [name, ns] | [name, ns, "svc"] | [name, ns, "svc", ..] => {
            services.get(&(ns.to_string(), name.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_services() {
        assert_eq!(
            hosts_in("http://payments.shop.svc:8080/api"),
            vec!["payments.shop.svc"]
        );
        assert_eq!(hosts_in("redis:6379"), vec!["redis"]);
        assert_eq!(hosts_in("postgres://u:p@db.shop:5432/x"), vec!["db.shop"]);
        assert_eq!(hosts_in("redis"), vec!["redis"]);
        assert!(hosts_in("we use redis for caching").is_empty());
        assert_eq!(
            hosts_in("    proxy_pass http://checkout-api:8080;"),
            vec!["checkout-api"]
        );
        let mut svcs = HashMap::new();
        svcs.insert(
            ("shop".to_string(), "payments".to_string()),
            ResourceRef::new("Service", Some("shop"), "payments"),
        );
        assert!(service_for_host("payments", "shop", &svcs).is_some());
        assert!(service_for_host("payments.shop.svc.cluster.local", "other", &svcs).is_some());
        assert!(service_for_host("payments", "other", &svcs).is_none());
        assert!(service_for_host("api.example.com", "shop", &svcs).is_none());
        assert!(host_like("https://api.example.com"));
        assert!(host_like("redis:6379"));
        assert!(host_like("payments.shop.svc.cluster.local"));
        assert!(!host_like("hello world"));
        assert!(!host_like("42"));
    }
}
