//! Names that become parts of a request path (namespaces, object names, containers) are
//! checked against Kubernetes' own rules before any request is built: a name cannot
//! carry a `/`, a `?`, a `%` or a `..`, so a tool argument can never reach another path.

/// DNS-1123 label: lower-case letters, digits and `-`, starting and ending with a letter
/// or digit, at most 63 characters. Namespaces and container names follow it.
pub fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// DNS-1123 subdomain: labels joined by dots, at most 253 characters. Object names of
/// every type triage reads follow it.
pub fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_label)
}

/// What a checked name is, for the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Namespace,
    Object,
    Container,
}

impl NameKind {
    fn rule(self) -> &'static str {
        match self {
            NameKind::Namespace | NameKind::Container => {
                "lower-case letters, digits and '-', at most 63 characters"
            }
            NameKind::Object => "lower-case letters, digits, '-' and '.', at most 253 characters",
        }
    }

    fn what(self) -> &'static str {
        match self {
            NameKind::Namespace => "namespace",
            NameKind::Object => "object name",
            NameKind::Container => "container name",
        }
    }
}

/// `Ok` when `value` is a valid name of this kind; otherwise a message naming it and the
/// rule.
pub fn check(kind: NameKind, value: &str) -> Result<(), String> {
    let ok = match kind {
        NameKind::Namespace | NameKind::Container => is_label(value),
        NameKind::Object => is_subdomain(value),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a valid Kubernetes {} ({}); nothing was requested",
            kind.what(),
            kind.rule()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_leave_their_path_segment_are_refused() {
        for ok in ["shop", "kube-system", "a", "x1"] {
            assert!(check(NameKind::Namespace, ok).is_ok(), "{ok}");
        }
        for ok in ["checkout-api-7c9d6f5b8-k2x9p", "web.v2", "coredns"] {
            assert!(check(NameKind::Object, ok).is_ok(), "{ok}");
        }
        for bad in [
            "payments/secrets?x=",
            "%70roxy",
            "..",
            ".",
            "a/../b",
            "Shop",
            "-x",
            "x-",
            "",
            "a b",
            "a?b",
            "a#b",
            "web-0/exec",
            "ns\n",
            &"a".repeat(64),
        ] {
            assert!(check(NameKind::Namespace, bad).is_err(), "{bad:?}");
            assert!(check(NameKind::Container, bad).is_err(), "{bad:?}");
        }
        for bad in [
            "web-0/exec",
            "web..x",
            ".web",
            "web.",
            "%2e%2e",
            "a?b",
            "x:y",
        ] {
            assert!(check(NameKind::Object, bad).is_err(), "{bad:?}");
        }
        let err = check(NameKind::Namespace, "payments/secrets?x=").unwrap_err();
        assert!(
            err.contains("payments/secrets?x=") && err.contains("namespace"),
            "{err}"
        );
    }
}
