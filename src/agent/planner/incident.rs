//! The incident playbook: scope the alert's target, walk what it depends on, build the
//! change timeline, rank competing hypotheses, check the leaders with one read each,
//! then suggest and answer with a confidence computed from the evidence.

use serde_json::json;

use super::answer::{finish, suggest};
use super::issue::issue_step;
use super::report::incident_answer;
use super::scope::{from_alert, pick_target};
use super::verify::verify;
use super::walk;
use crate::agent::case::alert;
use crate::agent::case::confidence::{self, UNSURE};
use crate::agent::case::diagnosis::{self, Diagnosis};
use crate::agent::case::objects;
use crate::agent::case::target::{Target, ev};
use crate::agent::case::world::World;
use crate::agent::exec::{Exec, Stop};
use crate::agent::tools::ToolData;
use crate::agent::tools::data::LogTail;
use crate::protocol::{Answer, Event, Evidence, EvidenceKind, Playbook, Stage};

pub(super) async fn incident_step(
    exec: &mut Exec<'_>,
    step: usize,
) -> Result<Option<Answer>, Stop> {
    match step {
        0 => scope_step(exec).await,
        1 => {
            if let Some(t) = exec.inv.planner.target.clone() {
                let (summary, evidence) = gather(exec, &t).await?;
                exec.checkpoint(Stage::EvidenceGathered, summary, 0.5, evidence);
            }
            Ok(None)
        }
        2 => {
            if let Some(t) = exec.inv.planner.target.clone() {
                let d = hypothesize(exec, &t);
                exec.checkpoint(
                    Stage::Hypothesis,
                    d.headline(&t),
                    d.confidence,
                    d.evidence.clone(),
                );
            }
            Ok(None)
        }
        3 => {
            if let Some(t) = exec.inv.planner.target.clone() {
                let (details, evidence) = check(exec, &t).await?;
                let confidence = exec
                    .inv
                    .planner
                    .diagnosis
                    .as_ref()
                    .map_or(0.1, |d| d.confidence);
                exec.checkpoint(Stage::Verified, details.join("; "), confidence, evidence);
            }
            Ok(None)
        }
        _ => {
            let t = exec.inv.planner.target.clone();
            let confidence = exec.inv.planner.diagnosis.as_ref().map(|d| d.confidence);
            if let Some(d) = exec.inv.planner.diagnosis.clone() {
                suggest(exec, &d.actions, d.confidence, d.evidence.clone());
            }
            let text = incident_answer(exec, t.as_ref());
            let mut answer = finish(exec, text, confidence);
            // What the number was computed from, in the answer's lineage.
            if let Some(a) = exec
                .inv
                .planner
                .diagnosis
                .as_ref()
                .and_then(|d| d.assessment.as_ref())
            {
                answer
                    .evidence
                    .push(ev(EvidenceKind::Note, confidence::NOTE, a.note()));
            }
            Ok(Some(answer))
        }
    }
}

/// Which object the alert is about: the checkpoint, and what was learned before.
async fn scope_step(exec: &mut Exec<'_>) -> Result<Option<Answer>, Stop> {
    let request = exec.inv.request.clone();
    let (target, why) = match scope(exec, &request).await? {
        Ok(scoped) => scoped,
        Err(e) => {
            exec.inv.planner.cluster_unavailable = Some(e);
            // Without a cluster the alert is still text: look for it in the code.
            exec.inv.playbook = Playbook::Issue;
            return issue_step(exec, 0).await;
        }
    };
    match &target {
        Some(t) => {
            let confidence = if t.named_in_request { 0.6 } else { 0.3 };
            let evidence = t
                .summaries
                .iter()
                .zip(&t.kinds)
                .map(|(s, k)| ev(EvidenceKind::Finding, t.reference(), format!("{k}: {s}")))
                .collect();
            let kinds = if t.kinds.is_empty() {
                "no findings".to_string()
            } else {
                t.kinds.join(", ")
            };
            exec.checkpoint(
                Stage::ScopeFound,
                format!("{} ({why}): {kinds}", t.reference()),
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
    recall_for(exec, target.as_ref()).await;
    exec.inv.planner.target = target;
    Ok(None)
}

/// Scan, parse the alert, and resolve its target: `Err` with the reason when the
/// cluster cannot be read.
pub(super) async fn scope(
    exec: &mut Exec<'_>,
    request: &str,
) -> Result<Result<(Option<Target>, String), String>, Stop> {
    let r = exec.tool("kube_findings", json!({})).await?;
    let report = match r.output {
        Ok(out) => match out.data {
            ToolData::Scan(scan) => {
                exec.inv.planner.findings = scan.findings;
                exec.inv.planner.links = scan.report.links.clone();
                Some(scan.report)
            }
            _ => None,
        },
        Err(e) => return Ok(Err(e)),
    };
    let now = exec.shared.tools.now();
    let alert = alert::parse(request, now);
    exec.inv.planner.request_names = request
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.contains('-') && w.chars().any(|c| c.is_ascii_alphabetic()))
        .map(|w| w.trim_matches('-').to_lowercase())
        .collect();
    // A certificate the labels name wins over a workload its words mention.
    let mut certificate = super::certs::scope(exec, &alert).await?;
    // A host no Ingress serves: the route of another controller that does.
    if certificate.is_none() {
        certificate =
            super::routes::scope(exec, &alert, report.as_ref().map(|r| &r.full_graph)).await?;
    }
    let st = &exec.inv.planner;
    let named = certificate.or_else(|| {
        report.as_ref().and_then(|r| {
            let mut a = alert.clone();
            if let Some(f) = &st.focus {
                a.labels.insert("deployment".into(), f.clone());
            }
            from_alert(&r.full_graph, &a, request, &st.excluded)
        })
    });
    let shared = report
        .as_ref()
        .map(|r| super::scope::shared_heads(&r.full_graph))
        .unwrap_or_default();
    let named = match named {
        Some(n) => Some(n),
        None => elsewhere(exec, &alert).await?,
    };
    let st = &exec.inv.planner;
    let (target, why) = match named {
        Some((mut t, why)) => {
            enrich(&mut t, st);
            (Some(t), why)
        }
        None => match pick_target(st, request, &shared) {
            Some(t) => (
                Some(t),
                "the most severe finding; the alert names no object of the cluster".into(),
            ),
            None => (None, String::new()),
        },
    };
    let ns = target
        .as_ref()
        .and_then(|t| t.namespace.clone())
        .or_else(|| alert.namespace().map(str::to_string));
    exec.inv.planner.world = World::new(now, ns);
    exec.inv.planner.alert = Some(alert);
    Ok(Ok((target, why)))
}

/// An object the alert names by an object label (`pod`, `deployment`, …) in the
/// namespace its labels give, when the scan (of the context's namespace) does not have
/// it: one read there, a pod resolved to its workload through its owner.
async fn elsewhere(
    exec: &mut Exec<'_>,
    alert: &alert::Alert,
) -> Result<Option<(Target, String)>, Stop> {
    let Some(ns) = alert.namespace().map(str::to_string) else {
        return Ok(None);
    };
    for (value, kind, trust) in alert.object_hints() {
        let Some(kind) = kind.filter(|_| trust >= 1.0) else {
            continue;
        };
        let Some(resource) = crate::agent::case::world::resource_of(kind) else {
            continue;
        };
        let r = exec
            .tool(
                "kube_get",
                json!({"resource": resource, "namespace": ns, "name": value}),
            )
            .await?;
        let Ok(out) = r.output else { continue };
        let ToolData::Objects(items) = out.data else {
            continue;
        };
        let Some(obj) = items.first() else { continue };
        let named = obj.reference();
        let (wkind, wname) = match obj.meta().and_then(objects::controller) {
            Some(("ReplicaSet", rs)) => (
                "Deployment".to_string(),
                rs.rsplit_once('-').map_or(rs, |(d, _)| d).to_string(),
            ),
            Some((k, n)) if kind == "Pod" => (k.to_string(), n.to_string()),
            _ => (kind.to_string(), value.clone()),
        };
        let t = Target {
            kind: wkind,
            namespace: Some(ns.clone()),
            name: wname,
            named_in_request: true,
            alerted: Some(named.clone()),
            ..Target::default()
        };
        let why = format!("the alert names {named}, outside the namespace scanned");
        return Ok(Some((t, why)));
    }
    Ok(None)
}

/// The findings and repository paths of a target the alert named.
fn enrich(t: &mut Target, st: &crate::agent::case::state::PlannerState) {
    for f in st
        .findings
        .iter()
        .filter(|f| f.resource.name == t.name && f.resource.kind == t.kind)
    {
        t.kinds.push(f.kind.as_str().to_string());
        t.summaries.push(f.summary.clone());
        for p in &f.pods {
            if !t.pods.contains(p) {
                t.pods.push(p.clone());
            }
        }
    }
    if let Some(l) = st.links.iter().find(|l| l.workload.name == t.name) {
        t.paths = l.paths.iter().take(6).map(|p| p.path.clone()).collect();
    }
}

/// What was learned before about this workload, when the request did not name it (the
/// recall at the start covered it then): hypotheses only.
async fn recall_for(exec: &mut Exec<'_>, target: Option<&Target>) {
    let named = target.is_none_or(|t| t.named_in_request);
    if named {
        return;
    }
    let mut recall = json!({"text": exec.inv.request.clone(), "top": 3});
    if let Some(t) = target {
        recall["service"] = json!(t.name);
        if let Some(ns) = &t.namespace {
            recall["namespace"] = json!(ns);
        }
    }
    if let Ok(r) = exec.tool("recall_memory", recall).await
        && let Ok(out) = &r.output
    {
        for e in &out.evidence {
            if !exec
                .inv
                .planner
                .memories
                .iter()
                .any(|m| m.reference == e.reference)
            {
                exec.inv.planner.memories.push(e.clone());
            }
        }
    }
}

/// The dependency walk, then the code a crash log points at: a summary and evidence.
pub(super) async fn gather(
    exec: &mut Exec<'_>,
    t: &Target,
) -> Result<(String, Vec<Evidence>), Stop> {
    let alert = exec.inv.planner.alert.clone().unwrap_or_default();
    walk::walk(exec, t, &alert).await?;
    let own: Vec<LogTail> = exec
        .inv
        .planner
        .world
        .logs
        .iter()
        .filter(|l| objects::named_for(&l.pod, &t.name))
        .cloned()
        .collect();
    let log_text: String = own
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let error_line = own
        .iter()
        .flat_map(|l| l.error_lines.iter())
        .next()
        .cloned();
    let mut evidence: Vec<Evidence> = Vec::new();
    // A stack trace in the log points straight at the code.
    let frames = crate::index::localize::parse_issue(&log_text).frames;
    if !frames.is_empty()
        && let Ok(r) = exec
            .tool("issue_files", json!({"text": log_text, "top": 3}))
            .await
        && let Ok(out) = &r.output
    {
        evidence.extend(out.evidence.iter().take(2).cloned());
        if let ToolData::Issue(result) = &out.data {
            exec.inv.planner.files = result.files.clone();
        }
    } else if let Some(line) = &error_line {
        let query = error_query(&crate::agent::case::clues::log_message(line));
        if !query.is_empty()
            && let Ok(r) = exec
                .tool("search_code", json!({"query": query, "top": 3}))
                .await
            && let Ok(out) = &r.output
        {
            evidence.extend(out.evidence.iter().take(2).cloned());
        }
    }
    let w = &exec.inv.planner.world;
    for tail in &own {
        if let Some(l) = tail.error_lines.last() {
            evidence.insert(
                0,
                ev(
                    EvidenceKind::Log,
                    format!("Pod/{}", tail.pod),
                    crate::agent::case::clues::log_message(l),
                ),
            );
        }
    }
    let summary = format!(
        "{}: read {} objects, {} events, {} log tails, {} commits{}",
        t.name,
        w.all().count(),
        w.events.len(),
        w.logs.len(),
        w.commits.len(),
        error_line
            .map(|l| format!("; log: {}", crate::agent::case::clues::log_message(&l)))
            .unwrap_or_default()
    );
    Ok((summary, evidence))
}

/// The timeline and the ranked hypotheses.
pub(super) fn hypothesize(exec: &mut Exec<'_>, t: &Target) -> Diagnosis {
    let st = &exec.inv.planner;
    let alert = st.alert.clone().unwrap_or_default();
    let d = diagnosis::diagnose(&st.world, t, &alert, &exec.inv.request);
    exec.emit(Event::Timeline {
        start: Some(d.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        entries: d.timeline.iter().map(|c| c.entry()).collect(),
    });
    exec.inv.planner.hypothesis = Some(d.hypothesis(t));
    exec.inv.planner.diagnosis = Some(d.clone());
    d
}

/// One read for the leading hypothesis and one for its closest rival: what they found
/// and the evidence.
pub(super) async fn check(
    exec: &mut Exec<'_>,
    t: &Target,
) -> Result<(Vec<String>, Vec<Evidence>), Stop> {
    let Some(mut d) = exec.inv.planner.diagnosis.clone() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut details = Vec::new();
    let mut evidence = Vec::new();
    for i in d.to_check() {
        let Some(c) = d.candidates.get(i) else {
            continue;
        };
        let subject = diagnosis::check_subject(c, t);
        let Some(checked) = verify(exec, &subject, &c.check).await? else {
            continue;
        };
        let holds = checked.confirmed != diagnosis::inverted(c);
        details.push(format!("{}: {}", c.culprit.name, checked.detail));
        evidence.extend(checked.evidence.clone());
        d.record_check(i, holds, &checked.detail);
    }
    let now = exec.shared.tools.now();
    d.settle(now);
    if details.is_empty() {
        details.push(
            "nothing cheap confirms the leading cause; it rests on the evidence gathered".into(),
        );
    }
    evidence.extend(d.evidence.iter().take(4).cloned());
    d.evidence = evidence.clone();
    d.actions = d
        .top()
        .map(|top| crate::agent::case::statement::actions(top, t, d.confidence >= UNSURE))
        .unwrap_or_default();
    exec.inv.planner.hypothesis = Some(d.hypothesis(t));
    exec.inv.planner.diagnosis = Some(d);
    Ok((details, evidence))
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
