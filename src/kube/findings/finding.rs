//! A finding: its severity and kind, the resource, the evidence and the command a person
//! would run; and the options the analyzers take.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::kube::state::ResourceRef;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        })
    }
}

/// What a finding is about. The order is the tie-break after severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    NodeNotReady,
    CrashLoopBackOff,
    OomKilled,
    ImagePullBackOff,
    ContainerConfigError,
    Pending,
    RolloutStuck,
    UnavailableReplicas,
    ServiceNoEndpoints,
    JobFailed,
    CronJobMissed,
    PvcPending,
    ProbeFailing,
    RestartSpike,
    NodePressure,
    HpaAtMax,
    RecentRollout,
}

impl FindingKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingKind::NodeNotReady => "node_not_ready",
            FindingKind::CrashLoopBackOff => "crash_loop_back_off",
            FindingKind::OomKilled => "oom_killed",
            FindingKind::ImagePullBackOff => "image_pull_back_off",
            FindingKind::ContainerConfigError => "container_config_error",
            FindingKind::Pending => "pending",
            FindingKind::RolloutStuck => "rollout_stuck",
            FindingKind::UnavailableReplicas => "unavailable_replicas",
            FindingKind::ServiceNoEndpoints => "service_no_endpoints",
            FindingKind::JobFailed => "job_failed",
            FindingKind::CronJobMissed => "cron_job_missed",
            FindingKind::PvcPending => "pvc_pending",
            FindingKind::ProbeFailing => "probe_failing",
            FindingKind::RestartSpike => "restart_spike",
            FindingKind::NodePressure => "node_pressure",
            FindingKind::HpaAtMax => "hpa_at_max",
            FindingKind::RecentRollout => "recent_rollout",
        }
    }
}

/// One thing worth a look.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    /// The workload (or node, service, …) the finding is about.
    pub resource: ResourceRef,
    pub summary: String,
    pub evidence: Vec<String>,
    /// What a person would run to see it.
    pub command: String,
    pub observed_at: DateTime<Utc>,
    /// The pods it concerns, for pod-level findings grouped by workload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
}

/// Thresholds of the analyzers.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// A new ReplicaSet younger than this is a recent rollout.
    pub recent_rollout: Duration,
    /// This many restarts …
    pub restart_spike_threshold: i32,
    /// … with the last one within this window is a restart spike.
    pub restart_spike_window: Duration,
    /// Pending longer than this is an error rather than a warning.
    pub pending_grace: Duration,
    /// Lines of log in an excerpt.
    pub log_excerpt_lines: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            recent_rollout: Duration::minutes(60),
            restart_spike_threshold: 3,
            restart_spike_window: Duration::minutes(60),
            pending_grace: Duration::minutes(5),
            log_excerpt_lines: 5,
        }
    }
}
