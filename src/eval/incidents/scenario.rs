//! The scenario file, `<name>/scenario.toml`: the alert, the cluster snapshot, the
//! repository, the expected root cause and prior memories. Unknown keys are errors, and
//! every error names the file (and, through the TOML parser, the line and key).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::alert::Notification;
use super::repo::RepoSpec;
use crate::memory::{MemoryKind, Scope};

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    /// What really happened, for people reading the suite; never shown to the agent.
    #[serde(default)]
    pub summary: String,
    /// The kind of incident; the split is balanced over families.
    #[serde(default)]
    pub family: Option<Family>,
    /// What the engineer types. With `notification`, it comes first and the pasted alert
    /// follows.
    #[serde(default)]
    pub alert: Option<String>,
    /// The alert as Alertmanager sent it.
    #[serde(default)]
    pub notification: Option<Notification>,
    pub snapshot: PathBuf,
    /// The namespace the engineer's kube context points at (default: the snapshot's
    /// only namespace, or all of them).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The repository the engineer is in: a path (relative to the scenario), or a
    /// `[repo]` table of commits built with git at eval time. Default: the bundled demo
    /// repository.
    #[serde(default)]
    pub repo: Option<RepoSpec>,
    pub expected: Expected,
    #[serde(default)]
    pub memories: Vec<PriorMemory>,
}

impl Scenario {
    /// What `triage ask` receives: the typed line, the pasted alert, or both.
    pub fn prompt(&self) -> String {
        let pasted = self.notification.as_ref().map(Notification::render);
        match (&self.alert, pasted) {
            (Some(typed), Some(alert)) => format!("{typed}\n\n{alert}"),
            (Some(typed), None) => typed.clone(),
            (None, Some(alert)) => alert,
            (None, None) => String::new(),
        }
    }
}

/// What a right answer says.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Name of the object the root cause is about; the stated cause must name it (or one
    /// of `aliases`).
    pub resource: String,
    /// Other names that identify the same culprit (the Deployment of a culprit Service,
    /// the node group of a culprit node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The category of the root cause; the stated cause must use one of its words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// Each must appear in the stated cause; `a|b` accepts either.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Whether proposing a change is right (false: leave it alone).
    #[serde(default = "yes")]
    pub write_actions: bool,
}

fn yes() -> bool {
    true
}

/// The families of incidents the suite covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    Rollouts,
    Probes,
    Config,
    Storage,
    Scheduling,
    Evictions,
    OomCpu,
    Autoscaling,
    Networking,
    Dependencies,
    Jobs,
    CloudPermissions,
    Certificates,
    Images,
    NoisyNeighbours,
    NothingWrong,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Rollouts => "rollouts",
            Family::Probes => "probes",
            Family::Config => "config",
            Family::Storage => "storage",
            Family::Scheduling => "scheduling",
            Family::Evictions => "evictions",
            Family::OomCpu => "oom-cpu",
            Family::Autoscaling => "autoscaling",
            Family::Networking => "networking",
            Family::Dependencies => "dependencies",
            Family::Jobs => "jobs",
            Family::CloudPermissions => "cloud-permissions",
            Family::Certificates => "certificates",
            Family::Images => "images",
            Family::NoisyNeighbours => "noisy-neighbours",
            Family::NothingWrong => "nothing-wrong",
        }
    }
}

/// Root-cause categories. Each is scored by words a stated cause of that kind uses
/// (matched at the start of a word, case-insensitive); the scenario's keywords then
/// pin down the specifics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    BadRollout,
    Probe,
    ConfigValue,
    MissingReference,
    StorageClass,
    VolumeFull,
    VolumeAttach,
    NodeFailure,
    Taint,
    Affinity,
    InsufficientResources,
    Eviction,
    MemoryLimit,
    CpuThrottling,
    AutoscalerLimit,
    MetricsUnavailable,
    NetworkPolicy,
    ServiceSelector,
    ServicePort,
    Dns,
    IngressBackend,
    Dependency,
    JobFailure,
    CronjobNotRunning,
    CloudPermissions,
    Certificate,
    ImagePull,
    NoisyNeighbour,
    Expected,
}

impl Cause {
    /// Words (or word beginnings) that state a cause of this kind.
    #[allow(clippy::too_many_lines)] // one word list per cause: a table, not logic
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Cause::BadRollout => &[
                "rollout",
                "rolled out",
                "roll back",
                "rollback",
                "release",
                "new version",
                "new revision",
                "revision",
                "deploy of",
                "deployed",
            ],
            Cause::Probe => &["probe", "liveness", "readiness", "startup"],
            Cause::ConfigValue => &[
                "config",
                "setting",
                "value",
                "environment variable",
                "env var",
                "flag",
            ],
            Cause::MissingReference => &[
                "missing",
                "not found",
                "no such",
                "does not exist",
                "doesn't exist",
                "couldn't find",
                "cannot find",
                "renamed",
                "removed",
                "deleted",
            ],
            Cause::StorageClass => &["storageclass", "storage class", "provision"],
            Cause::VolumeFull => &[
                "full",
                "no space",
                "out of space",
                "disk space",
                "filling",
                "capacity",
            ],
            Cause::VolumeAttach => &[
                "multi-attach",
                "attach",
                "readwriteonce",
                "rwo",
                "already used",
                "in use",
            ],
            Cause::NodeFailure => &[
                "notready",
                "not ready",
                "unreachable",
                "node down",
                "node failure",
                "kubelet",
                "lost",
            ],
            Cause::Taint => &["taint", "toleration", "tolerate"],
            Cause::Affinity => &[
                "affinity",
                "anti-affinity",
                "nodeselector",
                "node selector",
                "topology",
                "selector",
            ],
            Cause::InsufficientResources => &[
                "insufficient",
                "not enough",
                "no room",
                "capacity",
                "request",
                "room",
            ],
            Cause::Eviction => &["evict", "pressure"],
            Cause::MemoryLimit => &["oom", "out of memory", "memory"],
            Cause::CpuThrottling => &["throttl", "cpu limit", "cpu quota", "cfs"],
            Cause::AutoscalerLimit => &["max", "ceiling", "upper bound", "cap"],
            Cause::MetricsUnavailable => &["metrics", "metrics-server", "metrics api"],
            Cause::NetworkPolicy => &["networkpolic", "network polic", "netpol", "policy"],
            Cause::ServiceSelector => &["selector", "label", "no endpoints", "endpoints"],
            Cause::ServicePort => &["targetport", "target port", "port"],
            Cause::Dns => &["dns", "coredns", "resolv", "name resolution", "lookup"],
            Cause::IngressBackend => &["ingress", "backend"],
            Cause::Dependency => &[
                "dependency",
                "downstream",
                "upstream",
                "unreachable",
                "unavailable",
                "down",
                "timeout",
                "timing out",
                "timed out",
                "refused",
                "outage",
                "lock",
                "blocked",
            ],
            Cause::JobFailure => &["fail", "error", "exception", "crash", "exit"],
            Cause::CronjobNotRunning => &[
                "suspend",
                "not scheduled",
                "skipp",
                "concurrency",
                "not run",
                "missed",
                "stuck",
                "hung",
                "still running",
            ],
            Cause::CloudPermissions => &[
                "permission",
                "accessdenied",
                "access denied",
                "not authorized",
                "iam",
                "role",
                "workload identity",
                "irsa",
                "forbidden",
                "403",
            ],
            Cause::Certificate => &["certificate", "cert", "tls", "x509", "expired", "acme"],
            Cause::ImagePull => &[
                "image",
                "pull",
                "registry",
                "rate limit",
                "toomanyrequests",
                "unauthorized",
            ],
            Cause::NoisyNeighbour => &[
                "noisy",
                "neighbo",
                "same node",
                "contention",
                "starv",
                "co-located",
                "colocated",
                "shares the node",
                "sharing the node",
            ],
            Cause::Expected => &[
                "expected",
                "nothing to change",
                "no action",
                "leave it",
                "maintenance",
                "planned",
                "benign",
                "false alarm",
                "flapping",
                "healthy",
            ],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorMemory {
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub confidence: Option<f32>,
    #[serde(default)]
    pub source: Option<String>,
    /// What an episode asserts, checkable with one read (as triage records them).
    #[serde(default)]
    pub claim: Option<crate::memory::Claim>,
}

/// Read every `*/scenario.toml` under `dir` (or `dir` itself when it is one scenario).
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Scenario)>> {
    let files = scenario_files(dir)?;
    let scenarios: Vec<(PathBuf, Scenario)> = files
        .into_iter()
        .map(|f| load_file(&f).map(|s| (f, s)))
        .collect::<Result<_>>()?;
    for (i, (f, s)) in scenarios.iter().enumerate() {
        if let Some((g, _)) = scenarios[..i].iter().find(|(_, o)| o.name == s.name) {
            bail!(
                "{}: name {:?} is already used by {}",
                f.display(),
                s.name,
                g.display()
            );
        }
    }
    Ok(scenarios)
}

fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if dir.join("scenario.toml").is_file() {
        files.push(dir.join("scenario.toml"));
    } else {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for e in entries.flatten() {
            let f = e.path().join("scenario.toml");
            if f.is_file() {
                files.push(f);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!(
            "no scenarios in {}: expected <name>/scenario.toml files",
            dir.display()
        );
    }
    Ok(files)
}

/// Read and check one scenario file; relative paths become relative to it.
pub fn load_file(f: &Path) -> Result<Scenario> {
    let text =
        std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
    let mut s: Scenario = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid scenario", f.display()))?;
    let base = f.parent().unwrap_or(Path::new("."));
    s.snapshot = base.join(&s.snapshot);
    if !s.snapshot.is_file() {
        bail!(
            "{}: snapshot = {:?}: no such file ({})",
            f.display(),
            s.snapshot.file_name().unwrap_or_default(),
            s.snapshot.display()
        );
    }
    if let Some(RepoSpec::Path(p)) = &mut s.repo {
        *p = base.join(&*p);
        if !p.is_dir() {
            bail!("{}: repo = {:?}: no such directory", f.display(), p);
        }
    }
    if let Some(RepoSpec::Described(r)) = &s.repo {
        r.check()
            .map_err(|e| anyhow::anyhow!("{}: [repo]: {e}", f.display()))?;
    }
    if let Some(n) = &s.notification {
        n.check()
            .map_err(|e| anyhow::anyhow!("{}: [notification]: {e}", f.display()))?;
    }
    if s.alert.as_deref().is_none_or(|a| a.trim().is_empty()) && s.notification.is_none() {
        bail!(
            "{}: needs `alert` (what the engineer types) or a [notification] (the alert as Alertmanager sent it)",
            f.display()
        );
    }
    for (i, m) in s.memories.iter().enumerate() {
        MemoryKind::parse(&m.kind)
            .map_err(|e| anyhow::anyhow!("{}: memories[{i}].kind: {e}", f.display()))?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_scenario_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("x");
        std::fs::create_dir(&s).unwrap();
        std::fs::write(s.join("scenario.toml"), "name = \"x\"\nalert = 1\n").unwrap();
        let e = format!("{:#}", load_dir(dir.path()).unwrap_err());
        assert!(e.contains("scenario.toml is not a valid scenario"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = load_dir(empty.path()).unwrap_err().to_string();
        assert!(e.contains("no scenarios"), "{e}");
    }

    #[test]
    fn every_family_and_cause_round_trips_through_its_name() {
        let f: Family = toml::Value::String("noisy-neighbours".into())
            .try_into()
            .unwrap();
        assert_eq!(f.as_str(), "noisy-neighbours");
        let c: Cause = toml::Value::String("cronjob-not-running".into())
            .try_into()
            .unwrap();
        assert!(c.words().contains(&"suspend"));
    }
}
