//! The launcher: opens the terminal first (the first frame appears at once), then indexes
//! the repository, connects to the cluster and starts the agent session in the
//! background, bridging the session's Events to the view and the view's Ops back. It
//! carries out what the view cannot do itself (file previews, `:` commands).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use tokio::sync::mpsc;

use super::event::{AppCommand, AppEvent, PreviewContent, Request};
use super::state::{ClusterState, IndexState, StatusInfo};
use super::{App, Keymap, Theme};
use crate::agent::open::{Refresh, Workspace, WorkspaceChoice};
use crate::agent::session;
use crate::kube::ClusterChoice;
use crate::llm::chat::LlmClient;
use crate::protocol::Op;

/// What to open.
pub struct Launch {
    /// Repository, index and config; `write` allows approved write actions.
    pub workspace: WorkspaceChoice,
    pub cluster: ClusterChoice,
    /// Text to leave in the composer (the demo's first question).
    pub prefill: Option<String>,
    /// Never use a model (the demo).
    pub offline: bool,
}

/// Lines of context shown around a previewed range.
const PREVIEW_CONTEXT: usize = 3;

/// What the palette can change about the running session: the session is restarted with
/// the new settings (the transcript stays on screen).
#[derive(Debug)]
enum Switch {
    Context(String),
    Namespace(String),
    Replay(PathBuf),
    /// `None` is the offline planner.
    Model(Option<String>),
}

pub async fn run(launch: Launch) -> Result<ExitCode> {
    let ws = Workspace::resolve(&launch.workspace)?;
    let (loc, config) = (&ws.loc, &ws.config);
    let config_dir = crate::config::config_dir();
    let keymap = Keymap::load(&config.config.tui.keymap, config_dir.as_deref())?;
    let no_color = Theme::no_color_from_env();
    let theme = Theme::load(&config.config.tui.theme, config_dir.as_deref(), no_color);
    let llm = if launch.offline { None } else { ws.llm()? };
    let repo_root = ws.git().map(|l| l.root.clone());
    let status = StatusInfo {
        repo: loc
            .as_ref()
            .and_then(|l| l.root.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
        branch: repo_root.as_deref().and_then(branch_of),
        index: if repo_root.is_some() {
            IndexState::Building { percent: None }
        } else {
            IndexState::Missing
        },
        cluster: match (&launch.cluster.replay, &launch.cluster.context) {
            (Some(f), _) => ClusterState::Replay {
                file: f.display().to_string(),
            },
            (None, Some(c)) => ClusterState::Live {
                context: c.clone(),
                namespace: launch.cluster.namespace.clone(),
            },
            (None, None) => ClusterState::None,
        },
        model: llm
            .as_ref()
            .map(|l| l.model(crate::llm::chat::Tier::Main).to_string()),
        read_only: config.config.agent.read_only,
    };
    let mut app = App::new(keymap, theme, status.clone());
    // An untrusted repository config stays in view, not only on the screen the TUI hides.
    if let Some(w) = config.warnings.first() {
        app.state
            .notify(crate::tui::state::NoticeLevel::Warning, w.clone());
    }
    if let Some(text) = &launch.prefill {
        app.handle_paste(text);
    }

    let (app_tx, app_rx) = mpsc::channel::<AppEvent>(4096);
    let (op_tx, op_rx) = mpsc::channel::<Op>(256);
    let (req_tx, req_rx) = mpsc::channel::<Request>(64);

    let mut guard = super::terminal::enter()?;
    let _signals = super::terminal::spawn_signal_handler().ok();

    let (switch_tx, switch_rx) = mpsc::channel::<Switch>(8);
    let background = tokio::spawn(start_session(
        ws.clone(),
        launch.cluster.clone(),
        llm,
        status,
        app_tx.clone(),
        op_rx,
        switch_rx,
    ));
    let requests = tokio::spawn(serve_requests(
        req_rx,
        app_tx.clone(),
        repo_root.clone(),
        config_dir.clone(),
        no_color,
        config.config.clone(),
        switch_tx,
    ));
    let result = super::run(&mut guard.terminal, &mut app, app_rx, op_tx, req_tx).await;
    drop(guard);
    requests.abort();
    // The session task sees its ops channel close and shuts down; give it a moment to
    // finish its trace.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), background).await;
    result?;
    Ok(ExitCode::SUCCESS)
}

/// The checked-out branch, for the status bar.
fn branch_of(root: &Path) -> Option<String> {
    let repo = gix::open(root).ok()?;
    let head = repo.head_name().ok()??;
    Some(head.shorten().to_string())
}

/// Index once; then connect, start the session and bridge Ops in and Events out, starting
/// it again when the palette switches context, namespace, replay or model.
async fn start_session(
    ws: Workspace,
    mut cluster_args: ClusterChoice,
    mut llm: Option<LlmClient>,
    mut status: StatusInfo,
    app_tx: mpsc::Sender<AppEvent>,
    mut op_rx: mpsc::Receiver<Op>,
    mut switch_rx: mpsc::Receiver<Switch>,
) {
    if let Some(refresh) = ws.refresh().await {
        report_refresh(refresh, &mut status, &app_tx).await;
    }
    loop {
        let Some((mut handle, kubeconfig)) =
            open_session(&ws, &cluster_args, llm.clone(), &mut status, &app_tx).await
        else {
            return;
        };
        let switch = bridge(&mut handle, &mut op_rx, &mut switch_rx, &app_tx).await;
        let _ = handle.ops.send(Op::Shutdown);
        handle.join().await;
        drop(kubeconfig);
        let Some(switch) = switch else { return };
        let notice = apply_switch(switch, &ws, &mut cluster_args, &mut llm, &mut status);
        status.model = llm
            .as_ref()
            .map(|l| l.model(crate::llm::chat::Tier::Main).to_string());
        let _ = app_tx.send(AppEvent::Status(status.clone())).await;
        let _ = app_tx.send(AppEvent::Notice(notice)).await;
    }
}

/// The index and runbooks refresh, on the status bar and as notices.
async fn report_refresh(
    refresh: Refresh,
    status: &mut StatusInfo,
    app_tx: &mpsc::Sender<AppEvent>,
) {
    status.index = match refresh.index {
        Ok(s) => IndexState::Ready {
            files: s.files.indexed,
            lexical_only: s.embeddings.embedder.is_none(),
        },
        Err(e) => {
            let _ = app_tx
                .send(AppEvent::Notice(format!("indexing failed: {e:#}")))
                .await;
            IndexState::Missing
        }
    };
    let _ = app_tx.send(AppEvent::Status(status.clone())).await;
    match refresh.runbooks {
        Ok(r) if r.added + r.updated + r.removed > 0 => {
            let _ = app_tx
                .send(AppEvent::Notice(format!(
                    "runbooks: {} added, {} updated, {} removed",
                    r.added, r.updated, r.removed
                )))
                .await;
        }
        Ok(_) => {}
        Err(e) => {
            let _ = app_tx
                .send(AppEvent::Notice(format!("runbooks not synced: {e}")))
                .await;
        }
    }
}

/// Ops in, Events out, until the session ends (`None`) or the palette switches something.
async fn bridge(
    handle: &mut session::SessionHandle,
    op_rx: &mut mpsc::Receiver<Op>,
    switch_rx: &mut mpsc::Receiver<Switch>,
    app_tx: &mpsc::Sender<AppEvent>,
) -> Option<Switch> {
    loop {
        tokio::select! {
            op = op_rx.recv() => match op {
                Some(op) => {
                    let stop = matches!(op, Op::Shutdown);
                    if handle.ops.send(op).is_err() || stop {
                        return None;
                    }
                }
                None => {
                    let _ = handle.ops.send(Op::Shutdown);
                    return None;
                }
            },
            ev = handle.events.recv() => match ev {
                Some(ev) => {
                    if app_tx.send(AppEvent::Agent(ev)).await.is_err() {
                        let _ = handle.ops.send(Op::Shutdown);
                        return None;
                    }
                }
                None => return None,
            },
            sw = switch_rx.recv() => match sw {
                Some(sw) => return Some(sw),
                None => continue,
            },
        }
    }
}

/// Apply a palette switch to what the next session opens with; the notice says what
/// changed.
fn apply_switch(
    switch: Switch,
    ws: &Workspace,
    cluster_args: &mut ClusterChoice,
    llm: &mut Option<LlmClient>,
    status: &mut StatusInfo,
) -> String {
    match switch {
        Switch::Context(c) => {
            cluster_args.replay = None;
            cluster_args.context = Some(c.clone());
            status.cluster = ClusterState::Live {
                context: c.clone(),
                namespace: cluster_args.namespace.clone(),
            };
            format!("context is now {c}; a new session started")
        }
        Switch::Namespace(ns) => {
            cluster_args.namespace = Some(ns.clone());
            cluster_args.all_namespaces = false;
            format!("namespace is now {ns}; a new session started")
        }
        Switch::Replay(file) => {
            cluster_args.replay = Some(file.clone());
            status.cluster = ClusterState::Replay {
                file: file.display().to_string(),
            };
            format!("reading {} now; a new session started", file.display())
        }
        Switch::Model(None) => {
            *llm = None;
            "offline planner; a new session started".to_string()
        }
        Switch::Model(Some(name)) => {
            let mut cfg = ws.config.config.llm.clone();
            cfg.model = Some(name.clone());
            match LlmClient::from_config(&cfg) {
                Ok(client) => {
                    *llm = client;
                    format!("model is now {name}; a new session started")
                }
                Err(e) => format!("cannot use model {name}: {e}"),
            }
        }
    }
}

/// Connect to the chosen cluster and start a session on it.
async fn open_session(
    ws: &Workspace,
    cluster_args: &ClusterChoice,
    llm: Option<LlmClient>,
    status: &mut StatusInfo,
    app_tx: &mpsc::Sender<AppEvent>,
) -> Option<(session::SessionHandle, Option<tempfile::NamedTempFile>)> {
    let opened = ws.open_session(cluster_args, llm).await;
    if let Some(reason) = &opened.cluster_error {
        status.cluster = ClusterState::Unreachable {
            context: cluster_args
                .context
                .clone()
                .unwrap_or_else(|| "current".into()),
            reason: reason.clone(),
        };
        let _ = app_tx.send(AppEvent::Status(status.clone())).await;
    }
    let kubeconfig = opened.kubeconfig;
    match session::start(opened.session) {
        Ok(h) => Some((h, kubeconfig)),
        Err(e) => {
            let _ = app_tx
                .send(AppEvent::Notice(format!(
                    "the agent could not start: {e:#}"
                )))
                .await;
            None
        }
    }
}

/// Carry out what the view asked for: file previews and palette commands.
async fn serve_requests(
    mut rx: mpsc::Receiver<Request>,
    tx: mpsc::Sender<AppEvent>,
    repo_root: Option<PathBuf>,
    config_dir: Option<PathBuf>,
    no_color: bool,
    config: crate::config::Config,
    switch: mpsc::Sender<Switch>,
) {
    while let Some(req) = rx.recv().await {
        let reply = match req {
            Request::Preview { path, start, end } => {
                AppEvent::Preview(preview(repo_root.as_deref(), &path, start, end))
            }
            Request::Command(cmd) => match cmd {
                AppCommand::Theme { name: Some(name) } => AppEvent::Theme(Box::new(
                    Theme::load(&name, config_dir.as_deref(), no_color),
                )),
                AppCommand::Theme { name: None } => AppEvent::Notice(
                    "themes: default, dark, light, high-contrast (or one in the config dir's themes/)"
                        .into(),
                ),
                AppCommand::Memory { query } => AppEvent::Preview(PreviewContent {
                    path: crate::tui::app::MEMORIES.to_string(),
                    start: 1,
                    end: 1,
                    first_line: 1,
                    text: memory_listing(&config, query).await,
                }),
                AppCommand::Forget { id: None } => {
                    AppEvent::Notice("usage: :forget ID (ids are in :memory)".into())
                }
                AppCommand::Forget { id: Some(id) } => AppEvent::Notice(forget(&config, &id).await),
                AppCommand::Confirm { id: None } => AppEvent::Notice(
                    "usage: :confirm ID (proposed memories are in :memory)".into(),
                ),
                AppCommand::Confirm { id: Some(id) } => {
                    AppEvent::Notice(confirm(&config, &id).await)
                }
                AppCommand::Sessions => AppEvent::Notice(sessions_summary()),
                AppCommand::Index => AppEvent::Notice(
                    "the index refreshes when triage starts; run `triage index` for embeddings".into(),
                ),
                AppCommand::Context { name: Some(c) } => {
                    let _ = switch.send(Switch::Context(c)).await;
                    continue;
                }
                AppCommand::Context { name: None } => AppEvent::Notice(contexts()),
                AppCommand::Namespace { name: Some(ns) } => {
                    let _ = switch.send(Switch::Namespace(ns)).await;
                    continue;
                }
                AppCommand::Namespace { name: None } => {
                    AppEvent::Notice("usage: :ns NAME".into())
                }
                AppCommand::Replay { file: Some(f) } => {
                    let _ = switch.send(Switch::Replay(PathBuf::from(f))).await;
                    continue;
                }
                AppCommand::Replay { file: None } => {
                    AppEvent::Notice("usage: :replay FILE (a snapshot from triage kube record)".into())
                }
                AppCommand::Model { name: None } => AppEvent::Notice(
                    "usage: :model NAME (an OpenAI-compatible model at [llm] base_url) or :model offline".into(),
                ),
                AppCommand::Model { name: Some(name) } => {
                    let name = (name != "offline").then_some(name);
                    let _ = switch.send(Switch::Model(name)).await;
                    continue;
                }
            },
        };
        if tx.send(reply).await.is_err() {
            break;
        }
    }
}

fn preview(root: Option<&Path>, path: &str, start: usize, end: usize) -> PreviewContent {
    let first_line = start.saturating_sub(PREVIEW_CONTEXT).max(1);
    let text = match root {
        None => Err("not inside a repository".to_string()),
        Some(root) => {
            let rel = path.trim_start_matches("./");
            let full = root.join(rel);
            match (full.canonicalize(), root.canonicalize()) {
                (Ok(f), Ok(r)) if f.starts_with(&r) => match std::fs::read(&f) {
                    Ok(bytes) if bytes.iter().take(8192).any(|&b| b == 0) => {
                        Err(format!("{rel} is a binary file"))
                    }
                    Ok(bytes) => Ok(String::from_utf8_lossy(&bytes)
                        .lines()
                        .skip(first_line - 1)
                        .take(end.max(start) + PREVIEW_CONTEXT + 1 - first_line)
                        .collect::<Vec<_>>()
                        .join("\n")),
                    Err(e) => Err(format!("cannot read {rel}: {e}")),
                },
                (Ok(_), Ok(_)) => Err(format!("{rel} is outside the repository")),
                (Err(e), _) | (_, Err(e)) => Err(format!("cannot read {rel}: {e}")),
            }
        }
    };
    PreviewContent {
        path: path.to_string(),
        start,
        end,
        first_line,
        text,
    }
}

/// The memory browser's text: every memory (or those matching a query), newest first,
/// with kind, status, confidence, checks and scope.
async fn memory_listing(
    config: &crate::config::Config,
    query: Option<String>,
) -> Result<String, String> {
    let uri = crate::memory::configured_uri(&config.memory)
        .ok_or("no memory database configured (set memory.uri)")?;
    let store = crate::memory::MemoryStore::open_with(&uri, &config.memory.storage_options)
        .await
        .map_err(|e| e.to_string())?;
    let mut all: Vec<(crate::memory::Memory, Option<String>)> = match &query {
        Some(q) => store
            .recall(
                &crate::memory::RecallQuery {
                    text: q.clone(),
                    scope: Default::default(),
                },
                50,
            )
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|h| (h.memory, Some(h.why)))
            .collect(),
        None => {
            let mut all = store.list().await.map_err(|e| e.to_string())?;
            all.sort_by_key(|m| std::cmp::Reverse(m.updated));
            all.into_iter().map(|m| (m, None)).collect()
        }
    };
    if all.is_empty() {
        return Ok(match query {
            Some(q) => format!("no memories match {q:?}"),
            None => format!("no memories yet in {uri}"),
        });
    }
    let mut out = format!(
        "{} memories in {uri}{}  (:confirm ID keeps a proposed one; :forget ID deletes one; triage memory edit ID changes one)\n",
        all.len(),
        query
            .map(|q| format!(" matching {q:?}"))
            .unwrap_or_default()
    );
    for (m, why) in all.iter_mut() {
        out.push_str(&format!(
            "\n{} · {} · {} · confidence {:.2} · used {} · confirmed {} · contradicted {}\n  scope: {}  source: {}\n",
            m.id,
            m.kind.as_str(),
            m.status.as_str(),
            m.confidence,
            m.uses,
            m.confirmations,
            m.contradictions,
            m.scope,
            m.source
        ));
        if let Some(w) = why {
            out.push_str(&format!("  matched: {w}\n"));
        }
        for l in m.text.lines().take(6) {
            out.push_str(&format!("  {l}\n"));
        }
    }
    Ok(out)
}

async fn forget(config: &crate::config::Config, id: &str) -> String {
    let Some(uri) = crate::memory::configured_uri(&config.memory) else {
        return "no memory database configured".into();
    };
    match crate::memory::MemoryStore::open_with(&uri, &config.memory.storage_options).await {
        Ok(store) => match store.forget(id).await {
            Ok(()) => format!("memory {id} forgotten"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

async fn confirm(config: &crate::config::Config, id: &str) -> String {
    let Some(uri) = crate::memory::configured_uri(&config.memory) else {
        return "no memory database configured".into();
    };
    match crate::memory::MemoryStore::open_with(&uri, &config.memory.storage_options).await {
        Ok(store) => match crate::memory::import::confirm(&store, &[id.to_string()]).await {
            Ok(lines) => lines.join("; "),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

/// The kubeconfig's contexts, for `:ctx` without a name.
fn contexts() -> String {
    match kube::config::Kubeconfig::read() {
        Ok(k) => {
            let names: Vec<String> = k.contexts.iter().map(|c| c.name.clone()).collect();
            if names.is_empty() {
                "no contexts in the kubeconfig".into()
            } else {
                format!("contexts: {} (:ctx NAME switches)", names.join(", "))
            }
        }
        Err(e) => format!("no kubeconfig: {e}"),
    }
}

fn sessions_summary() -> String {
    let Ok(dir) = crate::trace::sessions_dir() else {
        return "no state directory".into();
    };
    match crate::trace::list(&dir) {
        Ok(s) if s.is_empty() => "no past sessions".into(),
        Ok(s) => s
            .iter()
            .take(3)
            .map(|x| format!("{} {}", x.id, x.first_request.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(" · "),
        Err(e) => e.to_string(),
    }
}
