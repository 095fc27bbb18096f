//! Starting `triage watch`: flags over config, the watched cluster picture, the receiver
//! and the coordinator; stopping on Ctrl-C, SIGTERM, or when the view closes.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::events::{EventSink, Logged, WatchEvent};
use super::investigate::SessionBase;
use super::notify::Webhook;
use super::queue::DailyLimits;
use super::service::{Coordinator, Options};
use crate::agent::session::SessionConfig;
use crate::config::WatchConfig;
use crate::kube::live::LivePicture;

/// What the command line asks of the watch (each replaces its config key when given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub listen: Option<String>,
    pub notify_webhooks: Vec<String>,
    /// A command line, split like a shell would (no shell runs it).
    pub notify_command: Option<String>,
    pub threshold: Option<f32>,
    pub token_file: Option<PathBuf>,
    pub json: bool,
    /// Print events on stdout (off while a terminal view shows them).
    pub print: bool,
    /// The inbox log (default: `$XDG_STATE_HOME/triage/watch/inbox.jsonl`).
    pub inbox: Option<PathBuf>,
}

/// A view of the watch's events (the TUI inbox): the live stream and what the inbox log
/// already held; the watch stops when it returns.
pub type View = Box<
    dyn FnOnce(
            broadcast::Receiver<WatchEvent>,
            Vec<Logged>,
        ) -> Pin<Box<dyn Future<Output = Result<()>> + Send>>
        + Send,
>;

/// Keys that send data somewhere or open the receiver: taken from the user's own config
/// and the command line only, never from a repository's `.triage.toml`.
const USER_ONLY_KEYS: &[&str] = &[
    "listen",
    "token",
    "token_file",
    "notify_webhooks",
    "notify_command",
    "session_url",
];

/// Watch until a signal (or the view) stops it. `session` is what every background
/// investigation starts from.
pub async fn run(session: SessionConfig, flags: &Flags, view: Option<View>) -> Result<()> {
    let mut session = session;
    if let Some(root) = &session.repo_root {
        refuse_repo_watch_keys(root)?;
    }
    let cfg = effective_config(&session.config.config.watch, flags)?;
    let token = token(&cfg, flags.token_file.as_deref())?;
    let listen = listen_address(&cfg, token.is_some())?;
    let webhooks = cfg
        .notify_webhooks
        .iter()
        .map(|w| Webhook::parse(w).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    if cfg.model_tier == "fast" {
        session.llm = session.llm.as_ref().map(|l| l.on_fast_tier());
    }
    let log = flags.inbox.clone().or_else(super::events::default_log_path);
    let past = log
        .as_deref()
        .and_then(|p| super::events::read_log(p).ok())
        .unwrap_or_default();
    let events = Arc::new(EventSink::new(flags.json, flags.print, log.as_deref()));
    let stale_after = Duration::from_secs(cfg.stale_after_secs.max(1));
    if let Some(source) = session.cluster.clone() {
        start_picture(&source, stale_after, &events).await;
    }
    let cluster_label = session.cluster_label.clone();
    let cluster = session.cluster.clone();
    let (msg_tx, msg_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    let options = options(&cfg, webhooks, stale_after);
    let offline = session.llm.is_none();
    let base = SessionBase::from_session(session);
    let coordinator = Coordinator::new(options, base, events.clone(), msg_tx)?;
    let (listener, local) = super::receiver::bind(&listen.to_string()).await?;
    let stop = CancellationToken::new();
    let router = super::receiver::router(token, cfg.max_body_bytes, events.clone(), in_tx);
    let server = tokio::spawn(super::receiver::serve(listener, router, {
        let stop = stop.clone();
        async move { stop.cancelled().await }
    }));
    events.emit(WatchEvent::Listening {
        address: local.to_string(),
        path: super::receiver::PATH.to_string(),
        cluster: cluster_label,
        threshold: cfg.threshold,
    });
    if offline {
        let most = crate::agent::planner::highest_confidence();
        if cfg.threshold > most {
            events.emit(WatchEvent::Warning {
                message: format!(
                    "no model is configured and the offline planner states at most {most:.2}: at the default threshold {:.2} it sends nothing (answers kept quiet are in `triage sessions`); lower watch.threshold or a route's, or configure a model",
                    cfg.threshold
                ),
            });
        }
    }
    let coordinating = tokio::spawn(coordinator.run(in_rx, msg_rx, stop.clone()));
    if let Some(source) = cluster {
        tokio::spawn(report_resyncs(source, events.clone(), stop.clone()));
    }
    let viewed = match view {
        Some(view) => view(events.subscribe(), past).await,
        None => {
            wait_for_signal().await;
            Ok(())
        }
    };
    stop.cancel();
    let _ = coordinating.await;
    let _ = server.await;
    viewed
}

/// The receiver's address; one that is not loopback needs a token.
fn listen_address(cfg: &WatchConfig, has_token: bool) -> Result<SocketAddr> {
    let listen: SocketAddr = cfg.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:9099",
            cfg.listen
        )
    })?;
    if !listen.ip().is_loopback() && !has_token {
        bail!(
            "listening on {listen} (not loopback) needs a bearer token: --token-file FILE or watch.token_file"
        );
    }
    Ok(listen)
}

fn options(cfg: &WatchConfig, webhooks: Vec<Webhook>, stale_after: Duration) -> Options {
    Options {
        threshold: cfg.threshold,
        routes: cfg.routes.clone(),
        webhooks,
        command: cfg.notify_command.clone(),
        session_url: cfg.session_url.clone(),
        concurrency: cfg.concurrency,
        queue_max: cfg.queue_max,
        limits: DailyLimits {
            investigations: cfg.daily_investigations,
            tokens: cfg.daily_tokens,
            tool_calls: cfg.daily_tool_calls,
        },
        budget_path: crate::config::state_dir().map(|d| d.join("watch").join("budget.json")),
        stale_after,
        reopen_within_secs: cfg.reopen_within_secs,
    }
}

/// The config's `[watch]` with the command line's overrides, checked.
fn effective_config(base: &WatchConfig, args: &Flags) -> Result<WatchConfig> {
    let mut cfg = base.clone();
    if let Some(l) = &args.listen {
        cfg.listen = l.clone();
    }
    if !args.notify_webhooks.is_empty() {
        cfg.notify_webhooks = args.notify_webhooks.clone();
    }
    if let Some(c) = &args.notify_command {
        cfg.notify_command = shell_words::split(c)
            .with_context(|| format!("--notify-command {c:?} does not parse"))?;
    }
    if let Some(t) = args.threshold {
        cfg.threshold = t;
    }
    cfg.validate().map_err(anyhow::Error::msg)?;
    Ok(cfg)
}

/// The bearer token: `--token-file`, else `watch.token_file`, else `watch.token`.
fn token(cfg: &WatchConfig, flag: Option<&Path>) -> Result<Option<String>> {
    let file = flag
        .map(Path::to_path_buf)
        .or_else(|| cfg.token_file.clone());
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        let token = text.lines().next().unwrap_or("").trim().to_string();
        if token.is_empty() {
            bail!("the token file {} is empty", path.display());
        }
        return Ok(Some(token));
    }
    Ok(cfg.token.clone().filter(|t| !t.is_empty()))
}

/// A repository's `.triage.toml` may not say where notifications go or who may post.
fn refuse_repo_watch_keys(root: &Path) -> Result<()> {
    let path = root.join(".triage.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    let Some(watch) = table.get("watch").and_then(toml::Value::as_table) else {
        return Ok(());
    };
    let found: Vec<&str> = USER_ONLY_KEYS
        .iter()
        .copied()
        .filter(|k| watch.contains_key(*k))
        .collect();
    if !found.is_empty() {
        bail!(
            "{} sets watch.{}: where notifications go and who may post alerts come from your own config ({}) or the command line, not from a repository",
            path.display(),
            found.join(", watch."),
            crate::config::user_config_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "config.toml".into())
        );
    }
    Ok(())
}

/// Watch the cluster from now on; scans read the picture instead of listing.
async fn start_picture(
    source: &crate::kube::ClusterSource,
    stale_after: Duration,
    events: &Arc<EventSink>,
) {
    let scope = source.default_scope().clone();
    let picture = LivePicture::start(source, &scope, stale_after).await;
    if !picture.wait_synced(Duration::from_secs(30)).await {
        events.emit(WatchEvent::Warning {
            message:
                "the cluster picture is not complete after 30 s; investigations read what arrived"
                    .into(),
        });
    }
    events.emit(WatchEvent::ClusterSynced {
        types: picture.freshness().len(),
        objects: picture.object_count(),
        resyncs: picture.resyncs(),
    });
    if !picture.attach_to(source) {
        tracing::warn!("the cluster already has a watched picture");
    }
}

/// A `cluster_synced` event each time the picture listed a type again (after a 410 or
/// an error).
async fn report_resyncs(
    source: Arc<crate::kube::ClusterSource>,
    events: Arc<EventSink>,
    stop: CancellationToken,
) {
    let mut seen = LivePicture::of(&source).map_or(0, |p| p.resyncs());
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let Some(picture) = LivePicture::of(&source) else {
            return;
        };
        let now = picture.resyncs();
        if now > seen {
            seen = now;
            events.emit(WatchEvent::ClusterSynced {
                types: picture.freshness().len(),
                objects: picture.object_count(),
                resyncs: now,
            });
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
