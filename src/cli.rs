//! Command-line interface: one clap tree, every command documented in one line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    Kube(crate::kube::cli::KubeArgs),
    /// Open the TUI on a bundled demo: a small repo and a replayed incident, offline
    Demo(DemoArgs),
    /// Ask the agent one question and print its investigation (headless; --json for JSONL)
    Ask(AskArgs),
    /// Past sessions and their lineage: list, show, export
    Sessions(SessionsArgs),
    /// What triage learned: list, show, add, edit, forget, export, import
    Memory(crate::memory::cli::MemoryArgs),
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
        memory: crate::eval_incidents::MemoryMode,
        /// Use the offline planner even when a model is configured
        #[arg(long)]
        offline: bool,
        /// Which half of DIR/split.toml to run: tune, holdout, or all (both, each reported)
        #[arg(long, value_enum, default_value = "all")]
        split: crate::eval_incidents::Split,
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
