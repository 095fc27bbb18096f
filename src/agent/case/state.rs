//! What the offline planner has learned, kept on the investigation across budget stops:
//! plain data, below the executor (nothing here runs a tool).

use super::target::{Hypothesis, Target};
use super::{alert, diagnosis, world};
use crate::index::localize::RankedFile;
use crate::kube::{Finding, WorkloadLink};
use crate::protocol::Evidence;

/// What the planner has learned so far.
#[derive(Debug, Clone, Default)]
pub struct PlannerState {
    /// Workloads the engineer said to leave alone.
    pub excluded: Vec<String>,
    /// A workload the engineer pointed at.
    pub focus: Option<String>,
    pub findings: Vec<Finding>,
    pub links: Vec<WorkloadLink>,
    pub target: Option<Target>,
    pub hypothesis: Option<Hypothesis>,
    /// Issue playbook: ranked files.
    pub files: Vec<RankedFile>,
    pub notes: Vec<String>,
    pub cluster_unavailable: Option<String>,
    /// Recalled memories that could not be checked (listed, not relied on).
    pub memories: Vec<Evidence>,
    /// Memories checked at the start and found wrong today: (id, what the check saw).
    pub rejected: Vec<(String, String)>,
    /// Commands a correction kept back: (command, memory id, what it says).
    pub withheld: Vec<(String, String, String)>,
    /// Hyphenated names the request mentions (`checkout-api`), workloads or not.
    pub request_names: Vec<String>,
    /// Whether recalled memories were checked (once per investigation).
    pub memory_checked: bool,
    /// The memory the answer came from, when one held.
    pub from_memory: Option<String>,
    /// The alert as parsed.
    pub alert: Option<alert::Alert>,
    /// Everything the walk read.
    pub world: world::World,
    /// The timeline, the ranked hypotheses and the confidence.
    pub diagnosis: Option<diagnosis::Diagnosis>,
}
