//! A new user's first hour: the embedding model fetched where triage finds it, `doctor`,
//! the model chosen by flag over environment over file, `ask` reading a pipe, warnings on
//! stderr, completions, the man page, `--version` and the exit codes.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use axum::Router;
use serde_json::Value;

use crate::cli_kube::{text, triage};
use crate::llm_server::{self, LlmServer};

/// Serve a folder's files over loopback HTTP, as a model host does.
async fn file_server(dir: &Path) -> String {
    let dir = dir.to_path_buf();
    let app = Router::new().route(
        "/m/{name}",
        axum::routing::get(
            move |axum::extract::Path(name): axum::extract::Path<String>| {
                let dir = dir.clone();
                async move {
                    match std::fs::read(dir.join(&name)) {
                        Ok(bytes) => (axum::http::StatusCode::OK, bytes),
                        Err(_) => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/m")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fetched_model_is_found_without_configuration_and_vectors_are_opt_in() {
    let home = tempfile::tempdir().unwrap();
    let url = file_server(&crate::common::test_model_dir()).await;
    let repo = crate::common::Fixture::shop();
    repo.git_init();
    let h = home.path().to_path_buf();
    let r = repo.root().to_path_buf();
    let (fetch, path, index, again) = tokio::task::spawn_blocking(move || {
        let fetch = triage(&h)
            .args(["model", "fetch", "--from", &url])
            .output()
            .unwrap();
        let path = triage(&h).args(["model", "path"]).output().unwrap();
        let index = triage(&h)
            .env_remove("TRIAGE_EMBED_PROVIDER")
            .args(["index", "--repo"])
            .arg(&r)
            .output()
            .unwrap();
        let hybrid = triage(&h)
            .env("TRIAGE_EMBED_PROVIDER", "local")
            .args(["index", "--repo"])
            .arg(&r)
            .output()
            .unwrap();
        let again = triage(&h)
            .args(["model", "fetch", "--from", &url])
            .output()
            .unwrap();
        (fetch, path, (index, hybrid), again)
    })
    .await
    .unwrap();
    let (out, err) = text(&fetch);
    assert!(fetch.status.success(), "{err}");
    let cached = home.path().join("cache/triage/models/all-MiniLM-L6-v2");
    assert!(out.contains(&cached.display().to_string()), "{out}");
    assert!(out.contains("384 dimensions"), "{out}");
    assert_eq!(text(&path).0.trim(), cached.display().to_string());
    // By default the code index stays lexical and says how to add vectors with it.
    let (out, err) = text(&index.0);
    assert!(index.0.status.success(), "{err}");
    assert!(out.contains("embeddings: off by default"), "{out}");
    assert!(out.contains(&cached.display().to_string()), "{out}");
    let (out, err) = text(&index.1);
    assert!(index.1.status.success(), "{err}");
    assert!(
        out.contains(&format!("embedder: local model {}", cached.display())),
        "{out}"
    );
    assert!(text(&again).1.contains("already there"));
}

#[test]
fn without_a_model_index_says_how_to_get_one() {
    let home = tempfile::tempdir().unwrap();
    let repo = crate::common::Fixture::shop();
    repo.git_init();
    let out = triage(home.path())
        .env_remove("TRIAGE_EMBED_PROVIDER")
        .env("HF_HUB_CACHE", home.path().join("no-hub"))
        .args(["index", "--repo"])
        .arg(repo.root())
        .output()
        .unwrap();
    let (out, err) = text(&out);
    assert!(out.contains("triage model fetch"), "{out}{err}");
    let path = triage(home.path())
        .args(["model", "path"])
        .output()
        .unwrap();
    assert_eq!(path.status.code(), Some(1));
    assert!(text(&path).1.contains("triage model fetch"));
}

/// The model named in each request `ask` sends.
async fn asked_model(
    server: &LlmServer,
    home: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> String {
    let before = server.requests().len();
    let mut cmd = triage(home);
    cmd.env("OPENAI_BASE_URL", &server.url)
        .env("TRIAGE_LLM_API_KEY_ENV", "TRIAGE_TEST_UNSET_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).args(["ask", "hello"]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    server.requests()[before].body["model"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_flag_beats_the_environment_which_beats_the_file() {
    let server = LlmServer::with_script(|_, _| llm_server::text(&["hi"], None)).await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config/triage/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[llm]\nmodel = \"from-file\"\n").unwrap();
    let h = home.path();
    assert_eq!(asked_model(&server, h, &[], &[]).await, "from-file");
    let env = [("OPENAI_MODEL", "from-env")];
    assert_eq!(asked_model(&server, h, &env, &[]).await, "from-env");
    assert_eq!(
        asked_model(&server, h, &env, &["-m", "from-flag"]).await,
        "from-flag"
    );
    assert_eq!(
        asked_model(&server, h, &env, &["--model", "long-flag"]).await,
        "long-flag"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ask_reads_piped_text_with_the_question_and_warns_on_stderr() {
    let server =
        LlmServer::with_script(|_, _| llm_server::text(&["the image tag is wrong"], None)).await;
    let home = tempfile::tempdir().unwrap();
    let url = server.url.clone();
    let h = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        let mut child = triage(&h)
            .env("OPENAI_BASE_URL", &url)
            .env("OPENAI_MODEL", "scripted")
            .args(["ask", "why is it failing?"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(
                b"Events:\n  Warning  Failed  kubelet  Failed to pull image \"shop/api:1.4.3\"\n",
            )
            .unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let (out_text, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(out_text.contains("the image tag is wrong"), "{out_text}");
    let user: Vec<String> = llm_server::messages(&server.requests()[0].body)
        .iter()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .collect();
    assert!(
        user.iter()
            .any(|u| u.contains("why is it failing?") && u.contains("Failed to pull image")),
        "{user:?}"
    );
    // No kubeconfig anywhere: the run says so on stderr instead of only in the log.
    assert!(err.contains("no Kubernetes context configured"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_the_endpoint_and_says_what_to_fix() {
    let calls = LlmServer::with_script(|_, _| {
        llm_server::tool_calls(
            &[("c1", "report_status", serde_json::json!({"status": "ok"}))],
            1,
        )
    })
    .await;
    let prose =
        LlmServer::with_script(|_, _| llm_server::text(&["I cannot call tools."], None)).await;
    let home = tempfile::tempdir().unwrap();
    let run = |url: String| {
        let h = home.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            triage(&h)
                .env("OPENAI_BASE_URL", url)
                .args(["-m", "scripted", "doctor", "--json", "--no-cluster"])
                .output()
                .unwrap()
        })
    };
    let good = run(calls.url.clone()).await.unwrap();
    let report: Value = serde_json::from_slice(&good.stdout).unwrap();
    let model = check(&report, "model");
    assert_eq!(model["status"], "ok", "{model}");
    assert!(
        model["detail"].as_str().unwrap().contains("round trip"),
        "{model}"
    );
    assert!(
        model["detail"].as_str().unwrap().contains("32768"),
        "{model}"
    );
    let embedder = check(&report, "embedder");
    assert!(
        embedder["detail"].as_str().unwrap().contains("none"),
        "{embedder}"
    );

    let bad = run(prose.url.clone()).await.unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&bad.stdout).unwrap();
    let model = check(&report, "model");
    assert_eq!(model["status"], "fail", "{model}");
    assert!(
        model["fix"].as_str().unwrap().contains("--jinja"),
        "{model}"
    );
}

#[test]
fn completions_man_page_version_and_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    let out = triage(home.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let script = text(&out).0;
    assert!(out.status.success() && script.contains("_triage") && script.contains("kube"));
    let out = triage(home.path())
        .args(["completions", "zsh"])
        .output()
        .unwrap();
    assert!(text(&out).0.contains("#compdef triage"));

    let out = triage(home.path()).arg("man").output().unwrap();
    let page = text(&out).0;
    assert!(
        page.starts_with(".ie") || page.contains(".TH triage"),
        "{page}"
    );
    assert!(page.contains("doctor"));
    let dir = home.path().join("man");
    let out = triage(home.path())
        .args(["man", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(dir.join("triage.1").is_file() && dir.join("triage-kube.1").is_file());

    let out = triage(home.path()).arg("--version").output().unwrap();
    let version = text(&out).0;
    assert!(
        version.contains("commit ") && version.contains("features: "),
        "{version}"
    );

    let out = triage(home.path()).arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = triage(home.path())
        .args(["search", "x", "--repo"])
        .arg(home.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// The check called `name` in a `triage doctor --json` report.
fn check(report: &Value, name: &str) -> Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
        .clone()
}
