//! Command-line interface: one clap tree, every command documented in one line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use super::eval_args::{EvalArgs, EvalCommand, MemoryModeArg, SplitArg};

#[derive(Debug, Parser)]
#[command(
    name = "triage",
    version,
    about = "A terminal copilot for engineers on call and for repo triage",
    long_about = None,
    after_help = "Exit status: 0 success; 1 error; 2 bad command line; 3 the investigation's budget ran out (ask).",
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// Which cluster to read (before or after the command)
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// For the TUI (no command): allow approved write actions (read-only by default)
    #[arg(long)]
    pub write: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Repository to work in (default: the repository containing the current directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Where the index lives (default: <repo>/.triage)
    #[arg(long, global = true, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// Config file to use instead of the one in the XDG config dir
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model to use (beats OPENAI_MODEL and [llm] model)
    #[arg(short = 'm', long, global = true, value_name = "MODEL")]
    pub model: Option<String>,
}

impl GlobalArgs {
    /// What the command line overrides in a loaded config (`-m`).
    pub fn apply(&self, loaded: &mut crate::config::LoadedConfig) {
        if let Some(model) = &self.model {
            loaded.config.llm.model = Some(model.clone());
        }
    }

    /// The plain workspace choice the layers below take.
    pub fn workspace(&self, write: bool) -> crate::agent::open::WorkspaceChoice {
        crate::agent::open::WorkspaceChoice {
            repo: self.repo.clone(),
            index_dir: self.index_dir.clone(),
            config: self.config.clone(),
            model: self.model.clone(),
            write,
        }
    }
}

/// Which cluster to read: the user's kubeconfig like kubectl, or a recorded snapshot.
/// Global: accepted before or after the command, like kubectl's flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context)
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace)
    #[arg(short = 'n', long, global = true, value_name = "NS")]
    pub namespace: Option<String>,
    /// All namespaces
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Read a recorded snapshot instead of a live cluster
    #[arg(long, global = true, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

impl ClusterArgs {
    /// The plain choice the layers below take.
    pub fn choice(&self) -> crate::kube::ClusterChoice {
        crate::kube::ClusterChoice {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            all_namespaces: self.all_namespaces,
            replay: self.replay.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index the repository (files, AST chunks, symbols, embeddings) into LanceDB
    Index(IndexArgs),
    /// Search the index: full-text, vector and symbol matches, grouped by file
    Search(SearchArgs),
    /// Rank the files and functions an issue (bug report, stack trace, alert) is about
    Issue(IssueArgs),
    /// Files related to a file through references and co-change (damped, multi-hop)
    Related(RelatedArgs),
    /// Measure triage on your own code: mine suites from history, score localization
    Eval(EvalArgs),
    /// Read the Kubernetes context: scan for findings, record and serve snapshots
    Kube(KubeArgs),
    /// Open the TUI on a bundled demo: a small repo and a replayed incident, offline
    Demo(DemoArgs),
    /// Ask the agent one question and print its investigation (headless; --json for JSONL)
    Ask(AskArgs),
    /// Past sessions and their lineage: list, show, export
    Sessions(SessionsArgs),
    /// What triage learned: list, show, add, edit, forget, export, import
    Memory(MemoryArgs),
    /// On call: receive Alertmanager webhooks, investigate in the background, notify
    /// only above a confidence threshold
    Watch(WatchArgs),
    /// Trust this repository's .triage.toml: its model, cluster, memory and agent settings
    Trust(TrustArgs),
    /// The effective configuration and where each key came from
    Config(ConfigArgs),
    /// Serve triage's read-only tools to other agents over the Model Context Protocol
    Mcp(McpArgs),
    /// Check the setup: config, index, embedding model, cluster, model endpoint
    Doctor(DoctorArgs),
    /// The sentence model (memory recall; vectors when embed.provider asks): fetch it, or say where it is
    Model(ModelArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder
    Man {
        /// Write triage.1 and triage-COMMAND.1 pages into this folder
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Where to receive Alertmanager webhooks (POST /alertmanager); default watch.listen,
    /// 127.0.0.1:9099. An address that is not loopback needs a bearer token.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Send notifications to this incoming webhook (repeatable; replaces
    /// watch.notify_webhooks). `slack:URL` or `json:URL` picks the payload.
    #[arg(long = "notify-webhook", value_name = "URL")]
    pub notify_webhook: Vec<String>,
    /// Run this command for each notification, the notification as JSON on its standard
    /// input (split like a shell would, but no shell runs it)
    #[arg(long, value_name = "CMD")]
    pub notify_command: Option<String>,
    /// Notify at or above this confidence (0-1); replaces watch.threshold, routes keep
    /// their own
    #[arg(long, value_name = "X")]
    pub threshold: Option<f32>,
    /// A file holding the bearer token Alertmanager must send
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Print one JSON object per event (alert received, investigation started, joined,
    /// closed, notified or quiet)
    #[arg(long)]
    pub json: bool,
    /// Show the inbox in the terminal instead of printing events
    #[arg(long, conflicts_with = "json")]
    pub tui: bool,
    /// The inbox log (default: $XDG_STATE_HOME/triage/watch/inbox.jsonl)
    #[arg(long, value_name = "FILE")]
    pub inbox: Option<PathBuf>,
}

impl WatchArgs {
    /// The flags as the watch reads them.
    pub fn flags(&self) -> crate::watch::Flags {
        crate::watch::Flags {
            listen: self.listen.clone(),
            notify_webhooks: self.notify_webhook.clone(),
            notify_command: self.notify_command.clone(),
            threshold: self.threshold,
            token_file: self.token_file.clone(),
            json: self.json,
            print: !self.tui,
            inbox: self.inbox.clone(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct McpArgs {
    /// Serve Streamable HTTP at http://ADDR/mcp (a loopback address such as
    /// 127.0.0.1:8765) instead of stdio
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// Serve the index as it is, without bringing it up to date in the background
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Do not check the cluster
    #[arg(long)]
    pub no_cluster: bool,
    /// Do not send the two small requests that check the model endpoint
    #[arg(long)]
    pub no_model: bool,
}

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download the sentence model (all-MiniLM-L6-v2, 90 MB) where triage finds it
    Fetch {
        /// A base URL (file names are appended) or a folder to copy from
        #[arg(long, value_name = "URL|DIR")]
        from: Option<String>,
        /// Where to put it (default: the cache folder triage searches)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Fetch again even when a model is there
        #[arg(long)]
        force: bool,
    },
    /// Say which embedding model triage uses and where it looked
    Path,
}

#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// Withdraw trust instead: only the file's repository facts apply again
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {}

#[derive(Debug, Clone, Args)]
pub struct AskArgs {
    /// The question, alert text or issue; text piped on stdin is added to it
    /// (`kubectl describe pod X | triage ask "why?"`)
    pub question: Vec<String>,
    /// Print Events as JSONL (one object per line with a `type` field)
    #[arg(long)]
    pub json: bool,
    /// Allow approved write actions (read-only by default)
    #[arg(long)]
    pub write: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Build the demo repository again from scratch
    #[arg(long)]
    pub fresh: bool,
    /// Print the demo investigation instead of opening the TUI
    #[arg(long)]
    pub headless: bool,
    /// With --headless: print Events as JSONL
    #[arg(long, requires = "headless")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub command: SessionsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Every recorded session, newest first
    List {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// A session's events, tool calls and model requests as text
    Show {
        /// Session id (or a unique prefix)
        id: String,
    },
    /// A session's raw JSONL trace on stdout
    Export {
        /// Session id (or a unique prefix)
        id: String,
    },
}

#[derive(Debug, Clone, Args)]
pub struct IssueArgs {
    /// File holding the issue text; `-` (or nothing) reads stdin
    #[arg(long, value_name = "FILE")]
    pub text_file: Option<PathBuf>,
    /// The issue text itself (instead of --text-file)
    #[arg(conflicts_with = "text_file")]
    pub text: Vec<String>,
    /// How many files to return
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Signals: fulltext,files,structure,history,graph,questions,llm_questions,vectors,
    /// `default` or `all`
    #[arg(long, default_value = "default")]
    pub signals: String,
    /// Rerank the candidates with the configured model (from their signatures and doc
    /// comments) and name the functions to look at; the offline ranking is kept beside it
    #[arg(long)]
    pub llm: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RelatedArgs {
    /// A file, relative to the repository root
    pub path: String,
    /// How many files to return
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Hops to walk
    #[arg(long, default_value_t = 2)]
    pub hops: usize,
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct IndexArgs {
    /// Print a JSON summary on stdout
    #[arg(long)]
    pub json: bool,
    /// Skip the embedding phase (lexical index only)
    #[arg(long)]
    pub no_embed: bool,
    /// Drop the existing index and build it again
    #[arg(long)]
    pub rebuild: bool,
    /// Then have the configured model's fast tier write questions for definitions that
    /// lack them (cached by content, within [llm] questions_max_requests)
    #[arg(long)]
    pub llm_questions: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// What to look for: words, identifiers, an error message
    #[arg(required = true)]
    pub query: Vec<String>,
    /// How many files to return
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Print JSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KubeArgs {
    #[command(subcommand)]
    pub command: KubeCommand,
}

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Scan the cluster for findings, most severe first
    Scan {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
        /// Include the cluster graph (nodes, edges, events) in the JSON
        #[arg(long)]
        graph: bool,
        /// Do not map workloads to files of the repository
        #[arg(long)]
        no_links: bool,
        /// A rollout (new ReplicaSet) this recent is reported: 30m, 1h30m, 2d
        #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = super::duration::parse_duration)]
        recent: std::time::Duration,
    },
    /// Record a versioned snapshot: objects, events, bounded log tails (never secret data)
    Record {
        /// Where to write the snapshot
        #[arg(long, value_name = "FILE")]
        output_file: PathBuf,
    },
    /// Serve a snapshot on 127.0.0.1 in the shape of the Kubernetes API (read-only)
    Serve {
        /// The snapshot to serve
        file: PathBuf,
        /// Port on 127.0.0.1 (default: a free one, printed on start)
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Say whether the cluster answers
    Status,
    /// Print objects like `kubectl get`: a table, or -o json|yaml|wide|name
    Get {
        /// Resource type: pods, deploy, svc, …
        resource: String,
        /// One object by name
        name: Option<String>,
        /// Label selector
        #[arg(short = 'l', long)]
        selector: Option<String>,
        /// Output format (default: a table)
        #[arg(short = 'o', long, value_enum)]
        output: Option<GetOutput>,
    },
    /// Print a bounded log tail of a pod's container
    Logs {
        pod: String,
        /// Container (default: the only one)
        #[arg(short = 'c', long)]
        container: Option<String>,
        /// The previous instance of the container
        #[arg(short = 'p', long)]
        previous: bool,
        /// Lines from the end (default: [kube] log_tail_lines; -1 for all)
        #[arg(long, value_name = "LINES", allow_negative_numbers = true)]
        tail: Option<i64>,
        /// Only lines newer than this: 10m, 1h30m
        #[arg(long, value_name = "DURATION", value_parser = super::duration::parse_duration)]
        since: Option<std::time::Duration>,
        /// Keep printing new lines until interrupted
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Print events, newest first
    Events {
        /// Only events about this object: KIND/NAME, e.g. pod/web-0
        #[arg(long = "for", value_name = "KIND/NAME")]
        about: Option<String>,
    },
}

/// `kube get -o`: kubectl's output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetOutput {
    Json,
    Yaml,
    /// The table with every column
    Wide,
    /// KIND/NAME per line
    Name,
}

#[derive(Debug, Args)]
pub struct MemoryArgs {
    #[command(subcommand)]
    pub command: MemoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Every memory, newest first
    List {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// One memory in full
    Show { id: String },
    /// Remember something
    Add {
        /// procedural, episodic or correction
        #[arg(long, default_value = "correction")]
        kind: String,
        /// Where it applies: alert=, service=, namespace=, cluster=, paths= (repeatable)
        #[arg(long = "scope", value_name = "KEY=VALUE")]
        scope: Vec<String>,
        /// The memory itself
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Change a memory's text, kind, scope, status or confidence
    Edit {
        id: String,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// Replaces the scope when given (repeatable)
        #[arg(long = "scope", value_name = "KEY=VALUE")]
        scope: Vec<String>,
        /// proposed, active or retired
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        confidence: Option<f32>,
    },
    /// Delete a memory
    Forget { id: String },
    /// Every memory as JSON on stdout
    Export,
    /// Add or replace memories from a JSON file written by `export`; or propose episodes
    /// from past incidents: a Slack export's incident threads (--slack) and Markdown
    /// postmortems (--postmortem), each kept only once a person confirms it
    Import {
        /// A JSON file written by `triage memory export`
        #[arg(conflicts_with_all = ["slack", "postmortem"])]
        file: Option<std::path::PathBuf>,
        /// A Slack workspace export: its folder or its zip (repeatable)
        #[arg(long, value_name = "DIR|ZIP")]
        slack: Vec<std::path::PathBuf>,
        /// Only these channels of the Slack export (repeatable)
        #[arg(long, value_name = "NAME", requires = "slack")]
        channel: Vec<String>,
        /// Markdown postmortems: a file or a folder (repeatable)
        #[arg(long, value_name = "PATH")]
        postmortem: Vec<std::path::PathBuf>,
        /// Print the import report as JSON
        #[arg(long)]
        json: bool,
    },
    /// Keep proposed memories (imported or suggested): recall finds them from now on,
    /// and checks them before relying on them
    Confirm {
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Bring the repository's runbooks (`memory.runbooks`) in as procedural memories
    Sync,
}
