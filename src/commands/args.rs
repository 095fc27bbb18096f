//! Command-line interface: one clap tree, every command documented in one line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "triage",
    version,
    about = "A terminal copilot for engineers on call and for repo triage",
    long_about = None,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// For the TUI (no command): which cluster to read
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
}

impl GlobalArgs {
    /// The plain workspace choice the layers below take.
    pub fn workspace(&self, write: bool) -> crate::agent::open::WorkspaceChoice {
        crate::agent::open::WorkspaceChoice {
            repo: self.repo.clone(),
            index_dir: self.index_dir.clone(),
            config: self.config.clone(),
            write,
        }
    }
}

/// Which cluster to read: the user's kubeconfig like kubectl, or a recorded snapshot.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Kubeconfig context (default: the current context)
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace)
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// All namespaces
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Read a recorded snapshot instead of a live cluster
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
}

impl ClusterArgs {
    /// The plain choice the layers below take.
    pub fn choice(&self) -> crate::kube::ClusterChoice {
        crate::kube::ClusterChoice {
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
    /// Trust this repository's .triage.toml: its model, cluster, memory and agent settings
    Trust(TrustArgs),
    /// The effective configuration and where each key came from
    Config(ConfigArgs),
    /// Serve triage's read-only tools to other agents over the Model Context Protocol
    Mcp(McpArgs),
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
    #[command(flatten)]
    pub cluster: ClusterArgs,
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
    /// The question, alert text or issue
    #[arg(required = true)]
    pub question: Vec<String>,
    /// Print Events as JSONL (one object per line with a `type` field)
    #[arg(long)]
    pub json: bool,
    /// Allow approved write actions (read-only by default)
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
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
    /// Signals: fulltext,structure,history,graph,questions,llm_questions,vectors,
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

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Score issue → files ranking on a JSONL suite ({"repo","rev","query","gold_files"})
    Localize {
        /// The suite file
        suite: PathBuf,
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
        /// Signals to use: fulltext,structure,history,graph,questions,llm_questions,vectors,
        /// default (what `triage issue` runs) or all
        #[arg(long, default_value = "default")]
        signals: String,
        /// Skip embeddings even when a model is configured
        #[arg(long)]
        no_embed: bool,
        /// Also score the configured model's rerank of each ranking (as `issue --llm`)
        #[arg(long)]
        llm: bool,
        /// Have the fast model write questions into each instance's index first (as
        /// `index --llm-questions`); score them with the `llm_questions` signal
        #[arg(long)]
        llm_questions: bool,
        /// Also write each instance's raw evidence as JSON lines to FILE: every
        /// candidate's score without vectors, and the nearest chunks with their cosine
        /// distances, so fusion settings can be compared without re-indexing
        #[arg(long, value_name = "FILE")]
        evidence: Option<PathBuf>,
        /// Score only one half of a mined suite: tune or held-out
        #[arg(long, value_name = "SPLIT")]
        split: Option<String>,
    },
    /// Replay incident scenarios through the agent and score the answers (DIR/*/scenario.toml)
    Incidents {
        /// A directory of scenarios (or one scenario directory)
        dir: PathBuf,
        /// off: no memories; warm: the scenarios' prior memories, a first pass, then the repeat
        #[arg(long, value_enum, default_value = "off")]
        memory: MemoryModeArg,
        /// Use the offline planner even when a model is configured
        #[arg(long)]
        offline: bool,
        /// Which half of DIR/split.toml to run: tune, holdout, or all (both, each reported)
        #[arg(long, value_enum, default_value = "all")]
        split: SplitArg,
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Mine a suite from the repository's own history (fix commits → changed files)
    Mine {
        /// Where to write the JSONL suite
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Most instances to write
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

/// How `eval incidents` uses memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MemoryModeArg {
    /// No memories at all.
    Off,
    /// The scenario's prior memories, a first pass, then the repeat pass.
    Warm,
}

/// Which half of an incident suite `eval incidents` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    Tune,
    Holdout,
    All,
}

impl From<SplitArg> for crate::eval::incidents::Split {
    fn from(s: SplitArg) -> Self {
        match s {
            SplitArg::Tune => Self::Tune,
            SplitArg::Holdout => Self::Holdout,
            SplitArg::All => Self::All,
        }
    }
}

impl From<MemoryModeArg> for crate::eval::incidents::MemoryMode {
    fn from(m: MemoryModeArg) -> Self {
        match m {
            MemoryModeArg::Off => Self::Off,
            MemoryModeArg::Warm => Self::Warm,
        }
    }
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
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
        /// Include the cluster graph (nodes, edges, events) in the JSON
        #[arg(long)]
        graph: bool,
        /// Do not map workloads to files of the repository
        #[arg(long)]
        no_links: bool,
        /// A rollout (new ReplicaSet) this many minutes old or newer is reported
        #[arg(long, value_name = "MINUTES", default_value_t = 60)]
        recent: i64,
    },
    /// Record a versioned snapshot: objects, events, bounded log tails (never secret data)
    Record {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Where to write the snapshot
        #[arg(short = 'o', long, value_name = "FILE")]
        output: PathBuf,
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
    Status {
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Print objects as JSON, like `kubectl get -o json`
    Get {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Resource type: pods, deploy, svc, …
        resource: String,
        /// One object by name
        name: Option<String>,
        /// Label selector
        #[arg(short = 'l', long)]
        selector: Option<String>,
    },
    /// Print a bounded log tail of a pod's container
    Logs {
        #[command(flatten)]
        cluster: ClusterArgs,
        pod: String,
        /// Container (default: the only one)
        #[arg(short = 'c', long)]
        container: Option<String>,
        /// The previous instance of the container
        #[arg(short = 'p', long)]
        previous: bool,
    },
    /// Print events, newest first
    Events {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Only events about this object: KIND/NAME, e.g. pod/web-0
        #[arg(long = "for", value_name = "KIND/NAME")]
        about: Option<String>,
    },
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
    /// Add or replace memories from a JSON file written by `export`
    Import { file: std::path::PathBuf },
    /// Bring the repository's runbooks (`memory.runbooks`) in as procedural memories
    Sync,
}
