//! The canary corpus: secrets of many kinds, generated from their issuers' public
//! formats, planted in files, container logs, container env, ConfigMaps, commit messages,
//! memories and the process environment, then driven through real runs (indexing with a
//! remote embedding endpoint, a model session calling every kind of tool, an approved
//! action, the headless `ask`) against loopback servers. None may appear in any model
//! request, embedding request, trace or audit record.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use triage::agent::session::{self, SessionConfig};
use triage::config::{EmbedProvider, LoadedConfig};
use triage::kube::{ClientOptions, ClusterSource, ReplayOptions, Snapshot};
use triage::llm::chat::LlmClient;
use triage::memory::{Memory, MemoryKind, Scope};
use triage::protocol::{ApprovalScope, Event, Op};

use crate::agent::triage_async;
use crate::common::*;
use crate::llm_server::{self, LlmServer};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BECH32: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// A format like `ghp_{a36}`: `{A n}` upper case and digits, `{a n}` letters and digits,
/// `{u n}` URL-safe, `{h n}` hex, `{d n}` digits, `{b n}` base64, `{q n}` bech32.
fn fill(rng: &mut Rng, format: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').unwrap();
        let spec = &rest[start + 1..end];
        let (class, n) = spec.split_at(1);
        let n: usize = n.parse().unwrap();
        let alphabet = match class {
            "A" => UPPER_DIGITS,
            "a" => ALNUM,
            "u" => URLSAFE,
            "h" => HEX,
            "d" => DIGITS,
            "b" => B64,
            "q" => BECH32,
            other => panic!("unknown class {other}"),
        };
        let mut s = rng.chars(alphabet, n);
        // Issuers' tokens mix cases and digits; make sure a random draw does too.
        if class == "a" && n >= 3 {
            s.replace_range(0..3, "Q7x");
        }
        out.push_str(&s);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// (kind, format of the secret, line it is planted in: `{}` is the secret).
const KINDS: &[(&str, &str, &str)] = &[
    ("aws-access-key", "AKIA{A16}", "aws key id {}"),
    ("aws-secret-key", "{b40}", "aws_secret_access_key = {}"),
    ("github-pat", "ghp_{a36}", "token {} for ci"),
    ("github-oauth", "gho_{a36}", "{}"),
    ("github-fine-grained", "github_pat_{a22}_{a59}", "using {}"),
    ("gitlab", "glpat-{u20}", "gitlab {}"),
    ("slack-bot", "xoxb-{d12}-{d13}-{a24}", "slack {}"),
    (
        "slack-webhook",
        "https://hooks.slack.com/services/T{A8}/B{A8}/{a24}",
        "posting to {}",
    ),
    (
        "discord-webhook",
        "https://discord.com/api/webhooks/{d18}/{u68}",
        "hook {}",
    ),
    (
        "teams-webhook",
        "https://acme.webhook.office.com/webhookb2/{h8}-{h4}-{h4}-{h4}-{h12}@{h8}/IncomingWebhook/{h32}/{h8}",
        "teams {}",
    ),
    ("telegram", "{d9}:AA{u33}", "bot {} started"),
    ("stripe-live", "sk_live_{a24}", "charge with {}"),
    ("stripe-restricted", "rk_live_{a24}", "{}"),
    ("stripe-webhook", "whsec_{a32}", "signing {}"),
    ("square", "sq0atp-{u22}", "square {}"),
    ("twilio", "SK{h32}", "twilio {}"),
    ("sendgrid", "SG.{u22}.{u43}", "mail {}"),
    ("mailgun", "key-{h32}", "mailgun {}"),
    ("mailchimp", "{h32}-us{d2}", "list {}"),
    ("openai", "sk-proj-{a44}", "model key {}"),
    ("anthropic", "sk-ant-api03-{a48}", "{}"),
    ("huggingface", "hf_{a34}", "hub {}"),
    ("npm", "npm_{a36}", "//registry.npmjs.org/:_authToken={}"),
    ("pypi", "pypi-AgEIcHlwaS5vcmc{u60}", "upload {}"),
    ("dockerhub", "dckr_pat_{u27}", "docker {}"),
    ("shopify", "shpat_{h32}", "shop {}"),
    ("digitalocean", "dop_v1_{h64}", "do {}"),
    ("newrelic", "NRAK-{A27}", "nr {}"),
    (
        "sentry-dsn",
        "{h32}",
        "dsn https://{}@o123456.ingest.sentry.io/4504",
    ),
    ("grafana", "glsa_{a32}_{h8}", "grafana {}"),
    ("vault", "hvs.{u90}", "vault {}"),
    ("doppler", "dp.pt.{a43}", "doppler {}"),
    ("linear", "lin_api_{a40}", "linear {}"),
    ("postman", "PMAK-{h24}-{h34}", "postman {}"),
    ("databricks", "dapi{h32}", "spark {}"),
    ("age", "AGE-SECRET-KEY-1{q58}", "{}"),
    ("gcp-api-key", "AIza{u35}", "maps {}"),
    ("gcp-oauth", "GOCSPX-{u28}", "oauth {}"),
    (
        "azure-storage",
        "{b86}==",
        "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={};EndpointSuffix=core.windows.net",
    ),
    ("jwt", "eyJ{u20}.eyJ{u30}.{u43}", "session={}"),
    (
        "rsa-private-key",
        "MII{b61}",
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
    ),
    (
        "postgres-url",
        "{a16}",
        "DATABASE_URL=postgres://app:{}@db.shop.svc:5432/shop",
    ),
    ("basic-auth", "{b24}", "Authorization: Basic {}"),
    (
        "bearer",
        "{u40}",
        "curl -H 'Authorization: Bearer {}' http://orders",
    ),
    ("kubeconfig-key", "LS0t{b76}", "    client-key-data: {}"),
    (
        "docker-auth",
        "{b28}",
        "{\"auths\":{\"registry.shop.io\":{\"auth\":\"{}\"}}}",
    ),
    ("password-setting", "{a18}", "DB_PASSWORD={}"),
    ("atlassian", "ATATT3{u60}", "jira {}"),
    ("tailscale", "tskey-auth-{a10}-{a24}", "tailnet {}"),
    ("supabase", "sbp_{h40}", "supabase {}"),
    ("groq", "gsk_{a52}", "groq {}"),
    ("replicate", "r8_{a37}", "replicate {}"),
    ("pulumi", "pul-{h40}", "pulumi {}"),
];

struct Canary {
    kind: &'static str,
    secret: String,
    line: String,
}

fn corpus() -> Vec<Canary> {
    let mut rng = Rng(0xca11_ab1e_0000_2026);
    let mut out = Vec::new();
    for round in 0..2 {
        for (kind, format, line) in KINDS {
            let secret = fill(&mut rng, format);
            // `{}` in a JSON line is literal braces: only the marked one is the secret.
            let line = line.replacen("{}", &secret, 1);
            out.push(Canary {
                kind,
                secret,
                line: if round == 0 {
                    line
                } else {
                    format!("retry: {line}")
                },
            });
        }
    }
    out
}

/// Where each canary goes, round robin.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    File,
    Log,
    Env,
    ConfigMap,
    Commit,
    Memory,
}

const PLACES: [Place; 6] = [
    Place::File,
    Place::Log,
    Place::Env,
    Place::ConfigMap,
    Place::Commit,
    Place::Memory,
];

fn snapshot_with(canaries: &[(&Canary, Place)]) -> Snapshot {
    let mut snap: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::kube::fixture("shop.json")).unwrap())
            .unwrap();
    let log_key = "shop/checkout-api-7c9d6f5b8-k2x9p/api";
    let mut log = snap["logs"][log_key]["current"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let mut env = Vec::new();
    let mut data = serde_json::Map::new();
    for (i, (c, place)) in canaries.iter().enumerate() {
        match place {
            Place::Log => log.push_str(&format!(
                "level=error msg=\"request failed\" detail=\"{}\"\n",
                c.line.replace('"', "'").replace('\n', " ")
            )),
            Place::Env => env.push(json!({"name": format!("SETTING_{i}"), "value": c.line})),
            Place::ConfigMap => {
                data.insert(format!("item_{i}"), json!(c.line));
            }
            _ => {}
        }
    }
    // Secret-looking names whose values follow no format at all.
    env.push(json!({"name": "CHECKOUT_DB_PASSWORD", "value": "plain-words-canary-one"}));
    env.push(json!({"name": "PAYMENTS_API_KEY", "value": "plain-words-canary-two"}));
    snap["logs"][log_key]["current"] = json!(log);
    let deployments = snap["objects"]["apps/v1/deployments"]
        .as_array_mut()
        .unwrap();
    let checkout = deployments
        .iter_mut()
        .find(|d| d["metadata"]["name"] == "checkout-api")
        .unwrap();
    let containers = checkout["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap();
    containers[0]["env"].as_array_mut().unwrap().extend(env);
    snap["objects"]["v1/configmaps"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "metadata": {"name": "canary-config", "namespace": "shop"},
            "data": data,
        }));
    Snapshot::parse(&snap.to_string()).unwrap()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one scenario: plant every kind everywhere, drive every way out, read every sink
async fn no_planted_secret_reaches_a_model_an_embedding_endpoint_a_trace_or_the_audit_log() {
    let canaries = corpus();
    let kinds: std::collections::BTreeSet<&str> = canaries.iter().map(|c| c.kind).collect();
    assert!(
        canaries.len() >= 100 && kinds.len() >= 40,
        "{} canaries of {} kinds",
        canaries.len(),
        kinds.len()
    );
    let placed: Vec<(&Canary, Place)> = canaries
        .iter()
        .enumerate()
        .map(|(i, c)| (c, PLACES[i % PLACES.len()]))
        .collect();

    let server = LlmServer::with_script(|n, _| match n {
        0 => llm_server::tool_calls(
            &[
                ("r1", "read_file", json!({"path": "deploy/canaries.txt"})),
                ("r2", "read_file", json!({"path": "k8s/secret.yaml"})),
                ("k1", "kube_logs", json!({"pod": "checkout-api-7c9d6f5b8-k2x9p", "container": "api", "namespace": "shop"})),
                ("k2", "kube_get", json!({"resource": "deployments", "name": "checkout-api", "namespace": "shop"})),
                ("k3", "kube_get", json!({"resource": "configmaps", "name": "canary-config", "namespace": "shop"})),
                ("k4", "kube_get", json!({"resource": "secrets", "namespace": "shop"})),
                ("g1", "git_log", json!({"max": 200})),
                ("m1", "recall_memory", json!({"query": "canary rotation checkout"})),
                ("s1", "search_code", json!({"query": "canary token key"})),
            ],
            2,
        ),
        1 => llm_server::tool_calls(
            &[("p1", "propose_action", json!({"command": "cat deploy/canaries.txt", "rationale": "see the file"}))],
            1,
        ),
        // The headless `ask` below.
        4 => llm_server::tool_calls(
            &[("r3", "read_file", json!({"path": "deploy/runtime.env"}))],
            1,
        ),
        _ => llm_server::text(&["Those are credentials. Rotate them. Confidence: 0.6"], None),
    })
    .await;

    // The repository: a file of canaries, a Secret manifest, and commits that name some.
    let repo = Fixture::shop();
    let file_lines: Vec<&str> = placed
        .iter()
        .filter(|(_, p)| *p == Place::File)
        .map(|(c, _)| c.line.as_str())
        .collect();
    repo.write(
        "deploy/canaries.txt",
        &format!("{}\n", file_lines.join("\n")),
    );
    let secret_value = "c2VjcmV0LWNhbmFyeS1iYXNlNjQtdmFsdWU=";
    repo.write(
        "k8s/secret.yaml",
        &format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {secret_value}\n"),
    );
    repo.git_init();
    for (c, place) in &placed {
        if *place == Place::Commit {
            git(
                repo.root(),
                &[
                    "commit",
                    "-q",
                    "--allow-empty",
                    "-m",
                    &format!("rotate credentials: {}", c.line),
                ],
            );
        }
    }

    // The index, embedded through the remote endpoint.
    let state = tempfile::tempdir().unwrap();
    let mut config = lexical_config();
    config.embed.provider = EmbedProvider::Openai;
    config.embed.base_url = Some(server.url.clone());
    config.llm.base_url = Some(server.url.clone());
    config.llm.model = Some("scripted".into());
    config.llm.api_key_env = "TRIAGE_TEST_UNSET_KEY".into();
    config.agent.tool_output_chars = 200_000;
    config.memory.uri = Some(state.path().join("memory").display().to_string());
    let loc = repo.location();
    index(&loc, &config).await;

    // Memories holding canaries, written as a person would.
    let store = triage::memory::open(&config).await.unwrap();
    let memories: Vec<Memory> = placed
        .iter()
        .filter(|(_, p)| *p == Place::Memory)
        .map(|(c, _)| {
            Memory::new(
                MemoryKind::Correction,
                format!("canary rotation checkout: {}", c.line),
                Scope::default(),
                "user",
            )
        })
        .collect();
    store.upsert(&memories).await.unwrap();
    drop(store);

    let cluster = Arc::new(
        ClusterSource::replay(
            snapshot_with(&placed),
            None,
            ClientOptions::default(),
            ReplayOptions::default(),
        )
        .await
        .unwrap(),
    );
    let mut handle = session::start(SessionConfig {
        repo_root: Some(loc.root.clone()),
        index_dir: Some(loc.index_dir.clone()),
        config: LoadedConfig {
            config: config.clone(),
            ..LoadedConfig::default()
        },
        cluster_label: Some("replay".into()),
        cluster: Some(cluster),
        cluster_note: None,
        llm: LlmClient::from_config(&config.llm).unwrap(),
        trace_dir: Some(state.path().join("sessions")),
        audit_path: Some(state.path().join("audit.jsonl")),
        exec_env: Vec::new(),
        external_tools: None,
    })
    .unwrap();
    handle
        .ops
        .send(Op::Submit {
            text: "checkout-api is failing: what is in the config?".into(),
        })
        .unwrap();
    let mut proposal = None;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), handle.events.recv())
            .await
            .unwrap()
            .unwrap();
        if let Event::ActionProposed { action } = &ev {
            proposal = Some(action.id);
        }
        if matches!(ev, Event::TurnComplete { .. }) {
            break;
        }
    }
    // Approve the read: its output (all the file's canaries) goes to the audit log, the
    // trace, and the model's next request.
    handle
        .ops
        .send(Op::Approve {
            action: proposal.unwrap(),
            scope: ApprovalScope::Once,
        })
        .unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), handle.events.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(ev, Event::ActionOutput { .. }) {
            break;
        }
    }
    handle.ops.send(Op::Submit { text: "so?".into() }).unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), handle.events.recv())
            .await
            .unwrap()
            .unwrap();
        if matches!(ev, Event::TurnComplete { .. }) {
            break;
        }
    }
    handle.ops.send(Op::Shutdown).unwrap();
    handle.join().await;

    // The headless `ask`, with a canary in the process environment that a file repeats
    // under a name nothing else would redact.
    let env_canary = "plain-words-canary-three";
    repo.write("deploy/runtime.env", &format!("SIGNING={env_canary}\n"));
    let out = triage_async(
        &["ask", "--json", "what is in deploy/canaries.txt?"],
        repo.root(),
        &[
            ("OPENAI_BASE_URL", &server.url),
            ("OPENAI_MODEL", "scripted"),
            ("SHOP_SIGNING_SECRET", env_canary),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Where the canaries could have gone.
    let requests = server.requests();
    let chats = requests
        .iter()
        .filter(|r| r.body.get("messages").is_some())
        .count();
    let embeds = requests
        .iter()
        .filter(|r| r.body.get("input").is_some())
        .count();
    assert!(
        chats >= 4 && embeds >= 2,
        "{chats} chat and {embeds} embedding requests"
    );
    let mut places: Vec<(String, String)> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("request {i}"), r.raw.clone()))
        .collect();
    for dir in [
        state.path().join("sessions"),
        repo.root().join(".xdg-state/triage/sessions"),
    ] {
        for f in std::fs::read_dir(&dir).unwrap().flatten() {
            places.push((
                f.path().display().to_string(),
                std::fs::read_to_string(f.path()).unwrap(),
            ));
        }
    }
    let audit = std::fs::read_to_string(state.path().join("audit.jsonl")).unwrap();
    assert!(
        audit.contains("cat deploy/canaries.txt") && audit.contains("REDACTED"),
        "{audit}"
    );
    places.push(("audit".into(), audit));

    let mut leaks = Vec::new();
    let extra = [
        ("k8s-secret", secret_value),
        ("env-name", "plain-words-canary-one"),
        ("env-name", "plain-words-canary-two"),
        ("process-env", env_canary),
    ];
    let all: Vec<(&str, &str)> = canaries
        .iter()
        .map(|c| (c.kind, c.secret.as_str()))
        .chain(extra)
        .collect();
    for (kind, secret) in &all {
        for (where_, text) in &places {
            if text.contains(secret) {
                leaks.push(format!("{kind} {secret} in {where_}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} leaks:\n{}",
        leaks.len(),
        leaks.join("\n")
    );

    // Not vacuous: the model saw the planted places, with placeholders of many kinds.
    let seen: String = requests.iter().map(|r| r.raw.as_str()).collect();
    let placeholder_kinds: std::collections::BTreeSet<&str> = seen
        .match_indices("[REDACTED:")
        .filter_map(|(i, _)| seen[i + 10..].split('#').next())
        .collect();
    assert!(placeholder_kinds.len() >= 35, "{placeholder_kinds:?}");
    for place in [
        "level=error",
        "SETTING_",
        "item_",
        "rotate credentials",
        "canary rotation checkout",
    ] {
        assert!(seen.contains(place), "the model never saw {place}");
    }
    eprintln!(
        "{} canaries of {} kinds (+{} more) in 6 places plus the environment: 0 leaks in {} model and {} embedding requests, the traces and the audit log; {} placeholder kinds seen",
        canaries.len(),
        kinds.len(),
        extra.len(),
        chats,
        embeds,
        placeholder_kinds.len()
    );
}
