//! The offline planner: triage's embedded default. With no model configured it runs the
//! same playbooks, deterministically, over the same tools, and produces the same kinds of
//! checkpoints and a plain answer with a confidence. It is a state machine over
//! `Investigation::planner_step`, so a budget stop resumes where it left off.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::exec::{Exec, Stop};
use super::session::answer_from;
use crate::protocol::{Answer, Event, Evidence, EvidenceKind, Playbook, Stage, confidence_label};

/// What the planner has learned so far.
#[derive(Debug, Clone, Default)]
pub struct PlannerState {
    /// Workloads the engineer said to leave alone.
    pub excluded: Vec<String>,
    /// A workload the engineer pointed at.
    pub focus: Option<String>,
    pub findings: Vec<Value>,
    pub links: Vec<Value>,
    pub target: Option<Target>,
    pub hypothesis: Option<Hypothesis>,
    /// Issue playbook: ranked files.
    pub files: Vec<Value>,
    pub notes: Vec<String>,
    pub cluster_unavailable: Option<String>,
    /// Recalled memories (not verified by the offline planner, so not relied on).
    pub memories: Vec<Evidence>,
}

#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Finding kinds about it, worst first.
    pub kinds: Vec<String>,
    pub pods: Vec<String>,
    pub summaries: Vec<String>,
    pub paths: Vec<String>,
    pub named_in_request: bool,
}

impl Target {
    fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
    fn ns_flag(&self) -> String {
        self.namespace
            .as_deref()
            .map(|n| format!(" -n {n}"))
            .unwrap_or_default()
    }
    fn kubectl_name(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }
    fn has(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Hypothesis {
    pub text: String,
    pub confidence: f32,
    /// (command, rationale), read commands first.
    pub actions: Vec<(String, String)>,
    /// What would confirm it.
    pub check: Check,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Check {
    /// The newest ReplicaSet is the one failing; the previous one is healthy.
    #[default]
    None,
    NewReplicaSetFailing,
    OomAtLimit,
    NoEndpoints,
}

pub async fn run(exec: &mut Exec<'_>) -> Result<Answer, Stop> {
    loop {
        apply_feedback(exec);
        exec.check_budget()?;
        let step = exec.inv.planner_step;
        let done = match exec.inv.playbook {
            Playbook::Incident => incident_step(exec, step).await?,
            Playbook::Issue | Playbook::General => issue_step(exec, step).await?,
            Playbook::Service => service_step(exec, step).await?,
        };
        if let Some(answer) = done {
            return Ok(answer);
        }
        exec.inv.planner_step += 1;
    }
}

/// Feedback outranks observations: "ignore X", "X is expected", "leave X alone" drop a
/// workload; "focus on X", "look at X", "check X" point at one. Either re-scopes.
fn apply_feedback(exec: &mut Exec<'_>) {
    let texts = exec.take_feedback();
    for text in texts {
        let lower = text.to_lowercase();
        let names = workload_names(&exec.inv.planner);
        let mentioned: Vec<String> = names
            .into_iter()
            .filter(|n| lower.contains(&n.to_lowercase()))
            .collect();
        let negative = [
            "ignore",
            "not ",
            "n't",
            "skip",
            "expected",
            "leave",
            "known",
            "fine",
            "normal",
            "unrelated",
            "reject",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let st = &mut exec.inv.planner;
        st.notes.push(format!("feedback: {text}"));
        if mentioned.is_empty() {
            continue;
        }
        if negative {
            st.excluded.extend(mentioned.iter().cloned());
            if st
                .target
                .as_ref()
                .is_some_and(|t| mentioned.contains(&t.name))
            {
                st.target = None;
                st.hypothesis = None;
                exec.inv.planner_step = 0;
            }
        } else {
            st.focus = mentioned.first().cloned();
            st.target = None;
            st.hypothesis = None;
            exec.inv.planner_step = 0;
        }
    }
}

fn workload_names(st: &PlannerState) -> Vec<String> {
    let mut names: Vec<String> = st
        .findings
        .iter()
        .filter_map(|f| f["resource"]["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    // Longest first so "checkout-api-canary" wins over "checkout-api".
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
}

fn severity_rank(s: &str) -> u32 {
    match s {
        "critical" => 4,
        "error" => 3,
        "warning" => 2,
        _ => 1,
    }
}

/// Words of the request that could name a workload (`checkout-api`, `orders`).
fn request_mentions(request: &str, name: &str) -> bool {
    let req = request.to_lowercase();
    let name = name.to_lowercase();
    if req.contains(&name) {
        return true;
    }
    // "checkout 5xx" names checkout-api: the first segment, when it is distinctive.
    name.split('-')
        .next()
        .filter(|head| head.len() >= 4)
        .is_some_and(|head| req.split(|c: char| !c.is_alphanumeric()).any(|w| w == head))
}

fn pick_target(st: &PlannerState, request: &str) -> Option<Target> {
    let mut best: Option<(u32, Target)> = None;
    for f in &st.findings {
        let r = &f["resource"];
        let name = r["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() || st.excluded.iter().any(|e| e == &name) {
            continue;
        }
        let kind = r["kind"].as_str().unwrap_or_default().to_string();
        let named = request_mentions(request, &name);
        let focused = st.focus.as_deref() == Some(name.as_str());
        let fk = f["kind"].as_str().unwrap_or_default().to_string();
        // Recent rollouts alone are context, not a problem.
        let base = if fk == "recent_rollout" {
            0
        } else {
            severity_rank(f["severity"].as_str().unwrap_or(""))
        };
        let score = base + if named { 10 } else { 0 } + if focused { 20 } else { 0 };
        let entry = best.get_or_insert_with(|| (0, Target::default()));
        if entry.1.name == name && entry.1.kind == kind {
            entry.1.kinds.push(fk);
            continue;
        }
        if score > entry.0 {
            *entry = (
                score,
                Target {
                    kind,
                    namespace: r["namespace"].as_str().map(str::to_string),
                    name,
                    kinds: vec![fk],
                    pods: Vec::new(),
                    summaries: Vec::new(),
                    paths: Vec::new(),
                    named_in_request: named || focused,
                },
            );
        }
    }
    let (score, mut t) = best?;
    if score == 0 {
        return None;
    }
    // Collect every finding about the target (the loop above saw them in severity order).
    t.kinds.clear();
    for f in &st.findings {
        let r = &f["resource"];
        if r["name"].as_str() == Some(t.name.as_str())
            && r["kind"].as_str() == Some(t.kind.as_str())
        {
            if let Some(k) = f["kind"].as_str() {
                t.kinds.push(k.to_string());
            }
            if let Some(s) = f["summary"].as_str() {
                t.summaries.push(s.to_string());
            }
            for p in f["pods"].as_array().into_iter().flatten() {
                if let Some(p) = p.as_str()
                    && !t.pods.iter().any(|x| x == p)
                {
                    t.pods.push(p.to_string());
                }
            }
        }
    }
    for l in &st.links {
        if l["workload"]["name"].as_str() == Some(t.name.as_str()) {
            t.paths = l["paths"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["path"].as_str().map(str::to_string))
                .take(6)
                .collect();
        }
    }
    Some(t)
}

fn ev(kind: EvidenceKind, reference: impl Into<String>, detail: impl Into<String>) -> Evidence {
    Evidence {
        kind,
        reference: reference.into(),
        detail: detail.into(),
        call: None,
    }
}

async fn incident_step(exec: &mut Exec<'_>, step: usize) -> Result<Option<Answer>, Stop> {
    match step {
        // Scope: which workload, failing how.
        0 => {
            let r = exec.tool("kube_findings", json!({})).await?;
            match r.output {
                Ok(out) => {
                    exec.inv.planner.findings =
                        out.data["findings"].as_array().cloned().unwrap_or_default();
                    exec.inv.planner.links =
                        out.data["links"].as_array().cloned().unwrap_or_default();
                }
                Err(e) => {
                    exec.inv.planner.cluster_unavailable = Some(e);
                    // Without a cluster the alert is still text: look for it in the code.
                    exec.inv.playbook = Playbook::Issue;
                    return issue_step(exec, 0).await;
                }
            }
            let request = exec.inv.request.clone();
            let target = pick_target(&exec.inv.planner, &request);
            match &target {
                Some(t) => {
                    let confidence = if t.named_in_request { 0.6 } else { 0.4 };
                    let why = if t.named_in_request {
                        "named in the request"
                    } else {
                        "the most severe finding; the request names no workload"
                    };
                    let evidence = t
                        .summaries
                        .iter()
                        .zip(&t.kinds)
                        .map(|(s, k)| ev(EvidenceKind::Finding, t.reference(), format!("{k}: {s}")))
                        .collect();
                    exec.checkpoint(
                        Stage::ScopeFound,
                        format!("{} ({}): {}", t.reference(), why, t.kinds.join(", ")),
                        confidence,
                        evidence,
                    );
                }
                None => {
                    let n = exec.inv.planner.findings.len();
                    exec.checkpoint(
                        Stage::ScopeFound,
                        format!("no failing workload found ({n} findings, none matching)"),
                        0.2,
                        Vec::new(),
                    );
                }
            }
            // What was learned before about this alert or workload: hypotheses only.
            let mut recall = json!({"text": request, "top": 3});
            if let Some(t) = &target {
                recall["service"] = json!(t.name);
                if let Some(ns) = &t.namespace {
                    recall["namespace"] = json!(ns);
                }
            }
            if let Ok(r) = exec.tool("recall_memory", recall).await
                && let Ok(out) = &r.output
            {
                exec.inv.planner.memories = out.evidence.clone();
            }
            exec.inv.planner.target = target;
            Ok(None)
        }
        // Evidence: events, the crashed container's log, recent commits to its files.
        1 => {
            let Some(t) = exec.inv.planner.target.clone() else {
                return Ok(None);
            };
            let mut calls = vec![exec_call(
                "kube_events",
                json!({"kind": t.kind, "name": t.name, "namespace": t.namespace}),
            )];
            if let Some(pod) = t.pods.first() {
                let previous = t.has("crash_loop_back_off") || t.has("oom_killed");
                calls.push(exec_call(
                    "kube_logs",
                    json!({"pod": pod, "namespace": t.namespace, "previous": previous}),
                ));
            }
            // A Dockerfile or build file stands for its directory: the service's code.
            let mut paths: Vec<String> = Vec::new();
            for p in &t.paths {
                let name = p.rsplit('/').next().unwrap_or(p);
                let p = if name.starts_with("Dockerfile")
                    || [
                        "go.mod",
                        "Cargo.toml",
                        "package.json",
                        "pyproject.toml",
                        "pom.xml",
                    ]
                    .contains(&name)
                {
                    p.rsplit_once('/').map_or(p.clone(), |(d, _)| d.to_string())
                } else {
                    p.clone()
                };
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
            paths.truncate(2);
            if paths.is_empty() {
                paths.push(String::new());
            }
            for p in paths {
                let mut args = json!({"since_days": 14, "max": 5});
                if !p.is_empty() {
                    args["path"] = json!(p);
                }
                calls.push(exec_call("git_log", args));
            }
            let planned = calls
                .into_iter()
                .map(|(name, args)| super::exec::PlannedCall {
                    id: exec.new_call_id(),
                    name,
                    args,
                })
                .collect();
            let results = exec.tools(planned).await?;
            let mut evidence = Vec::new();
            let mut error_lines: Vec<String> = Vec::new();
            let mut log_text = String::new();
            for r in &results {
                if let Ok(out) = &r.output {
                    evidence.extend(out.evidence.iter().cloned());
                    if r.name == "kube_logs" {
                        log_text = out.text.clone();
                        error_lines.extend(
                            out.data["error_lines"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|l| l.as_str().map(str::to_string)),
                        );
                    }
                }
            }
            // A stack trace in the log points straight at the code.
            let frames = crate::index::localize::parse_issue(&log_text).frames;
            if !frames.is_empty()
                && let Ok(r) = exec
                    .tool("issue_files", json!({"text": log_text, "top": 3}))
                    .await
                && let Ok(out) = &r.output
            {
                evidence.extend(out.evidence.iter().take(2).cloned());
                exec.inv.planner.files = out.data["files"].as_array().cloned().unwrap_or_default();
            } else if let Some(line) = error_lines.first() {
                // Otherwise the first distinctive error line, looked up in the code.
                let query = error_query(line);
                if !query.is_empty()
                    && let Ok(r) = exec
                        .tool("search_code", json!({"query": query, "top": 3}))
                        .await
                    && let Ok(out) = &r.output
                {
                    evidence.extend(out.evidence.iter().take(2).cloned());
                }
            }
            let summary = match error_lines.first() {
                Some(l) => format!("{}: {}", t.name, log_message(l)),
                None => format!(
                    "{}: {}",
                    t.name,
                    t.summaries.first().cloned().unwrap_or_default()
                ),
            };
            exec.checkpoint(Stage::EvidenceGathered, summary, 0.5, evidence);
            exec.inv
                .planner
                .notes
                .extend(error_lines.into_iter().take(3));
            Ok(None)
        }
        // Hypothesis from the findings' shape.
        2 => {
            let Some(t) = exec.inv.planner.target.clone() else {
                return Ok(None);
            };
            let h = hypothesize(&t, &exec.inv.planner);
            exec.checkpoint(
                Stage::Hypothesis,
                h.text.clone(),
                h.confidence,
                h.evidence.clone(),
            );
            exec.inv.planner.hypothesis = Some(h);
            Ok(None)
        }
        // Verify with one more read.
        3 => {
            let (Some(t), Some(mut h)) = (
                exec.inv.planner.target.clone(),
                exec.inv.planner.hypothesis.clone(),
            ) else {
                return Ok(None);
            };
            if let Some((verdict, delta, evidence)) = verify(exec, &t, &h).await? {
                h.confidence = (h.confidence + delta).clamp(0.05, 0.95);
                h.evidence.extend(evidence.clone());
                exec.checkpoint(Stage::Verified, verdict, h.confidence, evidence);
                exec.inv.planner.hypothesis = Some(h);
            }
            Ok(None)
        }
        // Suggest, then answer.
        _ => {
            let t = exec.inv.planner.target.clone();
            let h = exec.inv.planner.hypothesis.clone();
            if let Some(h) = &h {
                for (cmd, why) in &h.actions {
                    exec.propose(cmd, why);
                }
                if let Some((cmd, _)) = h.actions.last() {
                    exec.checkpoint(
                        Stage::SuggestedAction,
                        format!("suggest: {cmd}"),
                        h.confidence,
                        h.evidence.clone(),
                    );
                }
            }
            let text = incident_answer(exec, t.as_ref(), h.as_ref());
            Ok(Some(finish(exec, text, h.map(|h| h.confidence))))
        }
    }
}

fn exec_call(name: &str, args: Value) -> (String, Value) {
    (name.to_string(), args)
}

/// A log line without its timestamp and level, cut to a readable length.
fn log_message(line: &str) -> String {
    let mut rest = line.trim();
    // Leading timestamp (2025-06-01T11:58:29.122Z, 11:58:29, …) and level.
    if let Some((first, tail)) = rest.split_once(' ')
        && first.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        rest = tail.trim_start();
    }
    for level in ["ERROR", "FATAL", "WARN", "error", "fatal", "level=error"] {
        if let Some(tail) = rest.strip_prefix(level) {
            rest = tail.trim_start_matches([':', ' ']);
        }
    }
    rest.chars().take(140).collect()
}

/// The searchable part of a log line: identifiers and words, without timestamps.
fn error_query(line: &str) -> String {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '(' || c == ')')
        .filter(|w| w.len() >= 4 && w.chars().any(|c| c.is_alphabetic()))
        .filter(|w| !w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .filter(|w| !["ERROR", "FATAL", "panic", "error", "WARN", "INFO"].contains(w))
        .take(6)
        .collect();
    words.join(" ")
}

fn hypothesize(t: &Target, st: &PlannerState) -> Hypothesis {
    let workload = t.kubectl_name();
    let ns = t.ns_flag();
    let recent = t.has("rollout_stuck") || t.has("recent_rollout");
    let failing_start = t.has("crash_loop_back_off")
        || t.has("image_pull_back_off")
        || t.has("container_config_error")
        || t.has("probe_failing");
    let log_hint = st
        .notes
        .iter()
        .find(|n| !n.starts_with("feedback:"))
        .cloned();
    let evidence = vec![ev(EvidenceKind::Finding, t.reference(), t.kinds.join(", "))];
    let dependency = log_hint.as_deref().and_then(|l| {
        let l = l.to_lowercase();
        let connection = [
            "connection refused",
            "no such host",
            "dial tcp",
            "i/o timeout",
            "deadline exceeded",
            "connect timed out",
            "service unavailable",
            "upstream connect error",
        ];
        if !connection.iter().any(|c| l.contains(c)) {
            return None;
        }
        workload_names(st)
            .into_iter()
            .find(|n| n != &t.name && l.contains(&n.to_lowercase()))
    });
    if let Some(dep) = dependency {
        return Hypothesis {
            text: format!(
                "{} fails because its dependency {dep} is down or unreachable",
                t.name
            ),
            confidence: 0.55,
            actions: vec![(
                format!("kubectl get endpoints {dep}{ns}"),
                format!("see whether {dep} has ready endpoints"),
            )],
            check: Check::None,
            evidence,
        };
    }
    if recent && failing_start && t.kind == "Deployment" {
        let detail = log_hint
            .map(|l| format!(" (log: {})", log_message(&l)))
            .unwrap_or_default();
        return Hypothesis {
            text: format!(
                "bad rollout: the new ReplicaSet of {} fails to start while the previous revision is healthy{detail}",
                t.name
            ),
            confidence: 0.65,
            actions: vec![
                (
                    format!("kubectl rollout history {workload}{ns}"),
                    "see the revisions before rolling back".into(),
                ),
                (
                    format!("kubectl rollout undo {workload}{ns}"),
                    format!(
                        "return {} to the last revision that ran; the new one crash-loops",
                        t.name
                    ),
                ),
            ],
            check: Check::NewReplicaSetFailing,
            evidence,
        };
    }
    if t.has("oom_killed") {
        return Hypothesis {
            text: format!(
                "{} runs out of memory at its limit (OOMKilled); the batch it loads does not fit",
                t.name
            ),
            confidence: 0.6,
            actions: vec![
                (
                    format!("kubectl top pod{ns}"),
                    "current memory use against the limit".into(),
                ),
                (
                    format!("kubectl describe {workload}{ns}"),
                    "limits and recent changes".into(),
                ),
            ],
            check: Check::OomAtLimit,
            evidence,
        };
    }
    if t.has("service_no_endpoints") {
        return Hypothesis {
            text: format!(
                "service {} has no ready endpoints: its pods are gone (scaled to zero?) or its selector matches nothing",
                t.name
            ),
            confidence: 0.55,
            actions: vec![(
                format!("kubectl get endpoints {}{ns}", t.name),
                "confirm there is nothing behind the service".into(),
            )],
            check: Check::NoEndpoints,
            evidence,
        };
    }
    if t.has("pending") {
        return Hypothesis {
            text: format!(
                "{} cannot be scheduled: not enough room on the nodes for its requests",
                t.name
            ),
            confidence: 0.55,
            actions: vec![(
                format!("kubectl describe {workload}{ns}"),
                "requests and scheduler messages".into(),
            )],
            check: Check::None,
            evidence,
        };
    }
    if failing_start {
        return Hypothesis {
            text: format!(
                "{} fails at start-up without a recent rollout: configuration or a dependency changed",
                t.name
            ),
            confidence: 0.45,
            actions: vec![(
                format!("kubectl describe {workload}{ns}"),
                "events and the container's last state".into(),
            )],
            check: Check::None,
            evidence,
        };
    }
    Hypothesis {
        text: format!(
            "{}: {}",
            t.name,
            t.summaries.first().cloned().unwrap_or_default()
        ),
        confidence: 0.35,
        actions: vec![(
            format!("kubectl describe {workload}{ns}"),
            "see its state".into(),
        )],
        check: Check::None,
        evidence,
    }
}

/// One read that confirms or weakens the hypothesis: (verdict, confidence change, evidence).
async fn verify(
    exec: &mut Exec<'_>,
    t: &Target,
    h: &Hypothesis,
) -> Result<Option<(String, f32, Vec<Evidence>)>, Stop> {
    match h.check {
        Check::NewReplicaSetFailing => {
            let r = exec
                .tool(
                    "kube_get",
                    json!({"resource": "replicasets", "namespace": t.namespace}),
                )
                .await?;
            let Ok(out) = r.output else { return Ok(None) };
            let mut sets: Vec<(i64, String, i64, i64, String)> = out
                .data
                .as_array()
                .into_iter()
                .flatten()
                .filter(|rs| {
                    rs["metadata"]["ownerReferences"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|o| o["name"].as_str() == Some(t.name.as_str()))
                })
                .map(|rs| {
                    let rev = rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let image = rs["spec"]["template"]["spec"]["containers"][0]["image"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    (
                        rev,
                        rs["metadata"]["name"].as_str().unwrap_or("").to_string(),
                        rs["status"]["replicas"].as_i64().unwrap_or(0),
                        rs["status"]["readyReplicas"].as_i64().unwrap_or(0),
                        image,
                    )
                })
                .collect();
            sets.sort_by_key(|s| std::cmp::Reverse(s.0));
            let (Some(new), Some(old)) = (sets.first(), sets.iter().skip(1).find(|s| s.2 > 0))
            else {
                return Ok(Some((
                    "could not find two revisions to compare".into(),
                    -0.1,
                    Vec::new(),
                )));
            };
            let evidence = vec![
                ev(
                    EvidenceKind::Resource,
                    format!("ReplicaSet/{}", new.1),
                    format!(
                        "revision {}: {} of {} ready, {}",
                        new.0, new.3, new.2, new.4
                    ),
                ),
                ev(
                    EvidenceKind::Resource,
                    format!("ReplicaSet/{}", old.1),
                    format!(
                        "revision {}: {} of {} ready, {}",
                        old.0, old.3, old.2, old.4
                    ),
                ),
            ];
            if new.3 < new.2 && old.3 > 0 {
                Ok(Some((
                    format!(
                        "confirmed: revision {} ({}) has {} of {} ready; revision {} ({}) serves with {} ready",
                        new.0, new.4, new.3, new.2, old.0, old.4, old.3
                    ),
                    0.2,
                    evidence,
                )))
            } else {
                Ok(Some((
                    format!(
                        "not confirmed: the newest revision {} has {} of {} ready",
                        new.0, new.3, new.2
                    ),
                    -0.25,
                    evidence,
                )))
            }
        }
        Check::NoEndpoints => {
            let r = exec
                .tool(
                    "kube_get",
                    json!({"resource": "deployments", "namespace": t.namespace}),
                )
                .await?;
            let Ok(out) = r.output else { return Ok(None) };
            let zero: Vec<String> = out
                .data
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["spec"]["replicas"].as_i64() == Some(0))
                .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            if let Some(d) = zero
                .iter()
                .find(|d| d.contains(&t.name) || t.name.contains(d.as_str()))
            {
                Ok(Some((
                    format!("confirmed: deployment {d} is scaled to 0 replicas"),
                    0.25,
                    vec![ev(
                        EvidenceKind::Resource,
                        format!("Deployment/{d}"),
                        "spec.replicas = 0",
                    )],
                )))
            } else {
                Ok(Some((
                    "no deployment behind it is scaled to zero".into(),
                    -0.1,
                    Vec::new(),
                )))
            }
        }
        Check::OomAtLimit => {
            let Some(pod) = t.pods.first() else {
                return Ok(None);
            };
            let r = exec
                .tool(
                    "kube_get",
                    json!({"resource": "pods", "name": pod, "namespace": t.namespace}),
                )
                .await?;
            let Ok(out) = r.output else { return Ok(None) };
            let statuses = out.data["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let oom = statuses
                .iter()
                .any(|s| s["lastState"]["terminated"]["reason"].as_str() == Some("OOMKilled"));
            if oom {
                Ok(Some((
                    format!("confirmed: {pod} last terminated with OOMKilled"),
                    0.15,
                    vec![ev(
                        EvidenceKind::Resource,
                        format!("Pod/{pod}"),
                        "lastState.terminated.reason = OOMKilled",
                    )],
                )))
            } else {
                Ok(Some((
                    format!("{pod} shows no OOMKilled termination now"),
                    -0.2,
                    Vec::new(),
                )))
            }
        }
        Check::None => Ok(None),
    }
}

fn incident_answer(exec: &Exec<'_>, t: Option<&Target>, h: Option<&Hypothesis>) -> String {
    let st = &exec.inv.planner;
    let mut s = String::new();
    let Some(t) = t else {
        let _ = writeln!(
            s,
            "No failing workload matches this request ({} findings in the namespace{}).",
            st.findings.len(),
            if st.excluded.is_empty() {
                String::new()
            } else {
                format!("; left alone as you asked: {}", st.excluded.join(", "))
            }
        );
        return s;
    };
    let _ = writeln!(s, "## {}\n", t.reference());
    if let Some(h) = h {
        let _ = writeln!(
            s,
            "**Likely cause:** {}\n\n**Confidence:** {} ({:.2})\n",
            h.text,
            confidence_label(h.confidence),
            h.confidence
        );
    }
    let _ = writeln!(s, "**What is failing:**");
    for sm in t.summaries.iter().take(4) {
        let _ = writeln!(s, "- {sm}");
    }
    if let Some(f) = st.files.first() {
        let path = f["path"].as_str().unwrap_or_default();
        let _ = write!(s, "\n**Where in the code:** `{path}`");
        if let Some(sym) = f["symbols"].as_array().and_then(|a| a.first()) {
            let _ = write!(
                s,
                " {} `{}` (lines {}-{})",
                sym["kind"].as_str().unwrap_or(""),
                sym["name"].as_str().unwrap_or(""),
                sym["start_line"],
                sym["end_line"]
            );
        }
        s.push('\n');
    }
    let commits = commits_seen(exec, 3);
    if !commits.is_empty() {
        let _ = writeln!(s, "\n**Recent commits to its code:**");
        for c in commits {
            let _ = writeln!(s, "- `{}` {}", c.reference, c.detail);
        }
    }
    if let Some(h) = h
        && !h.actions.is_empty()
    {
        let _ = writeln!(s, "\n**Suggested (nothing runs until you approve):**");
        for (cmd, why) in &h.actions {
            let _ = writeln!(s, "- `{cmd}`: {why}");
        }
    }
    if !st.excluded.is_empty() {
        let _ = writeln!(s, "\nLeft alone as you asked: {}.", st.excluded.join(", "));
    }
    if !st.memories.is_empty() {
        let _ = writeln!(
            s,
            "\n**Memories that may apply (not verified, not relied on):**"
        );
        for m in &st.memories {
            let _ = writeln!(s, "- `{}` {}", m.reference, m.detail);
        }
    }
    s
}

/// Commits in the evidence, each once, in the order they were found.
fn commits_seen<'e>(exec: &'e Exec<'_>, max: usize) -> Vec<&'e Evidence> {
    let mut out: Vec<&Evidence> = Vec::new();
    for e in exec
        .inv
        .evidence
        .iter()
        .filter(|e| e.kind == EvidenceKind::Commit)
    {
        if !out.iter().any(|o| o.reference == e.reference) {
            out.push(e);
        }
        if out.len() == max {
            break;
        }
    }
    out
}

fn finish(exec: &mut Exec<'_>, text: String, confidence: Option<f32>) -> Answer {
    let text = format!(
        "{text}\n_Offline planner (no model configured): rules over the same tools; check the evidence before acting._"
    );
    for line in text.split_inclusive('\n') {
        exec.emit(Event::TokenDelta {
            text: line.to_string(),
        });
    }
    exec.emit(Event::MessageDone { text: text.clone() });
    answer_from(exec, text, confidence)
}

async fn issue_step(exec: &mut Exec<'_>, step: usize) -> Result<Option<Answer>, Stop> {
    match step {
        0 => {
            let text = exec.inv.request.clone();
            let r = exec
                .tool("issue_files", json!({"text": text, "top": 8}))
                .await?;
            let files = match &r.output {
                Ok(out) => out.data["files"].as_array().cloned().unwrap_or_default(),
                Err(e) => {
                    let e = e.trim_start_matches("error: ").to_string();
                    exec.inv.planner.notes.push(format!("unavailable: {e}"));
                    Vec::new()
                }
            };
            let exact = files.first().is_some_and(|f| {
                f["reasons"].as_array().into_iter().flatten().any(|r| {
                    let r = r.as_str().unwrap_or("");
                    r.contains("frame") || r.contains("path") || r.contains("mentioned")
                })
            });
            let confidence = match (files.is_empty(), exact) {
                (true, _) => 0.1,
                (false, true) => 0.7,
                (false, false) => 0.4,
            };
            let evidence = match &r.output {
                Ok(out) => out.evidence.iter().take(3).cloned().collect(),
                Err(_) => Vec::new(),
            };
            let names: Vec<&str> = files
                .iter()
                .take(3)
                .filter_map(|f| f["path"].as_str())
                .collect();
            exec.checkpoint(
                Stage::ScopeFound,
                if names.is_empty() {
                    "no candidate files in the index".to_string()
                } else {
                    format!("candidates: {}", names.join(", "))
                },
                confidence,
                evidence,
            );
            exec.inv.planner.files = files;
            Ok(None)
        }
        1 => {
            let files = exec.inv.planner.files.clone();
            // Nothing was found to read: go straight to the answer, which says why.
            if files.is_empty() {
                return Ok(None);
            }
            let mut calls = Vec::new();
            for f in files.iter().take(2) {
                let path = f["path"].as_str().unwrap_or_default();
                let args = match f["symbols"].as_array().and_then(|s| s.first()) {
                    Some(sym) => {
                        let start = sym["start_line"].as_u64().unwrap_or(1);
                        let end = sym["end_line"].as_u64().unwrap_or(start).min(start + 59);
                        json!({"path": path, "start_line": start, "end_line": end})
                    }
                    None => json!({"path": path, "start_line": 1, "end_line": 40}),
                };
                calls.push(("read_file".to_string(), args));
            }
            calls.push((
                "similar_past_changes".to_string(),
                json!({"text": exec.inv.request.clone(), "max": 5}),
            ));
            if let Some(top) = files.first().and_then(|f| f["path"].as_str()) {
                calls.push(("related_files".to_string(), json!({"path": top, "top": 5})));
            }
            let planned = calls
                .into_iter()
                .map(|(name, args)| super::exec::PlannedCall {
                    id: exec.new_call_id(),
                    name,
                    args,
                })
                .collect();
            let results = exec.tools(planned).await?;
            let mut evidence = Vec::new();
            for r in &results {
                if let Ok(out) = &r.output {
                    evidence.extend(out.evidence.iter().take(2).cloned());
                    if r.name == "related_files" {
                        exec.inv.planner.notes.extend(
                            out.data
                                .as_array()
                                .into_iter()
                                .flatten()
                                .take(3)
                                .filter_map(|v| {
                                    Some(format!(
                                        "related: {} ({})",
                                        v["path"].as_str()?,
                                        v["via"].as_str().unwrap_or("")
                                    ))
                                }),
                        );
                    }
                }
            }
            let conf = exec.inv.best_confidence().unwrap_or(0.3);
            exec.checkpoint(
                Stage::EvidenceGathered,
                format!("read the top functions; {} related facts", evidence.len()),
                conf,
                evidence,
            );
            Ok(None)
        }
        _ => {
            let text = issue_answer(exec);
            let conf = exec.inv.best_confidence();
            if let Some(f) = exec.inv.planner.files.first() {
                let path = f["path"].as_str().unwrap_or_default().to_string();
                let sym = f["symbols"]
                    .as_array()
                    .and_then(|s| s.first())
                    .and_then(|s| s["name"].as_str())
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                exec.checkpoint(
                    Stage::Hypothesis,
                    format!("start with {path}{sym}"),
                    conf.unwrap_or(0.3),
                    exec.inv.evidence.iter().take(4).cloned().collect(),
                );
            }
            Ok(Some(finish(exec, text, conf)))
        }
    }
}

fn issue_answer(exec: &Exec<'_>) -> String {
    let st = &exec.inv.planner;
    let mut s = String::new();
    if let Some(why) = &st.cluster_unavailable {
        let _ = writeln!(
            s,
            "The cluster could not be read ({why}); this is what the code says.\n"
        );
    }
    if st.files.is_empty() {
        let why = exec
            .inv
            .planner
            .notes
            .iter()
            .find(|n| n.starts_with("unavailable: "))
            .map(|n| n.trim_start_matches("unavailable: ").to_string());
        match why {
            Some(why) => {
                let _ = writeln!(s, "The code could not be searched: {why}.");
            }
            None => {
                let _ = writeln!(s, "Nothing in the index matches this text.");
            }
        }
        return s;
    }
    let conf = exec.inv.best_confidence().unwrap_or(0.3);
    let _ = writeln!(
        s,
        "## Where to look\n\n**Confidence:** {} ({conf:.2})\n",
        confidence_label(conf)
    );
    for (i, f) in st.files.iter().take(5).enumerate() {
        let path = f["path"].as_str().unwrap_or_default();
        let reasons: Vec<&str> = f["reasons"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .take(3)
            .collect();
        let _ = writeln!(s, "{}. `{path}`: {}", i + 1, reasons.join("; "));
        for sym in f["symbols"].as_array().into_iter().flatten().take(2) {
            let _ = writeln!(
                s,
                "   - {} `{}` lines {}-{}",
                sym["kind"].as_str().unwrap_or(""),
                sym["name"].as_str().unwrap_or(""),
                sym["start_line"],
                sym["end_line"]
            );
        }
    }
    let commits = commits_seen(exec, 3);
    if !commits.is_empty() {
        let _ = writeln!(s, "\n**Similar past changes:**");
        for c in commits {
            let _ = writeln!(s, "- `{}` {}", c.reference, c.detail);
        }
    }
    let related: Vec<&String> = st
        .notes
        .iter()
        .filter(|n| n.starts_with("related:"))
        .collect();
    if !related.is_empty() {
        let _ = writeln!(s, "\n**Often changed together:**");
        for r in related {
            let _ = writeln!(s, "- {}", r.trim_start_matches("related: "));
        }
    }
    s
}

async fn service_step(exec: &mut Exec<'_>, step: usize) -> Result<Option<Answer>, Stop> {
    match step {
        0 => {
            if let Ok(r) = exec.tool("kube_findings", json!({})).await
                && let Ok(out) = r.output
            {
                exec.inv.planner.findings =
                    out.data["findings"].as_array().cloned().unwrap_or_default();
                exec.inv.planner.links = out.data["links"].as_array().cloned().unwrap_or_default();
            }
            let request = exec.inv.request.clone();
            let words: Vec<String> = request
                .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .filter(|w| w.len() >= 4)
                .map(str::to_lowercase)
                .filter(|w| {
                    ![
                        "what", "does", "tell", "about", "context", "service", "explain",
                        "describe", "where", "owns",
                    ]
                    .contains(&w.as_str())
                })
                .collect();
            let query = words.join(" ");
            let mut evidence = Vec::new();
            if !query.is_empty()
                && let Ok(r) = exec
                    .tool("search_code", json!({"query": query, "top": 5}))
                    .await
                && let Ok(out) = r.output
            {
                evidence.extend(out.evidence.iter().cloned());
                exec.inv.planner.files = out.data["files"].as_array().cloned().unwrap_or_default();
            }
            let conf = if evidence.is_empty() { 0.2 } else { 0.5 };
            exec.checkpoint(
                Stage::ScopeFound,
                format!(
                    "{} files and {} findings mention it",
                    exec.inv.planner.files.len(),
                    exec.inv.planner.findings.len()
                ),
                conf,
                evidence,
            );
            Ok(None)
        }
        1 => {
            let top: Option<String> = exec
                .inv
                .planner
                .files
                .first()
                .and_then(|f| f["path"].as_str().map(str::to_string));
            if let Some(p) = top {
                let dir = p.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or(p);
                let _ = exec.tool("git_log", json!({"path": dir, "max": 5})).await?;
            }
            Ok(None)
        }
        _ => {
            let mut s = String::from("## Service context\n\n");
            for (i, f) in exec.inv.planner.files.iter().take(5).enumerate() {
                let _ = writeln!(s, "{}. `{}`", i + 1, f["path"].as_str().unwrap_or_default());
            }
            let commits = commits_seen(exec, 5);
            if !commits.is_empty() {
                let _ = writeln!(s, "\n**Recent changes:**");
                for c in commits {
                    let _ = writeln!(s, "- `{}` {}", c.reference, c.detail);
                }
            }
            let conf = exec.inv.best_confidence();
            Ok(Some(finish(exec, s, conf)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: &str, sev: &str, name: &str) -> Value {
        json!({"kind": kind, "severity": sev, "resource": {"kind": "Deployment", "namespace": "shop", "name": name}, "summary": format!("{name} {kind}"), "pods": [format!("{name}-abc")]})
    }

    #[test]
    fn the_named_workload_wins_over_a_more_severe_one() {
        let st = PlannerState {
            findings: vec![
                finding("node_not_ready", "critical", "node-c"),
                finding("oom_killed", "error", "orders-worker"),
                finding("crash_loop_back_off", "critical", "checkout-api"),
                finding("rollout_stuck", "error", "checkout-api"),
            ],
            ..Default::default()
        };
        let t = pick_target(&st, "orders backlog growing since 11:50").unwrap();
        assert_eq!(t.name, "orders-worker");
        assert!(t.named_in_request);
        let t = pick_target(&st, "checkout-api 5xx since 14:05").unwrap();
        assert_eq!(t.name, "checkout-api");
        assert_eq!(t.kinds, vec!["crash_loop_back_off", "rollout_stuck"]);
        let h = hypothesize(&t, &st);
        assert!(h.text.starts_with("bad rollout"), "{}", h.text);
        assert!(
            h.actions
                .iter()
                .any(|(c, _)| c == "kubectl rollout undo deployment/checkout-api -n shop")
        );
    }

    #[test]
    fn excluded_workloads_are_not_picked() {
        let st = PlannerState {
            findings: vec![
                finding("oom_killed", "error", "orders-worker"),
                finding("crash_loop_back_off", "critical", "checkout-api"),
            ],
            excluded: vec!["checkout-api".into()],
            ..Default::default()
        };
        assert_eq!(pick_target(&st, "5xx").unwrap().name, "orders-worker");
    }
}
