//! Which threshold an alert is held to: the first `[[watch.routes]]` entry that matches
//! its namespace, alert name (or pattern) and severity, else the default.

use serde::Serialize;

use crate::config::watch::Route;

/// Whether a route applies to an alert: every field it sets matches.
pub fn route_matches(
    route: &Route,
    namespace: Option<&str>,
    alertname: &str,
    severity: Option<&str>,
) -> bool {
    let same = |want: &Option<String>, have: Option<&str>| {
        want.as_deref()
            .is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
    };
    same(&route.namespace, namespace)
        && same(&route.severity, severity)
        && route.alertname.as_deref().is_none_or(|p| {
            if p.contains(['*', '?']) {
                crate::memory::pattern_in(p, alertname)
            } else {
                p.eq_ignore_ascii_case(alertname)
            }
        })
}

/// The threshold an alert is held to, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    pub value: f32,
    /// `route namespace=shop severity=critical` or `default`.
    pub from: String,
}

/// The first matching route's threshold, else the default.
pub fn threshold_for(
    routes: &[Route],
    default: f32,
    namespace: Option<&str>,
    alertname: &str,
    severity: Option<&str>,
) -> Threshold {
    match routes
        .iter()
        .find(|r| route_matches(r, namespace, alertname, severity))
    {
        Some(r) => Threshold {
            value: r.threshold,
            from: format!("route {}", r.describe()),
        },
        None => Threshold {
            value: default,
            from: "default".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_route_decides() {
        let routes = vec![
            Route {
                namespace: Some("payments".into()),
                severity: Some("critical".into()),
                threshold: 0.6,
                ..Route::default()
            },
            Route {
                alertname: Some("Kube*CrashLooping".into()),
                threshold: 0.7,
                ..Route::default()
            },
        ];
        let t = threshold_for(&routes, 0.8, Some("payments"), "X", Some("critical"));
        assert_eq!(t.value, 0.6);
        assert_eq!(t.from, "route namespace=payments severity=critical");
        let t = threshold_for(&routes, 0.8, Some("shop"), "KubePodCrashLooping", None);
        assert_eq!(t.value, 0.7);
        let t = threshold_for(&routes, 0.8, Some("payments"), "X", Some("warning"));
        assert_eq!((t.value, t.from.as_str()), (0.8, "default"));
        // A route with a namespace does not match an alert without one.
        let t = threshold_for(&routes, 0.8, None, "X", Some("critical"));
        assert_eq!(t.from, "default");
    }
}
