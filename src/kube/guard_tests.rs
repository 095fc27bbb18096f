//! The guard's allowlist: every shape triage uses passes, everything else is refused with
//! a reason, and random paths never slip through with a segment that could leave its
//! place.

use super::*;

const META: Option<&str> = Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1");

fn ok(path: &str) {
    if let Err(why) = allowed_read(&Method::GET, path, None) {
        panic!("{path} was refused: {why}");
    }
}

fn refused(method: Method, path: &str, accept: Option<&str>, because: &str) {
    match allowed_read(&method, path, accept) {
        Ok(()) => panic!("{method} {path} passed"),
        Err(why) => assert!(why.contains(because), "{path}: {why:?} lacks {because:?}"),
    }
}

#[test]
fn the_shapes_triage_uses_pass() {
    for path in [
        "/version",
        "/api",
        "/apis",
        "/api/v1",
        "/apis/apps",
        "/apis/apps/v1",
        "/api/v1/namespaces/shop/pods?limit=500",
        "/api/v1/namespaces/shop/pods?limit=500&continue=eyJ2IjoibWV0YSJ9",
        "/api/v1/pods?labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29&limit=500",
        "/api/v1/namespaces/shop/events?fieldSelector=involvedObject.kind%3DPod%2CinvolvedObject.name%3Dweb-0",
        // The pods on one node, every namespace (what else runs where the target is
        // evicted or starved).
        "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1&limit=500",
        "/api/v1/namespaces/shop/events?watch=true&timeoutSeconds=5&resourceVersion=12&allowWatchBookmarks=true",
        "/apis/apps/v1/namespaces/shop/deployments/checkout-api",
        "/apis/apps/v1/deployments?",
        "/api/v1/namespaces/shop",
        "/api/v1/namespaces",
        "/api/v1/nodes/node-1",
        "/api/v1/nodes/node-1/status",
        "/api/v1/namespaces/shop/pods/web-0/log?container=app&previous=true&tailLines=200&limitBytes=65536",
        "/api/v1/namespaces/shop/pods/web-0/log?follow=true&tailLines=200",
        "/apis/batch/v1/namespaces/shop/cronjobs/analytics-backfill/status",
        "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
        "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers",
    ] {
        ok(path);
    }
    assert!(
        allowed_read(
            &Method::GET,
            "/api/v1/namespaces/shop/secrets?limit=500",
            META
        )
        .is_ok()
    );
    assert!(
        allowed_read(
            &Method::GET,
            "/api/v1/namespaces/shop/secrets/db",
            Some("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1")
        )
        .is_ok()
    );
}

#[test]
#[allow(clippy::too_many_lines)] // one table of refused requests and their reasons
fn everything_else_is_refused_with_the_reason() {
    use Method as M;
    // The reproduction: a namespace that carried a path and a query.
    refused(
        M::GET,
        "/api/v1/namespaces/payments/secrets?x=/configmaps?limit=500",
        None,
        "query key `x`",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/payments/secrets?limit=500",
        None,
        "metadata only",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/secrets/db",
        None,
        "metadata only",
    );
    // Percent-encoding does not hide a proxy or a traversal.
    refused(
        M::GET,
        "/api/v1/namespaces/shop/services/web/%70roxy/admin",
        None,
        "percent-encoded",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/pods/web-0%2Fexec",
        None,
        "percent-encoded",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/%2e%2e/secrets",
        None,
        "percent-encoded",
    );
    refused(M::GET, "/api/v1/namespaces/shop/pods/%zz", None, "broken");
    refused(
        M::GET,
        "/api/v1/namespaces/../secrets",
        None,
        "plain absolute path",
    );
    refused(M::GET, "//api/v1/pods", None, "plain absolute path");
    refused(
        M::GET,
        "/api/v1/namespaces/shop/pods/web-0/exec?command=sh",
        None,
        "`exec`",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/pods/web-0/portforward",
        None,
        "`portforward`",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/services/web/proxy",
        None,
        "`proxy`",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/services/web:80/proxy/x",
        None,
        "path shape",
    );
    refused(
        M::GET,
        "/api/v1/nodes/node-1/proxy/metrics",
        None,
        "path shape",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/pods/web-0/log?follow=yes",
        None,
        "not a boolean",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/pods?watch=yes",
        None,
        "not a boolean",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/pods?pretty=true",
        None,
        "`pretty`",
    );
    refused(
        M::GET,
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        None,
        "not a type triage reads",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/serviceaccounts/default/token",
        None,
        "path shape",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/Shop/pods",
        None,
        "namespace name",
    );
    refused(
        M::GET,
        "/api/v1/namespaces/shop/nodes",
        None,
        "not namespaced",
    );
    refused(M::GET, "/api/v1/pods/web-0", None, "in a namespace");
    refused(M::GET, "/openapi/v2", None, "not an API path");
    refused(M::GET, "/apis/apps/v9", None, "apps/v9");
    refused(M::HEAD, "/api/v1/pods", None, "only sends GET");
    refused(
        M::DELETE,
        "/api/v1/namespaces/shop/pods/web-0",
        None,
        "not a read",
    );
    refused(M::POST, "/api/v1/namespaces/shop/pods", None, "not a read");
    refused(
        M::PATCH,
        "/apis/apps/v1/namespaces/shop/deployments/web",
        None,
        "not a read",
    );
}

#[test]
fn approval_covers_exact_request_while_alive() {
    let guard = RequestGuard::new();
    let path = "/api/v1/namespaces/shop/pods/web-0";
    assert!(guard.check(&Method::DELETE, path, None).is_err());
    {
        let _ok = guard.approve(ApprovedAction::new("delete web-0").allow(Method::DELETE, path));
        assert!(guard.check(&Method::DELETE, path, None).is_ok());
        assert!(
            guard
                .check(&Method::DELETE, "/api/v1/namespaces/shop/pods/web-1", None)
                .is_err()
        );
    }
    let err = guard.check(&Method::DELETE, path, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("DELETE /api/v1/namespaces/shop/pods/web-0"),
        "{err}"
    );
    assert_eq!(guard.refused().len(), 3);
}

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Random paths built from real segments and hostile ones: whatever passes has only
/// segments that are plain names, of a served type, with known query keys.
#[test]
#[allow(clippy::too_many_lines)] // the generator, its segments and the property in one place
fn random_paths_never_pass_with_a_segment_that_could_leave_its_place() {
    const SEGS: &[&str] = &[
        "api",
        "apis",
        "v1",
        "apps",
        "batch",
        "namespaces",
        "shop",
        "pods",
        "secrets",
        "nodes",
        "deployments",
        "log",
        "status",
        "exec",
        "proxy",
        "web-0",
        "..",
        ".",
        "",
        "%2F",
        "%70roxy",
        "a%2fb",
        "x?y=1",
        "Shop",
        "web-0:80",
        "services",
        "configmaps",
        "events",
        "version",
        "portforward",
        "attach",
        "token",
        "%00",
        "a#b",
        "autoscaling",
        "v2",
    ];
    const QUERIES: &[&str] = &[
        "",
        "limit=500",
        "continue=x",
        "labelSelector=a%3Db",
        "pretty=true",
        "follow=true",
        "x=%2F..%2Fsecrets",
        "watch=true",
        "container=app",
        "command=sh",
        "tailLines=5",
    ];
    let mut rng = Rng(0x7e57_9a7d_c0de_0042);
    let mut passed = 0;
    let cases = 20_000;
    for _ in 0..cases {
        // A real prefix most of the time, then real and hostile segments.
        const PREFIXES: &[&str] = &[
            "",
            "/api/v1",
            "/apis/apps/v1",
            "/apis/batch/v1",
            "/api/v1/namespaces",
            "/api/v1/namespaces/shop",
            "/apis/apps/v1/namespaces/shop",
        ];
        let mut path = PREFIXES[(rng.next() % PREFIXES.len() as u64) as usize].to_string();
        let n = usize::from(path.is_empty()) + (rng.next() % 4) as usize;
        for _ in 0..n {
            path.push('/');
            path.push_str(SEGS[(rng.next() % SEGS.len() as u64) as usize]);
        }
        let q = QUERIES[(rng.next() % QUERIES.len() as u64) as usize];
        let full = if q.is_empty() {
            path.clone()
        } else {
            format!("{path}?{q}")
        };
        let accept = if rng.next().is_multiple_of(2) {
            META
        } else {
            None
        };
        if allowed_read(&Method::GET, &full, accept).is_err() {
            continue;
        }
        passed += 1;
        for seg in path.split('/').skip(1) {
            assert!(
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || b == b'-'
                        || b == b'.'),
                "{full} passed with segment {seg:?}"
            );
        }
        // Whatever passed, its subresource (if any) is `log` or `status`.
        let segs: Vec<&str> = path.split('/').skip(1).collect();
        let rest: &[&str] = match segs.as_slice() {
            ["api", _, rest @ ..] => rest,
            ["apis", _, _, rest @ ..] => rest,
            _ => &[],
        };
        let sub = match rest {
            ["namespaces", _, _, _, sub] => Some(*sub),
            [_, _, sub] if rest[0] != "namespaces" => Some(*sub),
            _ => None,
        };
        assert!(
            sub.is_none_or(|s| s == "log" || s == "status"),
            "{full} passed with subresource {sub:?}"
        );
        assert!(rest.len() <= 5, "{full}");
        for bad in ["pretty", "follow", "command", "x="] {
            assert!(!q.starts_with(bad), "{full} passed");
        }
        let plural = match rest {
            ["namespaces", _, plural, ..] => Some(*plural),
            [plural, ..] => Some(*plural),
            [] => None,
        };
        if plural == Some("secrets") {
            assert!(accept.is_some(), "{full} read Secret values");
        }
    }
    assert!(
        passed > 50,
        "only {passed} of {cases} random paths were valid reads: the generator is too weak"
    );
}
