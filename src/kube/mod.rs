//! Kubernetes context: a read-only client, the cluster graph, findings, record and replay.
//!
//! - [`ClusterSource`] connects to a live cluster (the user's kubeconfig, like kubectl, or
//!   the in-cluster service account) or serves a recorded [`Snapshot`] on loopback through
//!   the [`ReplayServer`]. Either way the same client reads it, and every request passes
//!   the [`RequestGuard`], which lets only reads through unless an approved action runs.
//! - [`scan`] reads a scope into a snapshot, builds the [`Graph`] and runs the analyzers
//!   ([`findings`]); [`analyze_snapshot`] is the pure half.
//! - [`link_workloads`] maps workloads to the files of the repository and their recent
//!   commits.

pub mod client;
pub mod cron;
pub mod error;
pub mod findings;
pub mod follow;
pub mod graph;
pub mod guard;
pub mod ingress_paths;
pub mod kubeconfig;
pub mod links;
pub mod live;
pub mod logs;
pub mod names;
pub mod record;
pub mod replay;
pub mod replay_watch;
pub mod resources;
pub mod scan;
pub mod selector;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod table;

pub use client::{ClientOptions, KubeClient};
pub use error::{KubeError, ReadError, ReadErrorKind};
pub use findings::{AnalyzeOptions, Finding, FindingKind, Severity};
pub use graph::{Edge, Graph, Layer, Relation};
pub use guard::{Approval, ApprovedAction, GuardRefused, RequestGuard};
pub use links::{WorkloadLink, link_workloads};
pub use logs::LogOptions;
pub use record::record;
pub use replay::{Fault, RecordedRequest, ReplayOptions, ReplayServer};
pub use scan::{Analysis, ScanReport, analyze_snapshot, scan};
pub use snapshot::Snapshot;
pub use source::{ClusterChoice, ClusterSource, ClusterStatus, EventSummary, Scope};
pub use state::ResourceRef;
