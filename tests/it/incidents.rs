//! `eval incidents` over the scenarios shipped in tests/fixtures/incidents: the offline
//! planner resolves them, warm memory cuts the tool calls of a repeat to at most a third
//! without losing accuracy, and wrong memories are checked and set aside.

use std::path::PathBuf;

use triage::eval_incidents::{MemoryMode, Options, Report, run};

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/incidents")
}

async fn eval(memory: MemoryMode) -> Report {
    run(
        None,
        &scenarios(),
        &Options {
            memory,
            offline: true,
            progress: false,
        },
    )
    .await
    .expect("the scenarios run")
}

#[tokio::test]
async fn warm_memory_resolves_repeats_in_a_third_of_the_tool_calls_without_losing_accuracy() {
    let off = eval(MemoryMode::Off).await;
    let warm = eval(MemoryMode::Warm).await;
    assert!(off.summary.scenarios >= 8, "{}", off.summary.scenarios);
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
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("scenarios");
    std::fs::create_dir_all(one.join("oom")).unwrap();
    for f in ["scenario.toml", "snapshot.json"] {
        std::fs::copy(scenarios().join("oom").join(f), one.join("oom").join(f)).unwrap();
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[llm]\nbase_url = \"{}\"\nmodel = \"scripted\"\napi_key_env = \"TRIAGE_TEST_UNSET_KEY\"\n\n[embed]\nprovider = \"none\"\n",
            server.url
        ),
    )
    .unwrap();
    let report = run(
        Some(&config),
        &one,
        &Options {
            memory: MemoryMode::Off,
            offline: false,
            progress: false,
        },
    )
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
