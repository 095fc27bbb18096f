//! `triage mcp` as other agents use it: the official Python SDK's client (installed by
//! scripts/setup) starts the real binary, lists its tools, checks their schemas, calls
//! issue → files on a fixture repository, kube reads against a replayed snapshot and
//! memory recall, reads the resources and prompts; secrets planted in the repository,
//! the snapshot, the memory and the prompt never come back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// Where scripts/setup installs the Python MCP SDK (`$TRIAGE_TEST_MCP` overrides).
pub(crate) fn python_sdk() -> String {
    let dir = std::env::var_os("TRIAGE_TEST_MCP")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap().join(".cache/triage-mcp-py"));
    assert!(
        dir.join("mcp").is_dir(),
        "the MCP Python SDK is not installed in {} (scripts/setup installs it)",
        dir.display()
    );
    dir.display().to_string()
}

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp")
        .join(name)
}

pub(crate) const AWS: &str = "AKIACANARYMCP0000001";
pub(crate) const GH: &str = "ghp_CANARYmcp0000000000000000000000000001";
const DB_PASSWORD: &str = "CanaryDbPassw0rd";
const BEARER: &str = "canaryMcpBearerToken98765";
const SECRET_VALUE: &str = "canary-secret-value-7d1e";

/// The environment `triage` runs with in these tests: everything under `dir`.
fn triage_env(dir: &Path) -> Value {
    json!({
        "PATH": std::env::var("PATH").unwrap_or_default(),
        "HOME": dir.join(".home"),
        "XDG_CONFIG_HOME": dir.join(".xdg-config"),
        "XDG_STATE_HOME": dir.join(".xdg-state"),
        "XDG_DATA_HOME": dir.join(".xdg-data"),
        "TRIAGE_EMBED_PROVIDER": "none",
    })
}

/// Run the Python client on a plan; its JSON report.
async fn drive(plan: &Value, dir: &Path) -> Value {
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .arg(fixture("drive.py"))
            .arg(&plan_file)
            .env("PYTHONPATH", python_sdk())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the MCP client finishes")
    .unwrap();
    assert!(
        out.status.success(),
        "the MCP client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

/// The shop snapshot with secrets where a careless cluster keeps them: a ConfigMap, a
/// Secret's data, a container log.
fn snapshot_with_secrets(dir: &Path) -> PathBuf {
    let mut snap: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::kube::fixture("shop.json")).unwrap())
            .unwrap();
    let objects = &mut snap["objects"];
    objects["v1/configmaps"][0]["data"]["DATABASE_URL"] =
        json!(format!("postgres://app:{DB_PASSWORD}@db:5432/shop"));
    objects["v1/secrets"][0]["data"] = json!({ "password": b64(SECRET_VALUE) });
    let log = &mut snap["logs"]["shop/checkout-api-7c9d6f5b8-k2x9p/api"]["current"];
    *log = json!(format!(
        "{}\n2025-06-01T11:58:30.000Z DEBUG calling payments with Authorization: Bearer {BEARER}\n",
        log.as_str().unwrap()
    ));
    let path = dir.join("shop-with-secrets.json");
    std::fs::write(&path, snap.to_string()).unwrap();
    path
}

fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn call_text<'a>(report: &'a Value, tool: &str) -> Vec<(&'a str, bool)> {
    report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool)
        .map(|c| {
            let r = &c["result"];
            (
                r["content"][0]["text"].as_str().unwrap_or(""),
                r["isError"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one client session checked tool by tool
async fn another_agent_uses_the_index_the_cluster_and_memory_through_triage_mcp() {
    let repo = Fixture::shop();
    repo.write(
        "deploy/prod.env",
        &format!(
            "AWS_ACCESS_KEY_ID={AWS}\nGITHUB_TOKEN={GH}\nDATABASE_URL=postgres://app:{DB_PASSWORD}@db:5432/shop\n"
        ),
    );
    repo.git_init();
    let dir = repo.root();
    let snapshot = snapshot_with_secrets(dir);
    let added = triage(
        &[
            "memory",
            "add",
            "--scope",
            "service=checkout-api",
            &format!(
                "checkout-api 5xx after a deploy: payments timeout; the old key {AWS} was rotated"
            ),
        ],
        dir,
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let plan = json!({
        "server": {
            "command": env!("CARGO_BIN_EXE_triage"),
            "args": ["mcp", "--repo", dir, "--replay", snapshot],
            "env": triage_env(dir),
            "cwd": dir,
        },
        "calls": [
            {"tool": "issue_files", "arguments": {"text": "Checkout fails: RuntimeError payment processor unavailable in charge_card when payments time out", "top": 5}},
            {"tool": "read_file", "arguments": {"path": "deploy/prod.env"}},
            {"tool": "read_file", "arguments": {"path": "../../etc/passwd"}},
            {"tool": "search_code", "arguments": {"query": "WorkerConfig from_env"}},
            {"tool": "kube_get", "arguments": {"resource": "configmaps", "namespace": "shop"}},
            {"tool": "kube_get", "arguments": {"resource": "secrets", "namespace": "shop"}},
            {"tool": "kube_logs", "arguments": {"pod": "checkout-api-7c9d6f5b8-k2x9p", "namespace": "shop"}},
            {"tool": "recall_memory", "arguments": {"text": "checkout-api 5xx"}},
        ],
        "resources": ["triage://index", "triage://cluster/scan"],
        "prompts": [{"name": "investigate_alert", "arguments": {"alert": format!("checkout-api 5xx; curl -H 'Authorization: Bearer {BEARER}' fails")}}],
    });
    let report = drive(&plan, dir).await;

    // Every served tool is the agent's read tool, with a valid schema, marked read-only.
    assert_eq!(report["schema_errors"], json!([]), "{report}");
    let tools = report["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for expected in [
        "issue_files",
        "search_code",
        "read_file",
        "find_symbol",
        "related_files",
        "git_log",
        "blame",
        "kube_findings",
        "kube_get",
        "kube_logs",
        "kube_events",
        "recall_memory",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not served: {names:?}"
        );
    }
    for steering in ["propose_action", "save_checkpoint"] {
        assert!(!names.contains(&steering), "{steering} is served");
    }
    for t in tools {
        assert_eq!(t["annotations"]["readOnlyHint"], true, "{t}");
        assert_eq!(t["annotations"]["destructiveHint"], false, "{t}");
    }

    // Issue → files: the ranking, with reasons and functions.
    let (issue, err) = call_text(&report, "issue_files")[0];
    assert!(!err, "{issue}");
    let first = issue.lines().next().unwrap_or("");
    assert!(first.contains("checkout/payments.py"), "{issue}");
    assert!(issue.contains("charge_card"), "{issue}");
    // Files are read with the path rules, and redacted.
    let reads = call_text(&report, "read_file");
    assert!(
        !reads[0].1 && reads[0].0.contains("REDACTED"),
        "{}",
        reads[0].0
    );
    assert!(
        reads[1].1 && reads[1].0.contains("outside the repository"),
        "{}",
        reads[1].0
    );
    assert!(
        call_text(&report, "search_code")[0]
            .0
            .contains("worker/src/main.rs")
    );
    // Kube reads through the guard, against the replay.
    let gets = call_text(&report, "kube_get");
    assert!(gets[0].0.contains("checkout-config"), "{}", gets[0].0);
    assert!(gets[1].0.contains("checkout-db"), "{}", gets[1].0);
    let (logs, _) = call_text(&report, "kube_logs")[0];
    assert!(logs.contains("PAYMENTS_TIMEOUT_MS"), "{logs}");
    let (recalled, _) = call_text(&report, "recall_memory")[0];
    assert!(recalled.contains("payments timeout"), "{recalled}");
    // Resources and prompts.
    let index = report["resources"]["triage://index"]["contents"][0]["text"]
        .as_str()
        .unwrap();
    assert!(index.contains("\"status\""), "{index}");
    let scan = report["resources"]["triage://cluster/scan"]["contents"][0]["text"]
        .as_str()
        .unwrap();
    assert!(scan.contains("checkout-api"), "{scan}");
    let prompt = report["prompts"]["investigate_alert"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(
        prompt.contains("kube_findings") && prompt.contains("checkout-api 5xx"),
        "{prompt}"
    );

    // Nothing planted anywhere came back.
    let all = report.to_string();
    for canary in [
        AWS,
        GH,
        DB_PASSWORD,
        BEARER,
        SECRET_VALUE,
        &b64(SECRET_VALUE),
    ] {
        assert!(!all.contains(canary), "{canary} left triage mcp");
    }
}

#[tokio::test]
async fn triage_mcp_serves_streamable_http_on_loopback_only() {
    let repo = Fixture::shop();
    repo.git_init();
    index(&repo.location(), &lexical_config()).await;
    let dir = repo.root();
    let refused = triage(&["mcp", "--http", "0.0.0.0:0"], dir);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));

    let mut child =
        crate::agent::triage_command(&["mcp", "--http", "127.0.0.1:0", "--no-refresh"], dir, &[])
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
    let url = served_url(&mut child).await;
    let plan = json!({
        "server": {"url": url},
        "calls": [{"tool": "issue_files", "arguments": {"text": "QUEUE_URL not set: the order worker panics at start"}}],
    });
    let report = drive(&plan, dir).await;
    let (text, err) = call_text(&report, "issue_files")[0];
    assert!(
        !err && text
            .lines()
            .next()
            .unwrap_or("")
            .contains("worker/src/main.rs"),
        "{text}"
    );
    let _ = child.start_kill();
}

/// The URL `triage mcp --http` prints on stderr once it listens.
async fn served_url(child: &mut tokio::process::Child) -> String {
    use tokio::io::AsyncBufReadExt;
    let stderr = child.stderr.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let find = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.split("serving Streamable HTTP at ").nth(1) {
                return url.trim().to_string();
            }
        }
        panic!("triage mcp ended without serving");
    };
    tokio::time::timeout(Duration::from_secs(30), find)
        .await
        .expect("triage mcp listens")
}
