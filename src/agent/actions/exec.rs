//! Running an approved command: directly from its words, never through a shell (shell
//! syntax is refused before it gets here, and again here), in its own process group so a
//! timeout ends everything it started, with each output stream capped.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use super::rules::{is_assignment, unsafe_syntax};

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot parse command {command:?}: {message}")]
    Parse { command: String, message: String },
    #[error("will not run {command:?}: {why}")]
    Refused { command: String, why: String },
    #[error("cannot start {program:?} in {cwd}: {source}")]
    Spawn {
        program: String,
        cwd: String,
        source: std::io::Error,
    },
    #[error("lost track of {program:?}: {source}")]
    Wait {
        program: String,
        source: std::io::Error,
    },
}

/// Most bytes of each stream kept from a command.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// How long to wait for output pipes after the process is gone: a grandchild that left
/// the process group can hold them open indefinitely.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// `None` when killed by a signal (including on timeout).
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration_ms: u64,
    pub timed_out: bool,
}

/// Run an approved command in `cwd` with `env` added, killing it (and anything it
/// started) after `timeout`. The command runs directly from its words; one that needs a
/// shell (operators, expansions, a leading `NAME=value`) is refused.
pub async fn execute(
    command: &str,
    env: &[(String, String)],
    cwd: &Path,
    timeout: Duration,
) -> Result<ExecOutput, ExecError> {
    let argv = shell_words::split(command).map_err(|e| ExecError::Parse {
        command: command.to_string(),
        message: e.to_string(),
    })?;
    let refused = unsafe_syntax(command).or_else(|| {
        argv.first()
            .filter(|a| is_assignment(a))
            .map(|_| "it starts with an environment assignment".to_string())
    });
    if let Some(why) = refused {
        return Err(ExecError::Refused {
            command: command.to_string(),
            why,
        });
    }
    let Some((program, args)) = argv.split_first() else {
        return Err(ExecError::Parse {
            command: command.to_string(),
            message: "empty command".into(),
        });
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args);
    let program = argv.first().cloned().unwrap_or_default();
    cmd.current_dir(cwd)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so a timeout kills `sh` and everything it started.
    #[cfg(unix)]
    cmd.process_group(0);

    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ExecError::Spawn {
        program: program.clone(),
        cwd: cwd.display().to_string(),
        source,
    })?;
    let stdout = child.stdout.take().map(|s| tokio::spawn(read_capped(s)));
    let stderr = child.stderr.take().map(|s| tokio::spawn(read_capped(s)));

    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status, false),
        Err(_) => {
            kill_tree(&mut child);
            (child.wait().await, true)
        }
    };
    let status = status.map_err(|source| ExecError::Wait {
        program: program.clone(),
        source,
    })?;
    let stdout = collect(stdout).await;
    let mut stderr = collect(stderr).await;
    if timed_out {
        if !stderr.is_empty() && !stderr.ends_with('\n') {
            stderr.push('\n');
        }
        stderr.push_str(&format!(
            "[killed after {} ms: timeout]",
            timeout.as_millis()
        ));
    }
    Ok(ExecOutput {
        exit_code: status.code(),
        stdout,
        stderr,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        timed_out,
    })
}

/// Kill `child` and its process group (set up with `process_group(0)`).
pub fn kill_tree(child: &mut tokio::process::Child) {
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; a negative
        // pid addresses the process group the child leads (set by `process_group(0)`).
        let rc = unsafe { libc::kill(-pid, libc::SIGKILL) };
        if rc == 0 {
            return;
        }
    }
    // No group to kill (or it is already gone): at least the child itself.
    if let Err(e) = child.start_kill() {
        tracing::debug!("killing timed-out command: {e}");
    }
}

async fn collect(task: Option<tokio::task::JoinHandle<(Vec<u8>, usize)>>) -> String {
    let Some(mut task) = task else {
        return String::new();
    };
    match tokio::time::timeout(DRAIN_GRACE, &mut task).await {
        Ok(Ok((bytes, total))) => with_truncation_note(&bytes, total),
        Ok(Err(e)) => format!("[output lost: {e}]"),
        Err(_) => {
            task.abort();
            "[output not collected: a background process kept it open]".into()
        }
    }
}

/// Reads a stream to its end, keeping the first [`OUTPUT_CAP`] bytes and counting the
/// rest, so a chatty command never blocks on a full pipe.
async fn read_capped(mut stream: impl AsyncRead + Unpin) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut total = 0;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n;
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (kept, total)
}

fn with_truncation_note(bytes: &[u8], total: usize) -> String {
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    if total > bytes.len() {
        // A cut inside a multi-byte character shows as U+FFFD; drop it.
        if text.ends_with('\u{FFFD}') {
            text.pop();
        }
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "[output truncated: first {} KiB of {} bytes shown]",
            OUTPUT_CAP / 1024,
            total
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn execute_captures_output_and_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let env = vec![("TRIAGE_TEST_VALUE".to_string(), "from-env".to_string())];
        let out = execute(
            "sh -c 'echo out; echo err >&2; exit 3'",
            &[],
            dir.path(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(out.exit_code, Some(3));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        assert!(!out.timed_out);

        // Shell syntax is never run, even when it reaches this far.
        std::fs::write(dir.path().join("a.txt"), "a\nb\n").unwrap();
        for unsafe_command in [
            "cat a.txt | wc -l; echo $TRIAGE_TEST_VALUE",
            "cat a.txt > b.txt",
            "echo $(id)",
            "X=1 cat a.txt",
        ] {
            let refused = execute(unsafe_command, &env, dir.path(), Duration::from_secs(10)).await;
            assert!(
                matches!(refused, Err(ExecError::Refused { .. })),
                "{unsafe_command}: {refused:?}"
            );
        }
        assert!(!dir.path().join("b.txt").exists());
        // Env and cwd apply to what runs.
        let out = execute(
            "sh -c 'wc -l < a.txt; echo \"$TRIAGE_TEST_VALUE\"'",
            &env,
            dir.path(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(out.exit_code, Some(0));
        assert_eq!(
            out.stdout.split_whitespace().collect::<Vec<_>>(),
            ["2", "from-env"]
        );

        // Quoting survives without a shell: one argument, dollar sign and all.
        let out = execute(
            "printf '%s|' 'a b' \"c\"",
            &[],
            dir.path(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout, "a b|c|");

        let missing = execute(
            "no-such-program-xyz",
            &[],
            dir.path(),
            Duration::from_secs(10),
        )
        .await;
        assert!(
            matches!(missing, Err(ExecError::Spawn { .. })),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn execute_caps_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = execute(
            "head -c 200000 /dev/zero",
            &[],
            dir.path(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(out.exit_code, Some(0));
        assert!(out.stdout.len() < OUTPUT_CAP + 200);
        assert!(
            out.stdout
                .ends_with("[output truncated: first 64 KiB of 200000 bytes shown]"),
            "{}",
            &out.stdout[out.stdout.len() - 80..]
        );
    }

    #[tokio::test]
    async fn execute_kills_on_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let out = execute("sleep 5", &[], dir.path(), Duration::from_millis(200))
            .await
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.exit_code, None);
        assert!(out.stderr.contains("timeout"), "{}", out.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );

        // The whole process group goes, so the pipe closes promptly.
        let started = Instant::now();
        let out = execute(
            "sh -c 'echo started; sleep 5 | cat'",
            &[],
            dir.path(),
            Duration::from_millis(200),
        )
        .await
        .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.stdout, "started\n");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }
}
