//! The `eval` command line: localize, incidents, mine and the evidence runs.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

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
        /// Also write each instance's raw evidence as JSON lines to FILE: each signal's
        /// list, the full-text chunks, the weights, every file's role and past fixes,
        /// and the nearest chunks with their cosine distances, so fusion settings can be
        /// compared without re-indexing
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
        /// Ask each scenario the way `triage watch` asks about its Alertmanager
        /// notification (the request built from the alerts' labels)
        #[arg(long)]
        as_watch: bool,
        /// Fit the confidence curve on the tuning half's answers and write the fit (the
        /// weights and the data) to FILE
        #[arg(long, value_name = "FILE")]
        fit: Option<PathBuf>,
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
