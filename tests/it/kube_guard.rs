//! Model-chosen arguments for the kube tools, random and hostile, through the real tools,
//! the real client and its guard, to the replay server on loopback: every request the
//! server sees is one of the shapes triage reads, and no Secret value comes back.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use triage::agent::tools::{ToolContext, registry as tools};
use triage::kube::guard::allowed_read;

use crate::common::*;
use crate::kube::{options, replay, shop};

/// The base64 of the value planted in every Secret of the cluster (`hunter2-…`).
const SECRET_B64: &str = "aHVudGVyMi1wbGFudGVk";

/// The shop cluster with values in its Secrets, so that "none comes back" can fail.
fn shop_with_secret_values() -> triage::kube::Snapshot {
    let mut snap = shop();
    let secrets = snap
        .objects
        .get_mut("v1/secrets")
        .expect("the shop has Secrets");
    assert!(!secrets.is_empty());
    for s in secrets.iter_mut() {
        s["data"] = json!({"password": SECRET_B64, "token": SECRET_B64});
        s["stringData"] = json!({"url": "postgres://app:hunter2-planted@db:5432/app"});
    }
    snap
}

async fn context() -> (ToolContext, Arc<triage::kube::ClusterSource>) {
    let source = Arc::new(replay(shop_with_secret_values(), Vec::new(), options()).await);
    let ctx = ToolContext::new(None, None, lexical_config(), Some(source.clone()), None);
    (ctx, source)
}

#[tokio::test]
async fn the_reproduction_a_namespace_carrying_a_path_lists_nothing() {
    let (ctx, source) = context().await;
    for args in [
        json!({"resource": "configmaps", "namespace": "payments/secrets?x="}),
        json!({"resource": "configmaps", "namespace": "shop/secrets?x="}),
        json!({"resource": "pods", "name": "web-0/exec?command=sh", "namespace": "shop"}),
        json!({"resource": "services", "name": "web/%70roxy/admin", "namespace": "shop"}),
        json!({"resource": "pods", "namespace": "../../api/v1/secrets#"}),
    ] {
        let err = tools::run(&ctx, "kube_get", &args)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a valid Kubernetes"), "{args}: {err}");
    }
    let err = tools::run(
        &ctx,
        "kube_logs",
        &json!({"pod": "checkout-api-7c9d6f5b8-k2x9p", "container": "app/../../exec", "namespace": "shop"}),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("container name"), "{err}");
    let err = tools::run(
        &ctx,
        "kube_events",
        &json!({"kind": "Pod", "name": "x,involvedObject.namespace=kube-system"}),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("object name"), "{err}");
    let server = source.replay_server().unwrap();
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // A Secret asked for by name comes back without its values.
    let secret = tools::run(
        &ctx,
        "kube_get",
        &json!({"resource": "secrets", "namespace": "shop"}),
    )
    .await
    .unwrap();
    assert!(secret.text.contains("checkout-db"), "{}", secret.text);
    assert!(!secret.text.contains("\"data\""), "{}", secret.text);
    assert!(!secret.text.contains(SECRET_B64) && !secret.text.contains("hunter2"));
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Pieces a model could be talked into sending.
const HOSTILE: &[&str] = &[
    "shop",
    "kube-system",
    "checkout-api-7c9d6f5b8-k2x9p",
    "web-0",
    "app",
    "/",
    "?",
    "#",
    "%2F",
    "%70roxy",
    "..",
    ".",
    "secrets",
    "exec",
    "proxy",
    "log",
    "status",
    "?x=",
    "&watch=true",
    "/api/v1/secrets",
    "Shop",
    " ",
    "\n",
    "é",
    "%00",
    "a",
    "x-1",
    ":80",
    "=",
    ",",
    "portforward",
];

fn hostile(rng: &mut Rng) -> String {
    let n = 1 + (rng.next() % 4) as usize;
    (0..n).map(|_| rng.pick(HOSTILE)).collect()
}

#[tokio::test]
async fn random_tool_arguments_never_produce_a_request_outside_the_allowlist() {
    let (ctx, source) = context().await;
    let mut rng = Rng(0x00c0_ffee_5eed_0001);
    let resources = [
        "pods",
        "configmaps",
        "secrets",
        "secret",
        "deployments",
        "nodes",
        "events",
        "svc",
        "cronjobs",
        "hpa",
        "namespaces",
        "widgets",
        "pods/exec",
        "Deployment",
    ];
    let cases = 600;
    let mut refused_before_sending = 0;
    let mut secrets_read = 0;
    for i in 0..cases {
        let mut args = serde_json::Map::new();
        let tool = match i % 3 {
            0 => {
                args.insert("resource".into(), json!(rng.pick(&resources)));
                "kube_get"
            }
            1 => {
                args.insert("pod".into(), json!(hostile(&mut rng)));
                "kube_logs"
            }
            _ => {
                args.insert(
                    "kind".into(),
                    json!(rng.pick(&["Pod", "Deployment", "Po d", "Pod,x"])),
                );
                "kube_events"
            }
        };
        for key in ["namespace", "name", "container", "selector"] {
            if rng.next().is_multiple_of(2) {
                args.insert(key.into(), json!(hostile(&mut rng)));
            }
        }
        let args = Value::Object(args);
        let before = source.replay_server().unwrap().requests().len();
        let result = tools::run(&ctx, tool, &args).await;
        let after = source.replay_server().unwrap().requests().len();
        if result.is_err() && before == after {
            refused_before_sending += 1;
        }
        if let Ok(out) = &result {
            // ConfigMaps have data; Secrets never do, and no Secret value appears.
            let asked_secrets = args["resource"]
                .as_str()
                .is_some_and(|r| r.starts_with("secret"));
            let secret_data = asked_secrets && out.text.contains("\"data\"");
            if asked_secrets && out.text.contains("\"name\"") {
                secrets_read += 1;
            }
            assert!(
                !out.text.contains(SECRET_B64) && !out.text.contains("hunter2") && !secret_data,
                "{tool} {args} returned data: {}",
                &out.text[..out.text.len().min(300)]
            );
        }
    }
    let server = source.replay_server().unwrap();
    let seen = server.requests();
    assert!(
        !seen.is_empty(),
        "no request was valid: the generator is too hostile"
    );
    for r in &seen {
        let full = if r.query.is_empty() {
            r.path.clone()
        } else {
            format!("{}?{}", r.path, r.query)
        };
        // The server does not see the Accept header in its log; Secrets are checked
        // by the guard unit tests and by the absence of data above.
        let accept = r
            .path
            .contains("/secrets")
            .then_some("as=PartialObjectMetadata");
        assert!(
            allowed_read(&Method::GET, &full, accept).is_ok(),
            "the server saw {} {full}",
            r.method
        );
        assert_eq!(r.method, "GET");
    }
    assert!(refused_before_sending > 100, "{refused_before_sending}");
    assert!(
        secrets_read > 0,
        "no Secret was read: the value check proved nothing"
    );
    eprintln!(
        "{cases} random tool calls: {} requests reached the server, all allowed; {refused_before_sending} refused before sending; {secrets_read} Secret reads, no value",
        seen.len()
    );
}
