//! `triage ask` and `triage sessions`: the same Events the TUI renders, printed as human
//! text or as JSONL (one object per line with a `type` field).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::agent::llm::LlmClient;
use crate::agent::session::{self, SessionConfig};
use crate::cli::{AskArgs, ClusterArgs, GlobalArgs, SessionsArgs, SessionsCommand};
use crate::config::LoadedConfig;
use crate::kube::source::ClusterSource;
use crate::protocol::{Decision, Event, Op, ToolStatus, TurnStatus, confidence_label};

/// Everything a session needs, resolved from the command line: repo, index, config,
/// cluster, model.
pub struct Resolved {
    pub session: SessionConfig,
    /// The replay server's kubeconfig, kept alive for approved kubectl commands.
    pub _kubeconfig: Option<tempfile::NamedTempFile>,
}

/// Resolve repo, config, cluster and model the way every interactive command does.
pub async fn resolve(
    global: &GlobalArgs,
    cluster: &ClusterArgs,
    write: bool,
    index: bool,
) -> Result<Resolved> {
    let loc =
        crate::repo::RepoLocation::resolve(global.repo.as_deref(), global.index_dir.as_deref())
            .ok();
    let mut config: LoadedConfig = crate::config::load(
        global.config.as_deref(),
        loc.as_ref().map(|l| l.root.as_path()),
    )?;
    if write {
        config.config.agent.read_only = false;
    }
    let (repo_root, index_dir) = match &loc {
        Some(l) if l.is_git => (Some(l.root.clone()), Some(l.index_dir.clone())),
        _ => (None, None),
    };
    if let Some(l) = loc.as_ref().filter(|l| l.is_git && index) {
        let (indexed, _) = refresh_repo(l, &config.config).await;
        if let Err(e) = indexed {
            tracing::warn!("cannot update the index: {e:#}");
        }
    }
    let conn = connect_cluster(cluster, &config.config.kube).await;
    let llm = LlmClient::from_config(&config.config.llm)?;
    Ok(Resolved {
        session: session_config(repo_root, index_dir, config, &conn, llm),
        _kubeconfig: conn.kubeconfig,
    })
}

/// Before a session: bring a missing or stale index up to date (lexically: fast) and the
/// repository's runbooks into memory. Neither is fatal; the caller reports the results.
pub async fn refresh_repo(
    loc: &crate::repo::RepoLocation,
    config: &crate::config::Config,
) -> (
    Result<crate::index::IndexSummary>,
    std::result::Result<crate::memory::runbooks::SyncReport, String>,
) {
    let opts = crate::index::pipeline::IndexOptions {
        embed: false,
        rebuild: false,
        progress: false,
    };
    let indexed = crate::index::pipeline::run_index(loc, config, &opts).await;
    let runbooks = crate::memory::sync_repo_runbooks(&config.memory, &loc.root).await;
    (indexed, runbooks)
}

/// The cluster a session reads, and the kubeconfig approved kubectl commands use.
pub struct ClusterConnection {
    pub source: Option<Arc<ClusterSource>>,
    /// A context name or `replay:<file>`.
    pub label: Option<String>,
    /// Why there is no cluster, for the agent's tools.
    pub note: Option<String>,
    /// The connection error, when a cluster was configured but could not be reached.
    pub error: Option<String>,
    /// Points kubectl at the replay server; kept alive as long as the session.
    pub kubeconfig: Option<tempfile::NamedTempFile>,
}

/// Connect to the cluster the arguments (or the kubeconfig) name. Never fatal: without a
/// cluster the session still works on the repository.
pub async fn connect_cluster(
    cluster: &ClusterArgs,
    cfg: &crate::config::KubeConfig,
) -> ClusterConnection {
    let wants_cluster = cluster.replay.is_some()
        || cluster.context.is_some()
        || std::env::var_os("KUBECONFIG").is_some()
        || dirs::home_dir().is_some_and(|h| h.join(".kube/config").is_file());
    if !wants_cluster {
        return ClusterConnection {
            source: None,
            label: None,
            note: Some("no Kubernetes context configured".to_string()),
            error: None,
            kubeconfig: None,
        };
    }
    match ClusterSource::connect(cluster, cfg).await {
        Ok(src) => {
            let label = match &cluster.replay {
                Some(p) => format!("replay:{}", p.display()),
                None => src.context().unwrap_or("cluster").to_string(),
            };
            let kubeconfig = src.replay_server().and_then(|server| {
                replay_kubeconfig(&server.url(), src.default_scope().namespace())
                    .map_err(|e| tracing::warn!("cannot write the replay kubeconfig: {e:#}"))
                    .ok()
            });
            ClusterConnection {
                source: Some(Arc::new(src)),
                label: Some(label),
                note: None,
                error: None,
                kubeconfig,
            }
        }
        Err(e) => ClusterConnection {
            source: None,
            label: None,
            note: Some(format!("no cluster: {e}")),
            error: Some(e.to_string()),
            kubeconfig: None,
        },
    }
}

/// A session's configuration: repository, config, the connected cluster and the model,
/// with traces and the audit log in their default places.
pub fn session_config(
    repo_root: Option<PathBuf>,
    index_dir: Option<PathBuf>,
    config: LoadedConfig,
    conn: &ClusterConnection,
    llm: Option<LlmClient>,
) -> SessionConfig {
    let exec_env = conn
        .kubeconfig
        .iter()
        .map(|k| ("KUBECONFIG".to_string(), k.path().display().to_string()))
        .collect();
    let external_tools = crate::mcp::McpHub::from_config(&config.config, repo_root.as_deref());
    SessionConfig {
        external_tools,
        repo_root,
        index_dir,
        config,
        cluster: conn.source.clone(),
        cluster_label: conn.label.clone(),
        cluster_note: conn.note.clone(),
        llm,
        trace_dir: crate::trace::sessions_dir().ok(),
        audit_path: crate::agent::audit::AuditLog::default_path(),
        exec_env,
    }
}

/// A kubeconfig that points kubectl at the replay server, for approved read commands.
pub fn replay_kubeconfig(server: &str, namespace: Option<&str>) -> Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("triage-replay-")
        .suffix(".kubeconfig")
        .tempfile()?;
    writeln!(
        f,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster:\n    server: {server}\ncontexts:\n- name: replay\n  context:\n    cluster: replay\n    user: replay\n    namespace: {}\ncurrent-context: replay\nusers:\n- name: replay\n  user: {{}}",
        namespace.unwrap_or("default")
    )?;
    Ok(f)
}

pub async fn cmd_ask(global: &GlobalArgs, args: &AskArgs) -> Result<ExitCode> {
    let question = args.question.join(" ");
    anyhow::ensure!(
        !question.trim().is_empty(),
        "ask what? e.g. triage ask \"checkout-api 5xx since 14:05\""
    );
    let resolved = resolve(global, &args.cluster, args.write, true).await?;
    ask(resolved, question, args.json).await
}

/// The demo, headless: its first question through the offline planner.
pub async fn cmd_demo_headless(
    global: &GlobalArgs,
    demo: &crate::demo::Demo,
    json: bool,
) -> Result<ExitCode> {
    let global = GlobalArgs {
        repo: Some(demo.repo.clone()),
        ..global.clone()
    };
    let cluster = ClusterArgs {
        replay: Some(demo.snapshot.clone()),
        ..ClusterArgs::default()
    };
    let mut resolved = resolve(&global, &cluster, false, true).await?;
    // The demo is offline by design, even where a model is configured.
    resolved.session.llm = None;
    ask(resolved, crate::demo::FIRST_QUESTION.to_string(), json).await
}

async fn ask(resolved: Resolved, question: String, json: bool) -> Result<ExitCode> {
    let args = AskJson { json };
    let mut handle = session::start(resolved.session)?;
    handle.ops.send(Op::Submit { text: question })?;
    // Logs, commit messages and model text never reach the terminal as escape sequences.
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    let mut status = None;
    let mut streamed = false;
    while let Some(ev) = handle.events.recv().await {
        if args.json {
            serde_json::to_writer(&mut out, &ev)?;
            writeln!(out)?;
        } else {
            print_human(&mut out, &ev, &mut streamed)?;
        }
        out.flush()?;
        if let Event::TurnComplete { status: s, .. } = &ev {
            status = Some(*s);
            break;
        }
    }
    let _ = handle.ops.send(Op::Shutdown);
    drop(resolved._kubeconfig);
    if !args.json
        && let Some(p) = &handle.trace_path
    {
        writeln!(out, "\ntrace: {}", p.display())?;
    }
    drop(out);
    handle.join().await;
    Ok(match status {
        Some(TurnStatus::Answered) => ExitCode::SUCCESS,
        Some(TurnStatus::BudgetExhausted) => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    })
}

struct AskJson {
    json: bool,
}

/// One event as a line or two of plain text.
pub fn print_human(out: &mut impl Write, ev: &Event, streamed: &mut bool) -> std::io::Result<()> {
    match ev {
        Event::SessionStarted {
            model,
            cluster,
            read_only,
            ..
        } => writeln!(
            out,
            "triage · model {} · cluster {} · {}",
            model.as_deref().unwrap_or("offline"),
            cluster.as_deref().unwrap_or("none"),
            if *read_only {
                "read-only"
            } else {
                "write mode"
            }
        ),
        Event::PlaybookChosen { playbook, reason } => {
            writeln!(out, "playbook {}: {reason}", playbook.as_str())
        }
        Event::TokenDelta { text } => {
            *streamed = true;
            write!(out, "{text}")
        }
        Event::MessageDone { text } => {
            if *streamed {
                *streamed = false;
                if text.ends_with('\n') {
                    Ok(())
                } else {
                    writeln!(out)
                }
            } else {
                writeln!(out, "{text}")
            }
        }
        Event::ToolCallStarted { command, .. } => writeln!(out, "  → {command}"),
        Event::ToolCallFinished {
            status,
            duration_ms,
            summary,
            truncated,
            ..
        } => writeln!(
            out,
            "    {} {} ({duration_ms} ms{})",
            match status {
                ToolStatus::Ok => "ok",
                ToolStatus::Error => "error:",
                ToolStatus::TimedOut => "timed out:",
                ToolStatus::Cancelled => "cancelled:",
            },
            summary.trim_start_matches("error: "),
            if *truncated { ", truncated" } else { "" }
        ),
        Event::MemoryHit {
            memory, score, why, ..
        } => {
            writeln!(out, "  memory {memory} ({score:.2}): {why}")
        }
        Event::CheckpointSaved { checkpoint: c } => writeln!(
            out,
            "  ◆ {} [{} {:.2}] {}",
            c.stage.as_str(),
            confidence_label(c.confidence),
            c.confidence,
            c.summary
        ),
        Event::Rewound { checkpoint } => writeln!(out, "  rewound to checkpoint {checkpoint}"),
        Event::Forked {
            checkpoint,
            kept_branch,
        } => writeln!(
            out,
            "  forked from checkpoint {checkpoint} (the previous branch is kept as branch {kept_branch})"
        ),
        Event::ActionProposed { action: a } => writeln!(
            out,
            "  ? action {} [{}] {}\n      why: {}{}",
            a.id,
            match a.class {
                crate::protocol::ActionClass::Read => "read",
                crate::protocol::ActionClass::Write => "WRITE",
            },
            a.command,
            a.rationale,
            if a.blocked_by_read_only {
                "\n      (read-only mode: approving will not run it)"
            } else {
                ""
            }
        ),
        Event::ActionDecided { action, decision } => writeln!(
            out,
            "  action {action}: {}",
            match decision {
                Decision::Approved { .. } => "approved".to_string(),
                Decision::Rejected { reason } => format!("rejected ({reason})"),
                Decision::Edited { replaced_by } => format!("edited, now action {replaced_by}"),
                Decision::Refused { why } => format!("refused: {why}"),
            }
        ),
        Event::ActionOutput {
            action,
            exit_code,
            stdout,
            stderr,
            ..
        } => writeln!(
            out,
            "  action {action} exited {}\n{stdout}{stderr}",
            exit_code.map_or("?".to_string(), |c| c.to_string())
        ),
        Event::FeedbackQueued { text, .. } => writeln!(out, "  feedback queued: {text}"),
        Event::FeedbackApplied { id } => writeln!(out, "  feedback {id} applied"),
        Event::MemoryProposed {
            memory,
            kind,
            text,
            scope,
            ..
        } => writeln!(
            out,
            "  memory proposed {memory} ({kind}, {scope}): {}\n    keep it: triage memory edit {memory} --status active",
            text.lines().next().unwrap_or("")
        ),
        Event::MemoryUpdated {
            memory,
            status,
            detail,
        } => writeln!(out, "  memory {memory} {status}: {detail}"),
        Event::BudgetUpdate { .. } => Ok(()),
        Event::Error {
            kind,
            message,
            recoverable,
        } => writeln!(
            out,
            "  {} ({kind:?}): {message}",
            if *recoverable { "warning" } else { "error" }
        ),
        Event::TurnComplete { status, answer } => match answer {
            Some(a) => writeln!(
                out,
                "\n[{:?}] confidence {} ({:.2}), {} evidence items",
                status,
                confidence_label(a.confidence),
                a.confidence,
                a.evidence.len()
            ),
            None => writeln!(out, "\n[{status:?}] no answer"),
        },
    }
}

pub fn cmd_sessions(args: &SessionsArgs) -> Result<ExitCode> {
    let dir: PathBuf = crate::trace::sessions_dir()?;
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    match &args.command {
        SessionsCommand::List { json } => {
            let sessions = crate::trace::list(&dir)?;
            if *json {
                serde_json::to_writer_pretty(&mut out, &sessions)?;
                writeln!(out)?;
            } else if sessions.is_empty() {
                writeln!(out, "no sessions in {}", dir.display())?;
            } else {
                for s in sessions {
                    writeln!(
                        out,
                        "{}  {:<10} {:<8} {}",
                        s.id,
                        s.status.as_deref().unwrap_or("-"),
                        s.model.as_deref().unwrap_or("offline"),
                        s.first_request.as_deref().unwrap_or("")
                    )?;
                }
            }
        }
        SessionsCommand::Show { id } => {
            let path = crate::trace::find(&dir, id)?;
            let records = crate::trace::read_records(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let mut streamed = false;
            for r in records {
                match r.body {
                    crate::trace::RecordBody::Event { event } => {
                        print_human(&mut out, &event, &mut streamed)?
                    }
                    crate::trace::RecordBody::Op { op } => {
                        writeln!(out, "{} > {}", r.t, serde_json::to_string(&op)?)?
                    }
                    crate::trace::RecordBody::Meta {
                        session,
                        repo,
                        model,
                        index,
                        config_digest,
                        ..
                    } => writeln!(
                        out,
                        "session {session} · repo {} · model {} · index {index} · config {config_digest}",
                        repo.as_deref().unwrap_or("-"),
                        model.as_deref().unwrap_or("offline"),
                    )?,
                    crate::trace::RecordBody::LlmRequest {
                        model, messages, ..
                    } => writeln!(
                        out,
                        "  [llm request to {model}: {} messages]",
                        messages.as_array().map_or(0, Vec::len)
                    )?,
                    crate::trace::RecordBody::LlmResponse {
                        prompt_tokens,
                        completion_tokens,
                        ..
                    } => writeln!(
                        out,
                        "  [llm response: {prompt_tokens}+{completion_tokens} tokens]"
                    )?,
                    crate::trace::RecordBody::ToolIo { .. } => {}
                }
            }
        }
        SessionsCommand::Export { id } => {
            let path = crate::trace::find(&dir, id)?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
