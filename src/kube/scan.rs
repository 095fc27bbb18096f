//! `scan`: read the cluster (live or replayed) into a snapshot, build the graph, run the
//! analyzers. The analysis half is a pure function of a snapshot.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{KubeError, ReadError};
use super::findings::{self, AnalyzeOptions, Finding};
use super::graph::{self, Graph};
use super::links::WorkloadLink;
use super::record;
use super::snapshot::Snapshot;
use super::source::{ClusterSource, ClusterStatus, Scope};
use super::state::ClusterState;

/// A snapshot, understood.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub state: ClusterState,
    pub graph: Graph,
    pub findings: Vec<Finding>,
}

/// Parse, build the graph, run every analyzer. No I/O.
pub fn analyze_snapshot(snapshot: &Snapshot, opts: &AnalyzeOptions) -> Analysis {
    let state = ClusterState::from_snapshot(snapshot);
    let graph = graph::build(&state);
    let findings = findings::analyze(&state, &graph, opts);
    Analysis {
        state,
        graph,
        findings,
    }
}

/// What `triage kube scan` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub status: ClusterStatus,
    /// Where the data came from (context and kubeconfig, or the replayed file).
    pub source: String,
    pub scope: Scope,
    /// The time the findings are as of (a replay's recording time).
    pub as_of: DateTime<Utc>,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// Reads that failed (forbidden types, timeouts); the rest was analyzed.
    pub errors: Vec<ReadError>,
    /// Objects that could not be parsed and were skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Objects read, by kind.
    pub counts: BTreeMap<String, usize>,
    /// Workloads mapped to the repository.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<WorkloadLink>,
    /// The cluster graph (only with `--graph`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
    /// The same graph, always kept for callers (not serialized).
    #[serde(skip)]
    pub full_graph: Graph,
}

impl ScanReport {
    fn unreachable(source: &ClusterSource, scope: &Scope, server: String, reason: String) -> Self {
        Self {
            status: ClusterStatus::Unreachable { server, reason },
            source: source.origin().to_string(),
            scope: scope.clone(),
            as_of: source.now(),
            findings: Vec::new(),
            errors: Vec::new(),
            problems: Vec::new(),
            counts: BTreeMap::new(),
            links: Vec::new(),
            graph: None,
            full_graph: Graph::default(),
        }
    }
}

/// Read `scope` and analyze it. An unreachable cluster is a report with that status, not
/// an error, so callers can carry on with what does not need the cluster.
pub async fn scan(source: &ClusterSource, scope: &Scope) -> Result<ScanReport, KubeError> {
    scan_with(source, scope, &AnalyzeOptions::default()).await
}

pub async fn scan_with(
    source: &ClusterSource,
    scope: &Scope,
    opts: &AnalyzeOptions,
) -> Result<ScanReport, KubeError> {
    // A watched picture answers without listing again.
    let live = super::live::LivePicture::of(source).filter(|l| l.covers(scope));
    let snapshot = match &live {
        Some(picture) => picture.snapshot(source).await,
        None => match record::record(source, scope).await {
            Ok(s) => s,
            Err(KubeError::Unreachable { server, reason }) => {
                return Ok(ScanReport::unreachable(source, scope, server, reason));
            }
            Err(e) => return Err(e),
        },
    };
    // The analysis is CPU-bound: keep it off the async workers.
    let server = source.client().server().to_string();
    let mut origin = source.origin().to_string();
    if let Some(picture) = &live {
        origin.push_str(&format!(
            "; kept current by watches, data {} s old",
            picture.age().as_secs()
        ));
    }
    let (scope, opts) = (scope.clone(), opts.clone());
    let work = tokio::task::spawn_blocking({
        let server = server.clone();
        move || {
            let report = build_report(server, origin, scope, &snapshot, &opts);
            drop_later(snapshot);
            report
        }
    });
    match work.await {
        Ok(report) => Ok(report),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(KubeError::Client {
            server,
            message: format!("the analysis did not finish: {e}"),
        }),
    }
}

/// Free a large value on another thread, off the path of the answer.
fn drop_later<T: Send + 'static>(value: T) {
    // If no thread can be started the value comes back inside the error and is freed here.
    let _ = std::thread::Builder::new()
        .name("triage-free".into())
        .spawn(move || drop(value));
}

/// The report for a snapshot read from `source`.
pub fn report_for(
    source: &ClusterSource,
    scope: &Scope,
    snapshot: &Snapshot,
    opts: &AnalyzeOptions,
) -> ScanReport {
    build_report(
        source.client().server().to_string(),
        source.origin().to_string(),
        scope.clone(),
        snapshot,
        opts,
    )
}

fn build_report(
    server: String,
    origin: String,
    scope: Scope,
    snapshot: &Snapshot,
    opts: &AnalyzeOptions,
) -> ScanReport {
    let mut analysis = analyze_snapshot(snapshot, opts);
    let problems = std::mem::take(&mut analysis.state.problems);
    drop_later(analysis.state);
    let version = snapshot
        .server_version
        .as_ref()
        .and_then(|v| v.get("gitVersion"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let mut counts = BTreeMap::new();
    for node in &analysis.graph.nodes {
        *counts.entry(node.id.kind.clone()).or_insert(0) += 1;
    }
    counts.insert("Event".into(), analysis.graph.events.len());
    ScanReport {
        status: ClusterStatus::Reachable { server, version },
        source: origin,
        scope,
        as_of: snapshot.recorded_at,
        findings: analysis.findings,
        errors: snapshot.errors.clone(),
        problems,
        counts,
        links: Vec::new(),
        graph: None,
        full_graph: analysis.graph,
    }
}
