//! `eval incidents` over the scenarios shipped in tests/fixtures/incidents: the offline
//! planner resolves the first ten, warm memory cuts the tool calls of a repeat to at most a
//! third without losing accuracy, and wrong memories are checked and set aside. The scenario
//! format: every shipped scenario loads with its snapshot, alerts render as Alertmanager
//! sends them, described repositories are built with their history, the split is checked,
//! and bad files are refused with the file and the key named. The planner's scores on the
//! rest of the suite are reported (docs/evaluation.md), not asserted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use triage::eval::incidents::{
    Half, MemoryMode, Options, RepoSpec, Report, Split, load_dir, load_file, run, select,
};
use triage::kube::Snapshot;

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/incidents")
}

/// The first ten scenarios (the shop of prod-eu), the ones the offline planner was written
/// against.
const ORIGINAL: [&str; 10] = [
    "backfill-lag-expected",
    "backfill-memory-stale",
    "bad-image",
    "bad-rollout",
    "configmap-bad-value",
    "configmap-missing-key",
    "failing-dependency",
    "oom",
    "pending-capacity",
    "stale-episode",
];

/// A directory holding copies of the named scenarios.
fn copy_of(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        std::fs::create_dir_all(dir.path().join(name)).unwrap();
        for f in ["scenario.toml", "snapshot.json"] {
            std::fs::copy(
                scenarios().join(name).join(f),
                dir.path().join(name).join(f),
            )
            .unwrap();
        }
    }
    dir
}

fn options(memory: MemoryMode, offline: bool) -> Options {
    Options {
        memory,
        offline,
        progress: false,
        split: Split::All,
        as_watch: false,
    }
}

async fn eval(dir: &Path, memory: MemoryMode) -> Report {
    run(None, dir, &options(memory, true))
        .await
        .expect("the scenarios run")
}

#[tokio::test]
async fn warm_memory_resolves_repeats_in_a_third_of_the_tool_calls_without_losing_accuracy() {
    let ten = copy_of(&ORIGINAL);
    let off = eval(ten.path(), MemoryMode::Off).await;
    let warm = eval(ten.path(), MemoryMode::Warm).await;
    assert_eq!(off.summary.scenarios, 10);
    let by_name = |r: &Report, n: &str| {
        r.scenarios
            .iter()
            .find(|s| s.name == n)
            .unwrap_or_else(|| panic!("scenario {n}"))
            .clone()
    };
    // Without memory, every incident: the expected backfill shows as a scheduled Job's
    // load on a healthy workload.
    for s in &off.scenarios {
        assert!(s.run.correct, "{}: {:?}", s.name, s.run);
    }
    // With memory: nothing lost, on the first pass (prior memories, some of them wrong)
    // or on the repeat.
    let first = warm.first_pass.as_ref().unwrap();
    assert!(first.accuracy >= off.summary.accuracy, "{first:?}");
    assert!(warm.summary.accuracy >= off.summary.accuracy);
    assert_eq!(warm.summary.accuracy, 1.0, "{:#?}", warm.scenarios);
    // Each repeat takes at most a third of the cold run's tool calls.
    for s in &warm.scenarios {
        let cold = by_name(&off, &s.name).run.tool_calls;
        assert!(
            s.run.tool_calls * 3 <= cold,
            "{}: {} tool calls warm, {cold} cold",
            s.name,
            s.run.tool_calls
        );
        assert!(!s.run.memories_used.is_empty(), "{}: {:?}", s.name, s.run);
    }
    // The user's correction is verified (the CronJob ran at 17:00) and followed: nothing
    // to change.
    let backfill = by_name(&warm, "backfill-lag-expected");
    let f = backfill.first_pass.as_ref().unwrap();
    assert!(f.correct && f.write_actions.is_empty(), "{f:?}");
    assert_eq!(f.memories_used, ["backfill-lag-expected-0"]);
    // Stale memories are checked, set aside, and the answer is still right.
    for name in ["backfill-memory-stale", "stale-episode"] {
        let s = by_name(&warm, name);
        let f = s.first_pass.as_ref().unwrap();
        assert!(f.correct, "{name}: {f:?}");
        assert!(!f.memories_rejected.is_empty(), "{name}: {f:?}");
        assert!(f.memories_used.is_empty(), "{name}: {f:?}");
    }
}

fn model_config(dir: &Path, url: &str) -> PathBuf {
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[llm]\nbase_url = \"{url}\"\nmodel = \"scripted\"\napi_key_env = \"TRIAGE_TEST_UNSET_KEY\"\n\n[embed]\nprovider = \"none\"\n"
        ),
    )
    .unwrap();
    config
}

#[tokio::test]
async fn with_a_model_the_scenarios_run_through_it_and_count_its_tokens() {
    use crate::llm_server::{self, LlmServer};
    // The model looks at the cluster once, then answers.
    let server = LlmServer::with_script(|n, _| {
        if n % 2 == 0 {
            llm_server::tool_calls(&[("k1", "kube_findings", serde_json::json!({}))], 2)
        } else {
            llm_server::text(
                &[
                    "## Deployment/shop/orders-worker\n\n**Likely cause:** orders-worker is OOMKilled: ",
                    "it runs out of memory at its 512Mi limit.\n\nConfidence: 0.8",
                ],
                Some((900, 40)),
            )
        }
    })
    .await;
    let one = copy_of(&["oom"]);
    let config = model_config(one.path(), &server.url);
    let report = run(Some(&config), one.path(), &options(MemoryMode::Off, false))
        .await
        .unwrap();
    assert_eq!(report.agent, "scripted");
    let s = &report.scenarios[0];
    assert!(s.run.correct, "{:?}", s.run);
    assert_eq!(s.run.tool_calls, 1);
    assert!(s.run.tokens >= 940, "{}", s.run.tokens);
    assert_eq!(report.summary.tokens, s.run.tokens);
    // The scenario's alert reached the model.
    let first = server.requests()[0].body.to_string();
    assert!(first.contains("orders-worker restarting"), "{first}");
}

#[tokio::test]
async fn a_scenario_with_an_alertmanager_alert_and_a_repository_runs_end_to_end() {
    use crate::llm_server::{self, LlmServer};
    let server = LlmServer::with_script(|n, _| {
        if n == 0 {
            llm_server::tool_calls(&[("k1", "kube_findings", serde_json::json!({}))], 1)
        } else {
            llm_server::text(
                &["## Deployment/search/search-api\n\n**Likely cause:** the liveness probe of search-api asks port 8081, ",
                  "where nothing listens since 5.4.0.\n\nConfidence: 0.7"],
                Some((1200, 50)),
            )
        }
    })
    .await;
    let one = copy_of(&["probe-wrong-port"]);
    let config = model_config(one.path(), &server.url);
    let report = run(Some(&config), one.path(), &options(MemoryMode::Off, false))
        .await
        .unwrap();
    let s = &report.scenarios[0];
    assert!(s.run.correct && s.run.culprit && s.run.cause, "{:?}", s.run);
    assert_eq!(s.family.map(|f| f.as_str()), Some("probes"));
    // No split file in this directory: no halves, one family row outside any split.
    assert!(report.splits.is_empty());
    assert_eq!(report.families.len(), 1);
    assert_eq!(report.families[0].split, "all");
    // The model received the alert as Alertmanager renders it.
    let first = crate::llm_server::messages(&server.requests()[0].body)
        .iter()
        .map(|m| m.to_string())
        .collect::<String>();
    for part in [
        "[FIRING:2] KubePodCrashLooping search (",
        "Alerts Firing:",
        " - alertname = KubePodCrashLooping",
        " - prometheus = monitoring/kube-prometheus-stack-prometheus",
        "Starts at: 2025-06-12 14:19:02 +0000 UTC",
        "Source: https://prometheus.media-prod.internal.example.net/graph?g0.expr=",
    ] {
        assert!(first.contains(part), "{part:?} not in {first}");
    }
}

#[test]
fn every_shipped_scenario_loads_with_its_snapshot_and_describes_its_repository() {
    let all = load_dir(&scenarios()).unwrap();
    assert!(all.len() >= 40, "{}", all.len());
    for (file, s) in &all {
        let snap =
            Snapshot::load(&s.snapshot).unwrap_or_else(|e| panic!("{}: {e}", s.snapshot.display()));
        assert!(snap.object_count() > 0, "{}", file.display());
        assert!(s.family.is_some(), "{}: no family", file.display());
        assert!(!s.prompt().trim().is_empty(), "{}", file.display());
        if ORIGINAL.contains(&s.name.as_str()) {
            continue;
        }
        // The rest of the suite: an alert as Alertmanager sent it, a repository of its
        // own, a cause category, and a snapshot taken after the alert started.
        let n = s
            .notification
            .as_ref()
            .unwrap_or_else(|| panic!("{}", file.display()));
        assert!(
            n.alerts.iter().all(|a| a.starts_at < snap.recorded_at),
            "{}",
            s.name
        );
        let Some(RepoSpec::Described(repo)) = &s.repo else {
            panic!("{}: no [repo]", file.display());
        };
        assert!(repo.commits.len() >= 2, "{}", s.name);
        assert!(s.expected.cause.is_some(), "{}", s.name);
    }
}

#[test]
fn the_shipped_split_covers_every_scenario_and_puts_each_family_on_both_sides() {
    let dir = scenarios();
    let all = select(&dir, Split::All).unwrap();
    let tune = select(&dir, Split::Tune).unwrap();
    let holdout = select(&dir, Split::Holdout).unwrap();
    assert_eq!(tune.len() + holdout.len(), all.len());
    assert!(tune.iter().all(|(_, _, h)| *h == Some(Half::Tune)));
    assert!(holdout.iter().all(|(_, _, h)| *h == Some(Half::Holdout)));
    let mut halves: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (_, s, half) in &all {
        let e = halves
            .entry(s.family.map_or("none", |f| f.as_str()))
            .or_default();
        match half {
            Some(Half::Tune) => e.0 += 1,
            Some(Half::Holdout) => e.1 += 1,
            None => panic!("{} is in no half", s.name),
        }
    }
    for (family, (t, h)) in &halves {
        if t + h >= 2 {
            assert!(*t > 0 && *h > 0, "{family}: {t} tune, {h} holdout");
        }
    }
}

fn scenario_dir(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    std::fs::create_dir(&s).unwrap();
    std::fs::copy(
        scenarios().join("oom/snapshot.json"),
        s.join("snapshot.json"),
    )
    .unwrap();
    std::fs::write(s.join("scenario.toml"), toml).unwrap();
    dir
}

const NOTIFIED: &str = r#"name = "s"
family = "oom-cpu"
alert = "worker keeps restarting"
snapshot = "snapshot.json"

[expected]
resource = "orders-worker"
cause = "memory-limit"

[notification]
receiver = "shop-oncall"
group_by = ["alertname", "namespace"]

[[notification.alerts]]
starts_at = "2025-06-19T08:02:11Z"
generator_url = "http://prometheus:9090/graph?g0.expr=x"
labels = { alertname = "KubePodCrashLooping", namespace = "shop", pod = "orders-worker-1", container = "worker", job = "kube-state-metrics", severity = "warning" }
annotations = { summary = "Pod is crash looping.", description = "Pod shop/orders-worker-1 (worker) is in waiting state." }

[[notification.alerts]]
starts_at = "2025-06-19T08:03:41Z"
labels = { alertname = "KubePodCrashLooping", namespace = "shop", pod = "orders-worker-2", container = "worker", job = "kube-state-metrics", severity = "warning" }
annotations = { summary = "Pod is crash looping." }
"#;

#[test]
fn a_notification_is_pasted_below_the_typed_line_in_alertmanagers_default_template() {
    let dir = scenario_dir(NOTIFIED);
    let s = load_file(&dir.path().join("s/scenario.toml")).unwrap();
    let prompt = s.prompt();
    let expected = "worker keeps restarting\n\n\
        [FIRING:2] KubePodCrashLooping shop (worker kube-state-metrics warning)\n\
        Alerts Firing:\n\
        Labels:\n - alertname = KubePodCrashLooping\n - container = worker\n - job = kube-state-metrics\n \
        - namespace = shop\n - pod = orders-worker-1\n - severity = warning\n\
        Annotations:\n - description = Pod shop/orders-worker-1 (worker) is in waiting state.\n - summary = Pod is crash looping.\n\
        Starts at: 2025-06-19 08:02:11 +0000 UTC\n\
        Source: http://prometheus:9090/graph?g0.expr=x\n\
        Labels:\n";
    assert!(prompt.starts_with(expected), "{prompt}");
    assert!(
        prompt.ends_with("Starts at: 2025-06-19 08:03:41 +0000 UTC\n"),
        "{prompt}"
    );
}

#[test]
fn a_described_repository_is_built_with_its_dates_authors_and_deletions() {
    let toml = format!(
        "{}\n{}",
        NOTIFIED,
        r#"[repo]

[[repo.commits]]
date = "2025-05-01T09:00:00Z"
author = "Dana Ops <dana@shop.example>"
message = "shop: first import"

[repo.commits.files]
"deploy/orders-worker.yaml" = '''
resources:
  limits: {memory: 1Gi}
'''
"OLD.md" = "to be removed\n"

[[repo.commits]]
date = "2025-06-18T16:40:00Z"
author = "Léa Martin <lea@shop.example>"
message = """orders-worker: memory limit 512Mi (#88)

Right-sized from the last week."""
delete = ["OLD.md"]

[repo.commits.files]
"deploy/orders-worker.yaml" = '''
resources:
  limits: {memory: 512Mi}
'''
"#
    );
    let dir = scenario_dir(&toml);
    let s = load_file(&dir.path().join("s/scenario.toml")).unwrap();
    let Some(RepoSpec::Described(repo)) = &s.repo else {
        panic!("{:?}", s.repo)
    };
    let root = dir.path().join("built");
    repo.build(&root).unwrap();
    let log = Command::new("git")
        .args(["log", "--format=%an|%ae|%at|%ct|%s"])
        .current_dir(&root)
        .output()
        .unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    let epoch = |t: &str| {
        t.parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .timestamp()
    };
    let (t1, t2) = (epoch("2025-05-01T09:00:00Z"), epoch("2025-06-18T16:40:00Z"));
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            format!(
                "Léa Martin|lea@shop.example|{t2}|{t2}|orders-worker: memory limit 512Mi (#88)"
            ),
            format!("Dana Ops|dana@shop.example|{t1}|{t1}|shop: first import"),
        ]
    );
    let manifest = std::fs::read_to_string(root.join("deploy/orders-worker.yaml")).unwrap();
    assert_eq!(manifest, "resources:\n  limits: {memory: 512Mi}\n");
    assert!(!root.join("OLD.md").exists());
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(status.stdout.is_empty(), "the tree is committed");
}

fn load_error(toml: &str) -> String {
    let dir = scenario_dir(toml);
    let e = load_file(&dir.path().join("s/scenario.toml")).unwrap_err();
    format!("{e:#}")
}

#[test]
fn bad_scenario_files_are_refused_naming_the_file_and_the_key() {
    // An unknown key, at the top and inside a table.
    let e = load_error(&NOTIFIED.replace("[expected]\n", "[expected]\nculprit = \"x\"\n"));
    assert!(
        e.contains("s/scenario.toml") && e.contains("culprit"),
        "{e}"
    );
    let e = load_error(&NOTIFIED.replace("receiver = ", "reciever = "));
    assert!(
        e.contains("s/scenario.toml") && e.contains("reciever"),
        "{e}"
    );
    // A cause outside the vocabulary lists the valid ones.
    let e = load_error(&NOTIFIED.replace("memory-limit", "memory-leak"));
    assert!(
        e.contains("memory-leak") && e.contains("network-policy"),
        "{e}"
    );
    // A missing snapshot is named with its key.
    let e = load_error(&NOTIFIED.replace("snapshot.json", "gone.json"));
    assert!(e.contains("snapshot = \"gone.json\": no such file"), "{e}");
    // A repository path that does not exist.
    let e = load_error(&NOTIFIED.replace("[expected]", "repo = \"nowhere\"\n\n[expected]"));
    assert!(e.contains("repo = ") && e.contains("nowhere"), "{e}");
    // Commits: an author without an address; commits out of order.
    let repo = "\n[repo]\n\n[[repo.commits]]\ndate = \"2025-06-01T10:00:00Z\"\nauthor = \"dana\"\nmessage = \"m\"\nfiles = { \"a\" = \"b\" }\n";
    let e = load_error(&format!("{NOTIFIED}{repo}"));
    assert!(e.contains("[repo]: commits[0].author"), "{e}");
    // An alert without a name; a scenario without any alert.
    let e = load_error(&NOTIFIED.replacen("alertname = \"KubePodCrashLooping\", ", "", 1));
    assert!(
        e.contains("[notification]: alerts[0].labels: `alertname` is missing"),
        "{e}"
    );
    let bare = "name = \"s\"\nsnapshot = \"snapshot.json\"\n\n[expected]\nresource = \"x\"\n";
    let e = load_error(bare);
    assert!(e.contains("needs `alert`"), "{e}");
}

#[test]
fn the_split_file_must_match_the_scenarios() {
    let dir = copy_of(&["oom", "bad-image"]);
    // Without a split file only --split all runs.
    assert_eq!(select(dir.path(), Split::All).unwrap().len(), 2);
    let e = format!("{:#}", select(dir.path(), Split::Holdout).unwrap_err());
    assert!(e.contains("split.toml is missing"), "{e}");
    let split = dir.path().join("split.toml");
    std::fs::write(
        &split,
        "[scenarios]\noom = \"tune\"\nbad-image = \"holdout\"\nnot-here = \"tune\"\n",
    )
    .unwrap();
    let e = format!("{:#}", select(dir.path(), Split::All).unwrap_err());
    assert!(
        e.contains("split.toml") && e.contains("[scenarios].not-here"),
        "{e}"
    );
    std::fs::write(&split, "[scenarios]\noom = \"tune\"\n").unwrap();
    let e = format!("{:#}", select(dir.path(), Split::Tune).unwrap_err());
    assert!(e.contains("does not list bad-image"), "{e}");
    std::fs::write(
        &split,
        "[scenarios]\noom = \"tune\"\nbad-image = \"holdout\"\n",
    )
    .unwrap();
    let holdout = select(dir.path(), Split::Holdout).unwrap();
    assert_eq!(holdout.len(), 1);
    assert_eq!(holdout[0].1.name, "bad-image");
}

/// The second fresh batch's classes the engine now reads: a container the kubelet will
/// not create (runAsNonRoot), a ConfigMap volume's `items`, a LimitRange's default limit
/// and two HPAs for one Deployment; and two it cannot name yet (the device plugin that
/// never runs on the GPU node, the pod holding a node's process IDs), which it must not
/// state with high confidence.
#[tokio::test]
async fn the_second_fresh_batchs_readings_name_the_cause() {
    let right = [
        "web-image-runs-as-root",
        "thumbnailer-config-items",
        "limitrange-default-oom",
        "two-hpas-one-deployment",
    ];
    let unsure = ["gpu-device-plugin-taint", "pid-pressure-agent"];
    let dir = copy_of(&[right.as_slice(), unsure.as_slice()].concat());
    let r = eval(dir.path(), MemoryMode::Off).await;
    assert_eq!(r.scenarios.len(), right.len() + unsure.len());
    for s in &r.scenarios {
        if right.contains(&s.name.as_str()) {
            assert!(s.run.correct, "{}: {:?}", s.name, s.run);
        } else {
            assert!(
                s.run.confidence.unwrap_or(0.0) < 0.8,
                "{}: {:?}",
                s.name,
                s.run
            );
        }
    }
}
