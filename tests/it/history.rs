//! History (gix), the knowledge graph, `triage issue` and `triage eval` on a fixture
//! repository with real commits.

use triage::index::graph::FileGraph;
use triage::index::localize::{Signals, rank_files_for_issue};
use triage::index::store::{IndexTable, Store};

use crate::common::*;

/// The shop fixture with a few commits on top of the initial one.
fn shop_with_history() -> Fixture {
    let f = Fixture::shop();
    f.write(
        ".mailmap",
        "Real Name <real@example.com> Test <test@example.com>\n",
    );
    f.git_init();
    f.write(
        "checkout/payments.py",
        &SHOP_FILES[2].1.replace(
            "PAYMENT_TIMEOUT_SECONDS = 3",
            "PAYMENT_TIMEOUT_SECONDS = 10",
        ),
    );
    f.write(
        "checkout/api.py",
        &format!("{}\n# retry once on processor timeouts\n", SHOP_FILES[1].1),
    );
    commit(
        &f,
        "Fix checkout failing when the payment processor is slow (#12)",
    );
    f.write(
        "gateway/server.go",
        &format!("{}\n// burst allows short spikes.\n", SHOP_FILES[4].1),
    );
    commit(&f, "Add burst support to the rate limiter");
    f
}

fn commit(f: &Fixture, msg: &str) {
    git(f.root(), &["add", "-A"]);
    git(f.root(), &["commit", "-q", "-m", msg]);
}

#[tokio::test]
async fn history_is_indexed_incrementally_with_prs_and_mailmap() {
    let f = shop_with_history();
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    let h = s.history.clone().unwrap();
    assert_eq!((h.added, h.commits, h.incremental), (3, 3, false));
    let store = Store::open(&loc.index_dir).await.unwrap();
    let n = store
        .count_where(
            IndexTable::Commits,
            "pr = 12 AND author = 'Real Name' AND email = 'real@example.com'".into(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "PR number and mailmap");

    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.history.unwrap().added, 0);
    f.write("README.md", "# Shop\n\nNow with docs.\n");
    commit(&f, "Docs");
    let s = index(&loc, &lexical_config()).await;
    let h = s.history.unwrap();
    assert_eq!((h.added, h.commits, h.incremental), (1, 4, true));
}

#[tokio::test]
async fn graph_links_calls_and_co_changes() {
    let f = shop_with_history();
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    let g = s.graph.unwrap();
    assert!(
        g.defines > 10 && g.references > 0 && g.co_change > 0 && g.owns > 0,
        "{g:?}"
    );
    let store = Store::open(&loc.index_dir).await.unwrap();
    // api.py calls charge_card, defined in payments.py.
    let n = store
        .count_where(
            IndexTable::Edges,
            "kind = 'references' AND src = 'checkout/api.py' AND dst = 'checkout/payments.py'"
                .into(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = store
        .count_where(
            IndexTable::Edges,
            "kind = 'changed_in' AND src = 'checkout/payments.py' AND dst = 'pr:#12'".into(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let graph = FileGraph::load(&store).await.unwrap();
    let related = graph.related("checkout/payments.py", 2, 5);
    assert_eq!(related[0].0, "checkout/api.py", "{related:?}");
    assert!(related.iter().all(|(p, _, _)| p != "checkout/payments.py"));

    // A small edit updates that file's edges without a full rebuild.
    f.write("checkout/api.py", "def post(request):\n    return None\n");
    f.write(
        "gateway/extra.go",
        "package gateway\n\nfunc Extra() bool { return NewServer(nil) != nil }\n",
    );
    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.files.parsed, 2);
    let refs =
        |src: &str, dst: &str| format!("kind = 'references' AND src = '{src}' AND dst = '{dst}'");
    let store = Store::open(&loc.index_dir).await.unwrap();
    let n = store
        .count_where(
            IndexTable::Edges,
            refs("checkout/api.py", "checkout/payments.py"),
        )
        .await
        .unwrap();
    assert_eq!(n, 0, "the call is gone");
    let n = store
        .count_where(
            IndexTable::Edges,
            refs("gateway/extra.go", "gateway/server.go"),
        )
        .await
        .unwrap();
    assert_eq!(n, 1, "the new call is linked");
    std::fs::remove_file(f.root().join("gateway/server.go")).unwrap();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    let n = store
        .count_where(IndexTable::Edges,
            "kind IN ('defines', 'references') AND (dst = 'gateway/server.go' OR src = 'gateway/server.go')".into(),
        )
        .await
        .unwrap();
    assert_eq!(
        n, 0,
        "no code edge points at a deleted file (history edges stay: they are history)"
    );
}

/// Python files `lib.py` (defining `old_helper`), `new_caller.py` (calling `new_helper`,
/// defined nowhere yet), `old_caller.py` (calling `old_helper`), and enough others that
/// editing three of them is an incremental refresh, not a rebuild.
fn helpers_repo() -> Fixture {
    let f = Fixture::empty();
    f.write("lib.py", "def old_helper():\n    return 1\n");
    f.write("new_caller.py", "def run():\n    return new_helper()\n");
    f.write("old_caller.py", "def go():\n    return old_helper()\n");
    for i in 0..40 {
        f.write(
            &format!("pkg/mod{i}.py"),
            &format!("def fn{i}():\n    return {i}\n"),
        );
    }
    f
}

async fn references(store: &Store, src: &str, dst: &str) -> usize {
    store
        .count_where(
            IndexTable::Edges,
            format!("kind = 'references' AND src = '{src}' AND dst = '{dst}'"),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refresh_links_calls_to_definitions_changed_in_the_same_run() {
    let f = helpers_repo();
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    assert_eq!(references(&store, "old_caller.py", "lib.py").await, 1);
    assert_eq!(references(&store, "new_caller.py", "lib.py").await, 0);

    // One refresh renames the helper and edits both callers.
    f.write("lib.py", "def new_helper():\n    return 2\n");
    f.write(
        "new_caller.py",
        "def run():\n    # now defined\n    return new_helper()\n",
    );
    f.write(
        "old_caller.py",
        "def go():\n    # still calls the old name\n    return old_helper()\n",
    );
    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.files.parsed, 3);
    let g = s.graph.unwrap();
    // Only the three files' edges were written: an update, not a rebuild of all 43.
    assert_eq!(g.defines, 3, "{g:?}");
    let store = Store::open(&loc.index_dir).await.unwrap();
    assert_eq!(
        references(&store, "new_caller.py", "lib.py").await,
        1,
        "the definition written in this run is found"
    );
    assert_eq!(
        references(&store, "old_caller.py", "lib.py").await,
        0,
        "the definition removed in this run is not"
    );
}

#[tokio::test]
async fn a_run_killed_after_its_file_rows_landed_has_its_graph_rebuilt() {
    let f = helpers_repo();
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    // What a kill during the graph phase leaves: file rows written, edges not, and the
    // run still marked in progress.
    let store = Store::open(&loc.index_dir).await.unwrap();
    store
        .replace_edges(
            &[
                "defines",
                "references",
                "co_change",
                "changed_in",
                "authored_by",
                "owns",
            ],
            &[],
        )
        .await
        .unwrap();
    let meta_path = loc.index_dir.join("meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    meta["in_progress"] = serde_json::Value::Bool(true);
    std::fs::write(&meta_path, meta.to_string()).unwrap();

    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.files.parsed, 0, "no file changed");
    assert!(s.graph.is_some_and(|g| g.defines == 43));
    let store = Store::open(&loc.index_dir).await.unwrap();
    assert_eq!(references(&store, "old_caller.py", "lib.py").await, 1);
    // The next run has nothing left to repair.
    let s = index(&loc, &lexical_config()).await;
    assert!(s.graph.is_none(), "{:?}", s.graph);
}

#[tokio::test]
async fn issue_ranking_uses_frames_symbols_text_and_past_changes() {
    let f = shop_with_history();
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();

    let trace = "500 on checkout\nTraceback (most recent call last):\n  File \"/srv/app/checkout/api.py\", line 14, in post\n    raise ValueError(\"cart is empty\")\nValueError: cart is empty\n";
    let r = rank_files_for_issue(&store, None, trace, 5, Signals::default())
        .await
        .unwrap();
    let top = &r.files[0];
    assert_eq!(top.path, "checkout/api.py", "{:#?}", r.files);
    assert!(
        top.reasons
            .iter()
            .any(|x| x.starts_with("stack frame: /srv/app/checkout/api.py:14")),
        "{:?}",
        top.reasons
    );
    assert_eq!(top.symbols[0].name, "post");

    let r = rank_files_for_issue(
        &store,
        None,
        "Payments time out when the processor is slow",
        5,
        // Past changes are opt-in (the evals found them to hurt as a default).
        Signals::parse("all").unwrap(),
    )
    .await
    .unwrap();
    let pay = r
        .files
        .iter()
        .take(2)
        .find(|f| f.path == "checkout/payments.py")
        .unwrap_or_else(|| panic!("{:#?}", r.files));
    assert!(
        pay.reasons
            .iter()
            .any(|x| x.contains("similar past change") && x.contains("#12")),
        "{:?}",
        pay.reasons
    );

    // Synthetic questions: an error string in the code answers "why do I get …".
    let r = rank_files_for_issue(
        &store,
        None,
        "why do I get payment processor unavailable",
        3,
        Signals::parse("fulltext,structure,questions").unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.files[0].path, "checkout/payments.py", "{:#?}", r.files);
    let want = "question: why do I get \"payment processor unavailable\"?";
    assert!(
        r.files[0].reasons.iter().any(|x| x == want),
        "{:?}",
        r.files[0].reasons
    );
    // Docs rank below the source that matches as well.
    let r = rank_files_for_issue(
        &store,
        None,
        "deploy manifests make deploy",
        5,
        Signals::default(),
    )
    .await
    .unwrap();
    let readme = r.files.iter().find(|f| f.path == "README.md").unwrap();
    let want = "docs file (ranked below source)";
    assert!(
        readme.reasons.iter().any(|x| x == want),
        "{:?}",
        readme.reasons
    );

    // Turning signals off removes their reasons.
    let only_text = Signals::parse("fulltext").unwrap();
    let r = rank_files_for_issue(&store, None, trace, 5, only_text)
        .await
        .unwrap();
    assert!(
        r.files
            .iter()
            .flat_map(|f| &f.reasons)
            .all(|x| x.starts_with("text")),
        "{:#?}",
        r.files
    );
    assert!(Signals::parse("fulltext,magic").is_err());
}

#[test]
fn issue_cli_json_shape_and_stdin() {
    let f = shop_with_history();
    assert!(triage(&["index"], f.root()).status.success());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["issue", "--json", "--top", "3", "--text-file", "-"])
        .current_dir(f.root())
        .env("TRIAGE_EMBED_PROVIDER", "none")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"WorkerConfig::from_env panics when QUEUE_URL is not set")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = v["files"].as_array().unwrap();
    assert!(!files.is_empty() && files.len() <= 3);
    assert_eq!(files[0]["path"], "worker/src/main.rs");
    for key in ["path", "score", "reasons", "symbols"] {
        assert!(files[0].get(key).is_some(), "{key}");
    }
    let sym = &files[0]["symbols"][0];
    for key in ["name", "kind", "start_line", "end_line"] {
        assert!(sym.get(key).is_some(), "{key}: {sym}");
    }
    let out = triage(&["issue"], f.root());
    assert!(!out.status.success(), "empty stdin is an error");

    let out = triage(&["related", "checkout/payments.py", "--json"], f.root());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["related"][0]["path"], "checkout/api.py", "{v:#}");
    let out = triage(&["related", "nope.py"], f.root());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the index"));
}

#[test]
fn shallow_detached_and_submodule_repos_index_with_notes() {
    let f = shop_with_history();
    let shallow = tempfile::tempdir().unwrap();
    let url = format!("file://{}", f.root().display());
    let dst = shallow.path().join("clone");
    git(
        shallow.path(),
        &["clone", "-q", "--depth", "1", &url, dst.to_str().unwrap()],
    );
    let out = triage(&["index", "--json"], &dst);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["history"]["commits"], 1);
    assert!(s["warnings"].to_string().contains("shallow"), "{s:#}");

    git(&dst, &["checkout", "-q", "--detach", "HEAD"]);
    let lib = Fixture::shop();
    lib.git_init();
    git(
        &dst,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            lib.root().to_str().unwrap(),
            "vendored-lib",
        ],
    );
    let out = triage(&["index", "--json"], &dst);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(s["warnings"].to_string().contains("submodules"), "{s:#}");
}

#[test]
fn eval_mines_a_suite_and_scores_it_without_leaking_later_history() {
    let f = shop_with_history();
    let suite = f.root().join("suite.jsonl");
    let out = triage(
        &["eval", "mine", "--out", suite.to_str().unwrap()],
        f.root(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&suite)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Only the fix commit qualifies; its gold files are the two it modified.
    assert_eq!(lines.len(), 1, "{lines:?}");
    let mut gold: Vec<&str> = lines[0]["gold_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    gold.sort();
    assert_eq!(gold, vec!["checkout/api.py", "checkout/payments.py"]);
    assert!(!lines[0]["query"].as_str().unwrap().contains("(#12)"));
    // The split follows the fix commit's id; the changed lines are recorded per file.
    let fix = lines[0]["fix"].as_str().unwrap();
    let split = if u32::from_str_radix(&fix[..1], 16).unwrap() < 8 {
        "tune"
    } else {
        "held-out"
    };
    assert_eq!(lines[0]["split"], split, "{lines:?}");
    for g in &gold {
        assert!(
            lines[0]["gold_lines"][g]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{g}: {lines:?}"
        );
    }

    let evidence = f.root().join("evidence.jsonl");
    let out = triage(
        &[
            "eval",
            "localize",
            suite.to_str().unwrap(),
            "--json",
            "--evidence",
            evidence.to_str().unwrap(),
        ],
        f.root(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["n", "acc@1", "acc@3", "acc@5", "acc@10", "mrr"] {
        assert!(r["summary"].get(key).is_some(), "{key}: {r:#}");
    }
    assert_eq!(r["summary"]["n"], 1);
    // The default signals are scored beside BM25, over all and per split.
    assert_eq!(r["summary"]["signals"]["history"], true, "{r:#}");
    assert_eq!(r["baseline"]["summary"]["n"], 1, "{r:#}");
    assert_eq!(
        r["baseline"]["summary"]["signals"]["structure"], false,
        "{r:#}"
    );
    assert_eq!(r["by_split"][split]["n"], 1, "{r:#}");
    let inst = &r["instances"][0];
    assert!(
        inst["gold_ranks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x.as_u64().is_some_and(|r| r <= 5)),
        "{r:#}"
    );
    // Indexed at the fix's parent: only the initial commit is visible, not the fix.
    assert_eq!(inst["commits_visible"], 1, "{r:#}");
    check_evidence(&evidence, &lines[0], &gold);
    // The worktree is cleaned up.
    let wt = std::process::Command::new("git")
        .args(["worktree", "list"])
        .current_dir(f.root())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&wt.stdout).lines().count(), 1);
}

/// The evidence file: one line per instance, each signal's list, the weights in force,
/// and what the profile says about every indexed file, with the gold files found by
/// some signal; no model here, so nothing is nearest.
fn check_evidence(evidence: &std::path::Path, line: &serde_json::Value, gold: &[&str]) {
    let ev: Vec<serde_json::Value> = std::fs::read_to_string(evidence)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["gold_files"], line["gold_files"]);
    assert!(
        ev[0]["weights"]["fulltext"].as_f64().unwrap() > 0.0,
        "{:#}",
        ev[0]
    );
    let lists = ev[0]["signals"].as_object().unwrap();
    for g in gold {
        assert!(
            lists
                .values()
                .any(|l| l.as_array().unwrap().iter().any(|h| h[0] == *g)),
            "{g} in {lists:?}"
        );
        assert_eq!(ev[0]["files"][g]["role"], "source", "{g}");
    }
    assert_eq!(ev[0]["nearest"], serde_json::json!([]));
    let ranked = ev[0]["ranked"].to_string(); // the ranking as returned, gold files in it
    assert!(gold.iter().all(|g| ranked.contains(g)), "{:#}", ev[0]);
}

#[tokio::test]
async fn a_file_that_changes_with_the_first_follows_it_unless_only_text_counts() {
    let f = shop_with_history();
    for n in 0..5 {
        for (path, i) in [("checkout/payments.py", 2), ("gateway/server.go", 4)] {
            f.write(path, &format!("{}\n# revision {n}\n", SHOP_FILES[i].1));
        }
        commit(&f, &format!("Tune payment and gateway limits {n}"));
    }
    let loc = f.location();
    index(&loc, &lexical_config()).await;
    let store = Store::open(&loc.index_dir).await.unwrap();
    let query = "payment processor unavailable";
    let follows = "usually changes with checkout/payments.py";
    let r = rank_files_for_issue(&store, None, query, 5, Signals::default())
        .await
        .unwrap();
    assert_eq!(r.files[0].path, "checkout/payments.py", "{:#?}", r.files);
    let partner = r
        .files
        .iter()
        .position(|f| f.reasons.iter().any(|x| x == follows));
    assert_eq!(partner, Some(1), "{:#?}", r.files);
    assert_eq!(r.files[1].path, "gateway/server.go");
    let r = rank_files_for_issue(&store, None, query, 5, Signals::bm25())
        .await
        .unwrap();
    assert!(
        !r.files
            .iter()
            .flat_map(|f| &f.reasons)
            .any(|x| x == follows)
    );
}
