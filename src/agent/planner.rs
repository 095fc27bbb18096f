//! The offline planner: triage's embedded default. With no model configured it runs the
//! same playbooks, deterministically, over the same tools, and produces the same kinds of
//! checkpoints and a plain answer with a confidence. It is a state machine over
//! `Investigation::planner_step`, so a budget stop resumes where it left off.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::exec::{Exec, Stop, answer_from};
use crate::memory::Check;
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
    pub fn reference(&self) -> String {
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

pub async fn run(exec: &mut Exec<'_>) -> Result<Answer, Stop> {
    // Everything recalled is listed in the answer unless it was checked, used or applied.
    for h in exec.inv.recalled.clone() {
        if !exec
            .inv
            .planner
            .memories
            .iter()
            .any(|e| e.reference == h.memory.id)
        {
            exec.inv
                .planner
                .memories
                .push(super::recall::evidence(&h.memory));
        }
    }
    if exec.inv.playbook == Playbook::Incident
        && exec.inv.planner_step == 0
        && !exec.inv.planner.memory_checked
    {
        exec.inv.planner.memory_checked = true;
        let wider = ["without memory", "look wider", "full sweep"]
            .iter()
            .any(|w| exec.inv.request.to_lowercase().contains(w));
        if !wider && let Some(held) = super::recall::check_recalled(exec).await? {
            return Ok(answer_from_memory(exec, held));
        }
    }
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

#[allow(clippy::too_many_lines)] // the incident playbook's steps in order, one match arm each
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
            exec.inv.planner.request_names = request
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|w| w.contains('-') && w.chars().any(|c| c.is_ascii_alphabetic()))
                .map(|w| w.trim_matches('-').to_lowercase())
                .collect();
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
            // What was learned before about this workload, when the request did not name
            // it (the recall at the start covered it then): hypotheses only.
            let named = target.as_ref().is_none_or(|t| t.named_in_request);
            let mut recall = json!({"text": request, "top": 3});
            if let Some(t) = &target {
                recall["service"] = json!(t.name);
                if let Some(ns) = &t.namespace {
                    recall["namespace"] = json!(ns);
                }
            }
            if !named
                && let Ok(r) = exec.tool("recall_memory", recall).await
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
                let query = error_query(&log_message(line));
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
            trace_env_to_configmap(exec, &t).await?;
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
            if let Some(c) = verify(exec, &t, &h.check).await? {
                let delta = match (&h.check, c.confirmed) {
                    (Check::OomAtLimit, true) => 0.15,
                    (_, true) => 0.2,
                    (_, false) => -0.2,
                };
                h.confidence = (h.confidence + delta).clamp(0.05, 0.95);
                h.evidence.extend(c.evidence.clone());
                exec.checkpoint(Stage::Verified, c.detail, h.confidence, c.evidence);
                exec.inv.planner.hypothesis = Some(h);
            }
            Ok(None)
        }
        // Suggest, then answer.
        _ => {
            let t = exec.inv.planner.target.clone();
            let h = exec.inv.planner.hypothesis.clone();
            if let Some(h) = &h {
                suggest(exec, &h.actions, h.confidence, h.evidence.clone());
            }
            let text = incident_answer(exec, t.as_ref(), h.as_ref());
            Ok(Some(finish(exec, text, h.map(|h| h.confidence))))
        }
    }
}

/// Propose each action (nothing runs without a keypress) and checkpoint the last.
fn suggest(
    exec: &mut Exec<'_>,
    actions: &[(String, String)],
    confidence: f32,
    evidence: Vec<Evidence>,
) {
    // What a person said not to do here is not proposed, and the answer says so.
    let mut kept: Vec<&(String, String)> = Vec::new();
    for a in actions {
        match super::recall::forbidding(&exec.inv.recalled, &a.0) {
            Some(hit) => {
                let id = hit.memory.id.clone();
                exec.emit(Event::MemoryHit {
                    memory: id.clone(),
                    kind: hit.memory.kind.as_str().to_string(),
                    score: hit.score,
                    why: format!("{}; applied: `{}` not proposed", hit.why, a.0),
                    used: true,
                });
                if !exec.inv.memories_used.contains(&id) {
                    exec.inv.memories_used.push(id.clone());
                }
                exec.inv
                    .planner
                    .withheld
                    .push((a.0.clone(), id, hit.memory.title().to_string()));
            }
            None => kept.push(a),
        }
    }
    for (cmd, why) in &kept {
        exec.propose(cmd, why);
    }
    if let Some((cmd, _)) = kept.last() {
        exec.checkpoint(
            Stage::SuggestedAction,
            format!("suggest: {cmd}"),
            confidence,
            evidence,
        );
    }
}

fn exec_call(name: &str, args: Value) -> (String, Value) {
    (name.to_string(), args)
}

/// A log line without its timestamp and level, cut to a readable length.
fn log_message(line: &str) -> String {
    // Structured (JSON) logs: the message and the error.
    if line.trim_start().starts_with('{')
        && let Ok(v) = serde_json::from_str::<Value>(line.trim())
    {
        let field = |keys: &[&str]| keys.iter().find_map(|k| v[*k].as_str()).map(str::to_string);
        let msg = field(&["msg", "message", "event"]);
        let err = field(&["error", "err", "exception"]);
        let text = match (msg, err) {
            (Some(m), Some(e)) => format!("{m}: {e}"),
            (Some(m), None) => m,
            (None, Some(e)) => e,
            (None, None) => line.trim().to_string(),
        };
        return text.chars().take(140).collect();
    }
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

/// When a workload fails at start-up on a setting its log names (`PAYMENTS_TIMEOUT_MS`),
/// read the Deployment once to see which ConfigMap key feeds that variable, and note it
/// (with the value the log quotes) for the hypothesis.
#[allow(clippy::expect_used)] // constant patterns, valid by construction
async fn trace_env_to_configmap(exec: &mut Exec<'_>, t: &Target) -> Result<(), Stop> {
    use std::sync::LazyLock;
    static ENV: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b").expect("valid regex"));
    static QUOTED: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r#""([^"]{1,80})""#).expect("valid regex"));
    let st = &exec.inv.planner;
    let failing_start = t.has("crash_loop_back_off") || t.has("container_config_error");
    let texts = clue_texts(t, st);
    // After a rollout the new revision is the first suspect, not its configuration.
    let recent = t.has("rollout_stuck") || t.has("recent_rollout");
    if t.kind != "Deployment"
        || !failing_start
        || (recent && !t.has("container_config_error"))
        || config_problem(&texts).is_some()
    {
        return Ok(());
    }
    let lines: Vec<String> = st
        .notes
        .iter()
        .filter(|n| !n.starts_with("feedback:") && ENV.is_match(n))
        .cloned()
        .collect();
    let Some(line) = lines.first() else {
        return Ok(());
    };
    let vars: Vec<&str> = ENV.find_iter(line).map(|m| m.as_str()).collect();
    let r = exec
        .tool(
            "kube_get",
            json!({"resource": "deployments", "name": t.name, "namespace": t.namespace}),
        )
        .await?;
    let Ok(out) = r.output else { return Ok(()) };
    let containers = out.data["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &containers {
        for e in c["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().unwrap_or("");
            let r = &e["valueFrom"]["configMapKeyRef"];
            if let (true, Some(cm), Some(key)) =
                (vars.contains(&name), r["name"].as_str(), r["key"].as_str())
            {
                let value = QUOTED
                    .captures(line)
                    .map(|q| format!("=\"{}\"", &q[1]))
                    .unwrap_or_default();
                exec.inv.planner.notes.push(format!(
                    "configmap {cm} key {key}{value} (env {name} of {})",
                    t.name
                ));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// What the findings and the log said about the target (not the engineer's feedback).
fn clue_texts(t: &Target, st: &PlannerState) -> Vec<String> {
    let mut texts = t.summaries.clone();
    texts.extend(
        st.notes
            .iter()
            .filter(|n| !n.starts_with("feedback:"))
            .cloned(),
    );
    texts
}

/// A ConfigMap problem a finding or log line names: (ConfigMap, key, the bad value when
/// the key is there).
#[allow(clippy::expect_used)] // constant patterns, valid by construction
fn config_problem(texts: &[String]) -> Option<(String, String, Option<String>)> {
    use std::sync::LazyLock;
    static MISSING: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"(?i)couldn't find key "?([A-Za-z0-9_.-]+)"? in ConfigMap (?:[a-z0-9.-]+/)?([a-z0-9][a-z0-9.-]*)"#)
            .expect("valid regex")
    });
    static NAMED: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r#"(?i)config ?map[\s/:"'=]+([a-z0-9][a-z0-9.-]*[a-z0-9])"#)
            .expect("valid regex")
    });
    static KEY: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[A-Z][A-Z0-9_]{2,}\b").expect("valid regex"));
    for t in texts {
        if let Some(c) = MISSING.captures(t) {
            return Some((c[2].to_string(), c[1].to_string(), None));
        }
    }
    for t in texts {
        let Some(c) = NAMED.captures(t) else { continue };
        let configmap = c[1].to_string();
        let Some(key) = KEY
            .find_iter(t)
            .map(|m| m.as_str())
            .find(|k| !["ERROR", "FATAL", "WARN", "INFO", "DEBUG", "PANIC"].contains(k))
        else {
            continue;
        };
        // The value follows the key: KEY="v", KEY=v, KEY "v".
        let rest = &t[t.find(key).map_or(0, |i| i + key.len())..];
        let rest = rest.trim_start_matches([' ', '=', ':']);
        let value = if let Some(q) = rest.strip_prefix('"') {
            q.split('"').next().map(str::to_string)
        } else {
            None
        };
        return Some((configmap, key.to_string(), value));
    }
    None
}

#[allow(clippy::too_many_lines)] // one rule per finding kind, in priority order
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
            check: Check::DependencyDown { service: dep },
            evidence,
        };
    }
    let texts = clue_texts(t, st);
    if let Some((configmap, key, value)) =
        config_problem(&texts).filter(|_| t.has("container_config_error") || !recent)
    {
        let (text, why) = match &value {
            None => (
                format!(
                    "ConfigMap {configmap} has no key {key}, which {} needs at start-up (removed or renamed)",
                    t.name
                ),
                format!("after restoring {key} in {configmap}: start the pods again"),
            ),
            Some(v) => (
                format!(
                    "ConfigMap {configmap} holds a bad value for {key} ({v:?}); {} fails at start-up reading it",
                    t.name
                ),
                format!("after fixing {key} in {configmap}: start the pods again"),
            ),
        };
        return Hypothesis {
            text,
            confidence: 0.6,
            actions: vec![
                (
                    format!("kubectl get configmap {configmap}{ns} -o yaml"),
                    format!("see {key} as the pods read it"),
                ),
                if recent {
                    (
                        format!("kubectl rollout undo {workload}{ns}"),
                        format!("or return to the revision that ran, until {key} is fixed"),
                    )
                } else {
                    (format!("kubectl rollout restart {workload}{ns}"), why)
                },
            ],
            check: Check::ConfigKey {
                configmap,
                key,
                value,
            },
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
    // A workload that cannot start and leaves its own Service empty: everything that
    // calls it fails. The alert may be about one of those callers.
    let service_empty = st.findings.iter().any(|f| {
        f["kind"].as_str() == Some("service_no_endpoints")
            && f["resource"]["name"].as_str() == Some(t.name.as_str())
    });
    if failing_start && service_empty && t.kind == "Deployment" {
        let detail = log_hint
            .as_deref()
            .map(|l| format!(" ({})", log_message(l)))
            .unwrap_or_default();
        let caller = st
            .request_names
            .iter()
            .find(|n| *n != &t.name)
            .map(|n| format!("; the errors of {n} follow from it"))
            .unwrap_or_default();
        return Hypothesis {
            text: format!(
                "{} is down: its pods fail at start-up{detail} and its Service has no ready endpoints, so every caller of {} fails{caller}",
                t.name, t.name
            ),
            confidence: 0.55,
            actions: vec![
                (
                    format!("kubectl logs {workload}{ns} --previous"),
                    format!("why {} fails to start", t.name),
                ),
                (
                    format!("kubectl describe {workload}{ns}"),
                    "events and the last state of its containers".into(),
                ),
            ],
            check: Check::DependencyDown {
                service: t.name.clone(),
            },
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
            check: Check::Unschedulable,
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

/// What one checking read found.
pub struct Checked {
    pub confirmed: bool,
    pub detail: String,
    pub evidence: Vec<Evidence>,
}

impl Checked {
    fn yes(detail: String, evidence: Vec<Evidence>) -> Self {
        Self {
            confirmed: true,
            detail,
            evidence,
        }
    }
    fn no(detail: String, evidence: Vec<Evidence>) -> Self {
        Self {
            confirmed: false,
            detail,
            evidence,
        }
    }
}

/// Pods of a workload: `name-<hash>-<id>` for Deployments, `name-<n>` for StatefulSets.
fn pods_of<'v>(list: &'v Value, workload: &str) -> Vec<&'v Value> {
    let prefix = format!("{workload}-");
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect()
}

/// One read that confirms or contradicts a cause; `None` when nothing cheap checks it or
/// the read failed.
pub async fn verify(
    exec: &mut Exec<'_>,
    t: &Target,
    check: &Check,
) -> Result<Option<Checked>, Stop> {
    let ns = t.namespace.clone();
    let get = |resource: &str, name: Option<&str>| {
        let mut args = json!({"resource": resource, "namespace": ns});
        if let Some(n) = name {
            args["name"] = json!(n);
        }
        args
    };
    let args = match check {
        Check::None => return Ok(None),
        Check::NewReplicaSetFailing => get("replicasets", None),
        Check::OomAtLimit | Check::Unschedulable => get("pods", None),
        Check::NoEndpoints => get("deployments", None),
        Check::DependencyDown { service } => get("deployments", Some(service)),
        Check::ConfigKey { configmap, .. } => get("configmaps", Some(configmap)),
        Check::CronJobRan { cronjob } => get("cronjobs", Some(cronjob)),
    };
    let r = exec.tool("kube_get", args).await?;
    let data = match r.output {
        Ok(out) => out.data,
        // A named object that is gone contradicts a claim about it.
        Err(e) if e.contains("not found") || e.contains("404") => {
            return Ok(Some(Checked::no(format!("not found: {e}"), Vec::new())));
        }
        Err(_) => return Ok(None),
    };
    let now = exec.shared.tools.now();
    Ok(Some(judge(t, check, &data, now)))
}

/// The verdict of a check on what the read returned.
#[allow(clippy::too_many_lines)] // one verdict per kind of check
pub fn judge(
    t: &Target,
    check: &Check,
    data: &Value,
    now: chrono::DateTime<chrono::Utc>,
) -> Checked {
    match check {
        Check::None => Checked::no("nothing to check".into(), Vec::new()),
        Check::NewReplicaSetFailing => {
            let mut sets: Vec<(i64, String, i64, i64, String)> = data
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
                return Checked::no(
                    format!(
                        "{} has no two live revisions to compare (no rollout in progress)",
                        t.name
                    ),
                    Vec::new(),
                );
            };
            let evidence = [new, old]
                .iter()
                .map(|s| {
                    ev(
                        EvidenceKind::Resource,
                        format!("ReplicaSet/{}", s.1),
                        format!("revision {}: {} of {} ready, {}", s.0, s.3, s.2, s.4),
                    )
                })
                .collect();
            if new.3 < new.2 && old.3 > 0 {
                Checked::yes(
                    format!(
                        "confirmed: revision {} ({}) has {} of {} ready; revision {} ({}) serves with {} ready",
                        new.0, new.4, new.3, new.2, old.0, old.4, old.3
                    ),
                    evidence,
                )
            } else {
                Checked::no(
                    format!(
                        "not confirmed: the newest revision {} has {} of {} ready",
                        new.0, new.3, new.2
                    ),
                    evidence,
                )
            }
        }
        Check::NoEndpoints => {
            let zero: Vec<String> = data
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["spec"]["replicas"].as_i64() == Some(0))
                .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            match zero
                .iter()
                .find(|d| d.contains(&t.name) || t.name.contains(d.as_str()))
            {
                Some(d) => Checked::yes(
                    format!("confirmed: deployment {d} is scaled to 0 replicas"),
                    vec![ev(
                        EvidenceKind::Resource,
                        format!("Deployment/{d}"),
                        "spec.replicas = 0",
                    )],
                ),
                None => Checked::no(
                    format!("no deployment behind {} is scaled to zero", t.name),
                    Vec::new(),
                ),
            }
        }
        Check::OomAtLimit => {
            let pods = pods_of(data, &t.name);
            let oom: Vec<&str> = pods
                .iter()
                .filter(|p| {
                    p["status"]["containerStatuses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|s| {
                            s["lastState"]["terminated"]["reason"].as_str() == Some("OOMKilled")
                                || s["state"]["terminated"]["reason"].as_str() == Some("OOMKilled")
                        })
                })
                .filter_map(|p| p["metadata"]["name"].as_str())
                .collect();
            match oom.first() {
                Some(pod) => Checked::yes(
                    format!(
                        "confirmed: {} of {} pods of {} last terminated with OOMKilled",
                        oom.len(),
                        pods.len(),
                        t.name
                    ),
                    vec![ev(
                        EvidenceKind::Resource,
                        format!("Pod/{pod}"),
                        "lastState.terminated.reason = OOMKilled",
                    )],
                ),
                None => Checked::no(
                    format!(
                        "none of the {} pods of {} shows an OOMKilled termination now",
                        pods.len(),
                        t.name
                    ),
                    Vec::new(),
                ),
            }
        }
        Check::Unschedulable => {
            let pods = pods_of(data, &t.name);
            let stuck: Vec<(&str, &str)> = pods
                .iter()
                .filter(|p| p["status"]["phase"].as_str() == Some("Pending"))
                .filter_map(|p| {
                    let c = p["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|c| {
                            c["type"].as_str() == Some("PodScheduled")
                                && c["status"].as_str() == Some("False")
                        })?;
                    Some((
                        p["metadata"]["name"].as_str().unwrap_or(""),
                        c["message"].as_str().unwrap_or(""),
                    ))
                })
                .collect();
            match stuck.first() {
                Some((pod, msg)) => Checked::yes(
                    format!(
                        "confirmed: {} of {} pods of {} cannot be scheduled: {msg}",
                        stuck.len(),
                        pods.len(),
                        t.name
                    ),
                    vec![ev(
                        EvidenceKind::Resource,
                        format!("Pod/{pod}"),
                        format!("PodScheduled=False: {msg}"),
                    )],
                ),
                None => Checked::no(format!("every pod of {} is scheduled", t.name), Vec::new()),
            }
        }
        Check::DependencyDown { service } => {
            let ready = data["status"]["readyReplicas"].as_i64().unwrap_or(0);
            let want = data["spec"]["replicas"].as_i64().unwrap_or(0);
            let evidence = vec![ev(
                EvidenceKind::Resource,
                format!("Deployment/{service}"),
                format!("{ready} of {want} ready"),
            )];
            if ready == 0 {
                Checked::yes(
                    format!("confirmed: {service} has 0 of {want} replicas ready"),
                    evidence,
                )
            } else {
                Checked::no(
                    format!("{service} is up: {ready} of {want} replicas ready"),
                    evidence,
                )
            }
        }
        Check::ConfigKey {
            configmap,
            key,
            value,
        } => {
            let now_value = data["data"][key.as_str()].as_str();
            let reference = format!("ConfigMap/{configmap}");
            match (value, now_value) {
                (None, None) => Checked::yes(
                    format!("confirmed: ConfigMap {configmap} has no key {key}"),
                    vec![ev(
                        EvidenceKind::Resource,
                        reference,
                        format!("{key} absent"),
                    )],
                ),
                (Some(v), Some(n)) if v == n => Checked::yes(
                    format!("confirmed: ConfigMap {configmap} sets {key}={n:?}"),
                    vec![ev(
                        EvidenceKind::Resource,
                        reference,
                        format!("{key}={n:?}"),
                    )],
                ),
                (_, Some(n)) => Checked::no(
                    format!("ConfigMap {configmap} now sets {key}={n:?}"),
                    Vec::new(),
                ),
                (Some(_), None) => Checked::no(
                    format!("ConfigMap {configmap} has no key {key} now"),
                    Vec::new(),
                ),
            }
        }
        Check::CronJobRan { cronjob } => {
            let suspended = data["spec"]["suspend"].as_bool() == Some(true);
            let last = data["status"]["lastScheduleTime"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&chrono::Utc));
            let active = data["status"]["active"].as_array().map_or(0, |a| a.len());
            let when = last.map_or("never".to_string(), |l| {
                format!(
                    "{} ({} min before now)",
                    l.format("%Y-%m-%d %H:%M UTC"),
                    (now - l).num_minutes()
                )
            });
            let evidence = vec![ev(
                EvidenceKind::Resource,
                format!("CronJob/{cronjob}"),
                format!(
                    "last run {when}; {active} active job(s){}",
                    if suspended { "; suspended" } else { "" }
                ),
            )];
            let recent = last.is_some_and(|l| {
                let age = now - l;
                age >= chrono::Duration::zero() && age <= chrono::Duration::hours(3)
            });
            if suspended {
                Checked::no(
                    format!("CronJob {cronjob} is suspended; it last ran {when}"),
                    evidence,
                )
            } else if recent || active > 0 {
                Checked::yes(
                    format!("confirmed: CronJob {cronjob} ran at {when}, {active} job(s) active"),
                    evidence,
                )
            } else {
                Checked::no(
                    format!("CronJob {cronjob} did not run recently: last run {when}"),
                    evidence,
                )
            }
        }
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
        suggestions(st, &h.actions, &mut s);
    }
    if !st.excluded.is_empty() {
        let _ = writeln!(s, "\nLeft alone as you asked: {}.", st.excluded.join(", "));
    }
    memory_notes(st, &mut s);
    s
}

/// Memories checked and found wrong today, and those that could not be checked.
/// The suggested commands, and those a correction kept back.
fn suggestions(st: &PlannerState, actions: &[(String, String)], s: &mut String) {
    let withheld = |cmd: &str| st.withheld.iter().find(|w| w.0 == cmd);
    if actions.iter().any(|(cmd, _)| withheld(cmd).is_none()) {
        let _ = writeln!(s, "\n**Suggested (nothing runs until you approve):**");
        for (cmd, why) in actions.iter().filter(|(cmd, _)| withheld(cmd).is_none()) {
            let _ = writeln!(s, "- `{cmd}`: {why}");
        }
    }
    for (cmd, id, says) in actions.iter().filter_map(|(cmd, _)| withheld(cmd)) {
        let _ = writeln!(
            s,
            "\n**Not suggested, as a correction says:** `{cmd}` (`{id}`: {says})"
        );
    }
}

fn memory_notes(st: &PlannerState, s: &mut String) {
    if !st.rejected.is_empty() {
        let _ = writeln!(s, "\n**Memories checked and set aside (wrong today):**");
        for (id, why) in &st.rejected {
            let _ = writeln!(s, "- `{id}`: {why}");
        }
    }
    // Those checked, used or applied are said above.
    let unverified: Vec<&Evidence> = st
        .memories
        .iter()
        .filter(|m| {
            st.from_memory.as_deref() != Some(m.reference.as_str())
                && !st.rejected.iter().any(|(id, _)| id == &m.reference)
                && !st.withheld.iter().any(|w| w.1 == m.reference)
        })
        .collect();
    if !unverified.is_empty() {
        let _ = writeln!(
            s,
            "\n**Memories that may apply (not verified, not relied on):**"
        );
        for m in unverified {
            let _ = writeln!(s, "- `{}` {}", m.reference, m.detail);
        }
    }
}

/// The answer when a recalled memory held today: its cause, what the check saw, and the
/// note that nothing else was looked at.
fn answer_from_memory(exec: &mut Exec<'_>, held: super::recall::Held) -> Answer {
    let super::recall::Held {
        memory: m,
        claim,
        checked,
    } = held;
    exec.inv.planner.from_memory = Some(m.id.clone());
    // What the investigation was about, for the scope of what is learned next.
    let (kind, ns, name) = claim.parts();
    exec.inv.planner.target = Some(Target {
        kind: kind.to_string(),
        namespace: ns.map(str::to_string),
        name: name.to_string(),
        named_in_request: request_mentions(&exec.inv.request, name),
        ..Target::default()
    });
    let mem_ev = super::recall::evidence(&m);
    let base = m.confidence.clamp(0.3, 0.8);
    exec.checkpoint(
        Stage::ScopeFound,
        format!("{} (from memory {}: {})", claim.resource, m.id, m.title()),
        base,
        vec![mem_ev.clone()],
    );
    exec.checkpoint(
        Stage::Hypothesis,
        claim.hypothesis.clone(),
        base,
        vec![mem_ev.clone()],
    );
    let confidence = (base + 0.15).min(0.85);
    let mut evidence = checked.evidence.clone();
    evidence.push(mem_ev);
    exec.checkpoint(
        Stage::Verified,
        checked.detail.clone(),
        confidence,
        evidence.clone(),
    );
    if !claim.expected {
        suggest(exec, &claim.actions, confidence, evidence);
    }
    let mut s = String::new();
    let _ = writeln!(s, "## {}\n", claim.resource);
    if claim.expected {
        let _ = writeln!(
            s,
            "**Expected, leave it alone:** {}. Nothing to do; no action is proposed.\n",
            claim.hypothesis
        );
    } else {
        let _ = writeln!(s, "**Likely cause:** {}\n", claim.hypothesis);
    }
    let _ = writeln!(
        s,
        "**Confidence:** {} ({confidence:.2})\n",
        confidence_label(confidence)
    );
    let _ = writeln!(
        s,
        "**From memory** `{}` ({}, {}; confirmed {}x, contradicted {}x): {}\n",
        m.id,
        m.kind.as_str(),
        m.source,
        m.confirmations,
        m.contradictions,
        m.title()
    );
    let _ = writeln!(s, "**Checked today:** {}", checked.detail);
    if !claim.expected && !claim.actions.is_empty() {
        suggestions(&exec.inv.planner, &claim.actions, &mut s);
    }
    let st = exec.inv.planner.clone();
    memory_notes(&st, &mut s);
    let _ = writeln!(
        s,
        "\nOnly this memory was checked; the full sweep was skipped. Ask again with \"without memory\" to run it."
    );
    finish(exec, s, Some(confidence))
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

#[allow(clippy::too_many_lines)] // the issue playbook's steps in order, one match arm each
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
