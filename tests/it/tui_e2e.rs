//! The real binary in tmux, as a person would use it: type a question, watch the tools
//! pane fill, approve an action, quit, and check the terminal is restored.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;
use crate::llm_server::{self, LlmServer};

struct Tmux {
    session: String,
}

impl Tmux {
    fn start(cmd: &str, cwd: &std::path::Path) -> Tmux {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let session = format!("triage-e2e-{}-{n}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "120",
                "-y",
                "40",
                "-c",
            ])
            .arg(cwd)
            .arg(cmd)
            .status()
            .expect("tmux is installed (scripts/setup installs it)")
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { session }
    }

    fn capture(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn alternate_screen(&self) -> bool {
        let out = Command::new("tmux")
            .args([
                "display-message",
                "-p",
                "-t",
                &self.session,
                "#{alternate_on}",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    }

    /// Wait until the screen shows `text` (polling; the deadline is generous, it is not
    /// a timing assertion).
    async fn wait_for(&self, text: &str) -> String {
        self.wait_for_any(&[text]).await
    }

    /// Waits until the screen shows one of `texts`.
    async fn wait_for_any(&self, texts: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.capture();
            if texts.iter().any(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{texts:?} never appeared; the screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

#[tokio::test]
async fn tui_in_tmux_question_tools_approval_quit() {
    let server = LlmServer::with_script(|n, _| match n {
        0 => llm_server::tool_calls(
            &[
                ("k1", "kube_findings", json!({})),
                ("k2", "git_log", json!({"max": 3})),
            ],
            2,
        ),
        1 => llm_server::tool_calls(
            &[(
                "p1",
                "propose_action",
                json!({"command": "git log --oneline -1", "rationale": "see the last change"}),
            )],
            1,
        ),
        _ => llm_server::text(&["The last change is the initial commit."], None),
    })
    .await;
    let repo = Fixture::shop();
    repo.git_init();
    let shop = crate::kube::fixture("shop.json");
    let state = repo.root().join(".xdg-state");
    let cmd = format!(
        "env XDG_CONFIG_HOME={cfg} XDG_STATE_HOME={state} XDG_DATA_HOME={data} HOME={home} TRIAGE_EMBED_PROVIDER=none OPENAI_BASE_URL={url} OPENAI_MODEL=scripted {bin} --replay {shop}; echo TRIAGE-EXITED:$?; sleep 60",
        cfg = repo.root().join(".xdg-config").display(),
        state = state.display(),
        data = repo.root().join(".xdg-data").display(),
        home = repo.root().join(".home").display(),
        url = server.url,
        bin = env!("CARGO_BIN_EXE_triage"),
        shop = shop.display(),
    );
    let tmux = Tmux::start(&cmd, repo.root());
    // The first frame: the status bar shows read-only mode and the model.
    let first = tmux.wait_for("READ-ONLY").await;
    assert!(first.contains("scripted"), "{first}");
    assert!(tmux.alternate_screen());

    tmux.keys(&["checkout-api 5xx since 14:05", "Enter"]);
    // Both tool calls show (they run side by side, so either may be drawn first).
    tmux.wait_for("kube_findings").await;
    tmux.wait_for_any(&["git_log", "git log"]).await;
    // The proposal opens the approval overlay; y approves it once.
    tmux.wait_for("git log --oneline -1").await;
    tmux.wait_for("READ").await;
    // A key in the dialog's first 300 ms is not taken as a decision.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    tmux.keys(&["y"]);
    tmux.wait_for("initial").await;
    tmux.wait_for("initial commit.").await;
    tmux.wait_for("│ idle │").await;

    tmux.keys(&["C-q"]);
    let after = tmux.wait_for("TRIAGE-EXITED:").await;
    assert!(after.contains("TRIAGE-EXITED:0"), "{after}");
    assert!(!tmux.alternate_screen(), "the alternate screen was left on");
    // Raw mode is off again: the terminal is back in canonical mode with echo.
    let stty = Command::new("tmux")
        .args(["display-message", "-p", "-t", &tmux.session, "#{pane_tty}"])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&stty.stdout).trim().to_string();
    let modes = Command::new("stty")
        .args(["-a", "-F", &tty])
        .output()
        .unwrap();
    let modes = String::from_utf8_lossy(&modes.stdout);
    assert!(
        modes.contains(" icanon") && modes.contains(" echo "),
        "the tty is still raw: {modes}"
    );
    // The session's lineage was written.
    let sessions = std::fs::read_dir(state.join("triage/sessions"))
        .map(|rd| rd.count())
        .unwrap_or(0);
    assert!(sessions >= 1);
}

#[tokio::test]
async fn tui_palette_switches_to_a_replay_without_restarting() {
    let repo = Fixture::shop();
    repo.git_init();
    let shop = crate::kube::fixture("shop.json");
    let cmd = format!(
        "env XDG_CONFIG_HOME={cfg} XDG_STATE_HOME={state} XDG_DATA_HOME={data} HOME={home} TRIAGE_EMBED_PROVIDER=none {bin}; echo TRIAGE-EXITED:$?; sleep 60",
        cfg = repo.root().join(".xdg-config").display(),
        state = repo.root().join(".xdg-state").display(),
        data = repo.root().join(".xdg-data").display(),
        home = repo.root().join(".home").display(),
        bin = env!("CARGO_BIN_EXE_triage"),
    );
    let tmux = Tmux::start(&cmd, repo.root());
    let first = tmux.wait_for("READ-ONLY").await;
    assert!(!first.contains("replay"), "{first}");
    tmux.keys(&["C-p"]);
    tmux.keys(&[&format!("replay {}", shop.display()), "Enter"]);
    tmux.wait_for("a new session started").await;
    // The new session reads the snapshot: the offline planner finds the crash loop and
    // suggests looking at the rollout (the Tools pane shows only the latest calls, so the
    // findings call's row may have scrolled away by then).
    tmux.keys(&["checkout-api 5xx since 14:05", "Enter"]);
    tmux.wait_for("kube_findings").await;
    tmux.wait_for("kubectl rollout history deployment/checkout-api")
        .await;
    // Quit once the run has ended (during a run, Ctrl-q asks to be pressed twice).
    tmux.wait_for("│ idle │").await;
    tmux.keys(&["C-q"]);
    let after = tmux.wait_for("TRIAGE-EXITED:").await;
    assert!(after.contains("TRIAGE-EXITED:0"), "{after}");
}

#[tokio::test]
async fn issue_on_a_terminal_says_it_reads_stdin_and_ends_at_ctrl_d() {
    let repo = Fixture::shop();
    repo.git_init();
    index(&repo.location(), &lexical_config()).await;
    let home = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(
        &format!(
            "env XDG_CONFIG_HOME={h} XDG_STATE_HOME={h} HOME={h} TRIAGE_EMBED_PROVIDER=none {bin} issue --repo {repo}; echo TRIAGE-EXITED:$?; sleep 60",
            h = home.path().display(),
            bin = env!("CARGO_BIN_EXE_triage"),
            repo = repo.root().display(),
        ),
        repo.root(),
    );
    tmux.wait_for("reading the issue from stdin; end it with Ctrl-D")
        .await;
    tmux.keys(&["charge_card times out", "Enter", "C-d"]);
    let screen = tmux.wait_for("TRIAGE-EXITED:0").await;
    assert!(screen.contains("payments.py"), "{screen}");
}
