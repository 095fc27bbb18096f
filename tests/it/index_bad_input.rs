//! Bad input: each case gets a clear message and loses nothing already indexed.

use triage::index::store::{IndexTable, OpenState, Store};
use triage::index::walk::SkipReason;

use crate::common::*;

#[tokio::test]
async fn not_a_git_repo_works_with_history_off() {
    let f = Fixture::shop();
    let loc = f.location();
    assert!(!loc.is_git);
    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.files.indexed, SHOP_FILES.len());
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("not a git repository")),
        "{:?}",
        s.warnings
    );
}

#[tokio::test]
async fn empty_repo_indexes_nothing_and_search_says_so() {
    let f = Fixture::empty();
    crate::common::git(f.root(), &["init", "-q"]);
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    assert_eq!((s.files.indexed, s.chunks), (0, 0));
    let store = Store::open(&loc.index_dir).await.unwrap();
    let r = triage::index::search(&store, None, "anything", 5)
        .await
        .unwrap();
    assert!(r.files.is_empty());
}

#[tokio::test]
async fn huge_binary_looping_unreadable_and_invalid_utf8_files() {
    let f = Fixture::shop();
    // 200 MB (sparse, so the test stays fast).
    f.write("data/dump.sql", "");
    std::fs::File::options()
        .write(true)
        .open(f.root().join("data/dump.sql"))
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    // Binary content behind a source extension.
    std::fs::write(
        f.root().join("checkout/model.py"),
        [0x7f, b'E', b'L', b'F', 0, 0, 1, 2],
    )
    .unwrap();
    // A symlink loop and a link out of the tree.
    std::os::unix::fs::symlink(f.root(), f.root().join("loop")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", f.root().join("host.txt")).unwrap();
    // A file no one can read, whoever runs the tests (a socket: open() fails).
    let _sock = std::os::unix::net::UnixListener::bind(f.root().join("worker/control.sh")).unwrap();
    // Invalid UTF-8 in source: indexed with replacement characters.
    std::fs::write(
        f.root().join("gateway/legacy.go"),
        b"package gateway\n\n// Caf\xe9 handler\nfunc Legacy() {}\n",
    )
    .unwrap();
    let loc = f.location();
    let s = index(&loc, &lexical_config()).await;
    assert_eq!(s.skipped.get(&SkipReason::TooLarge), Some(&1), "{s:#?}");
    assert_eq!(s.skipped.get(&SkipReason::Binary), Some(&1), "{s:#?}");
    assert_eq!(s.skipped.get(&SkipReason::Symlink), Some(&2), "{s:#?}");
    assert_eq!(s.skipped.get(&SkipReason::Unreadable), Some(&1), "{s:#?}");
    assert_eq!(s.files.lossy_utf8, 1);
    assert_eq!(s.files.indexed, SHOP_FILES.len() + 1);
    let store = Store::open(&loc.index_dir).await.unwrap();
    let n = store
        .count_where(
            IndexTable::Symbols,
            "name = 'Legacy' AND path = 'gateway/legacy.go'".into(),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn corrupt_index_is_detected_and_rebuilt() {
    let f = Fixture::shop();
    let loc = f.location();
    let cfg = lexical_config();
    let first = index(&loc, &cfg).await;

    // Damage the chunks table: truncate every data file.
    let data = loc.index_dir.join("lance/chunks.lance/data");
    for e in std::fs::read_dir(&data).unwrap() {
        std::fs::write(e.unwrap().path(), b"garbage").unwrap();
    }
    let s = index(&loc, &cfg).await;
    match &s.index {
        Some(OpenState::Rebuilt(reason)) => assert!(reason.contains("unreadable"), "{reason}"),
        other => panic!("expected a rebuild, got {other:?}"),
    }
    assert!(
        s.warnings.iter().any(|w| w.contains("rebuilt")),
        "{:?}",
        s.warnings
    );
    assert_eq!(
        (s.files.indexed, s.chunks),
        (first.files.indexed, first.chunks)
    );

    // Half-written metadata: rebuilt too.
    std::fs::write(loc.index_dir.join("meta.json"), "{\"schema_ver").unwrap();
    let s = index(&loc, &cfg).await;
    assert!(
        matches!(s.index, Some(OpenState::Rebuilt(_))),
        "{:?}",
        s.index
    );
    assert_eq!(s.chunks, first.chunks);
}

#[test]
fn search_without_an_index_says_what_to_run() {
    let f = Fixture::shop();
    let out = triage(&["search", "checkout"], f.root());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no index") && err.contains("triage index"),
        "{err}"
    );
}

#[test]
fn malformed_repo_config_names_file_and_key() {
    let f = Fixture::shop();
    f.write(".triage.toml", "[index]\nmax_file_size = \"big\"\n");
    let out = triage(&["index"], f.root());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".triage.toml") && err.contains("max_file_size"),
        "{err}"
    );

    f.write(".triage.toml", "[indexx]\n");
    let out = triage(&["index"], f.root());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("indexx") && err.contains("index"), "{err}");
}

#[test]
fn killed_run_leaves_a_readable_index_and_the_next_run_completes_it() {
    let f = Fixture::shop();
    // Enough files that the run is still writing when it is killed.
    for i in 0..3000 {
        f.write(
            &format!("gen/mod{i:04}.py"),
            &format!(
                "def handler_{i}(request):\n    \"\"\"Handle route {i}.\"\"\"\n    return {i}\n"
            ),
        );
    }
    let first = triage(&["index", "--json"], f.root());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let full: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let total_chunks = full["chunks"].as_u64().unwrap();

    // Change every file, then kill the re-index part-way (whenever that is).
    for i in 0..3000 {
        f.write(
            &format!("gen/mod{i:04}.py"),
            &format!(
                "def handler_{i}(request):\n    \"\"\"Serve route {i}.\"\"\"\n    return {i} + 1\n"
            ),
        );
    }
    for delay_ms in [300u64, 900] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(["index"])
            .current_dir(f.root())
            .env("TRIAGE_EMBED_PROVIDER", "none")
            .env("XDG_CONFIG_HOME", f.root().join(".xdg-config"))
            .env("XDG_STATE_HOME", f.root().join(".xdg-state"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Still readable in between.
        let out = triage(&["search", "handler_7", "--json"], f.root());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = triage(&["index", "--json"], f.root());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["chunks"].as_u64().unwrap(),
        total_chunks,
        "no duplicates, nothing lost: {s:#}"
    );
    let out = triage(&["index", "--json"], f.root());
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["files"]["parsed"].as_u64(),
        Some(0),
        "complete after one more run: {s:#}"
    );
    let out = triage(&["search", "Serve route 1234", "--json"], f.root());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["files"][0]["path"], "gen/mod1234.py", "{r:#}");
}
