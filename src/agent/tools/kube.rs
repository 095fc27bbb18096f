//! Tools over the Kubernetes context: findings, objects, logs, events. Read-only: the
//! client's request guard refuses anything else.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::ToolData;
use super::data::{KubeObject, LogTail, ScanData};
use super::{Tool, ToolContext, ToolError, ToolOutput, arg, bool_arg, quote, req_str, str_arg};
use crate::kube::names::{self, NameKind};
use crate::kube::state::ResourceRef;
use crate::protocol::{Evidence, EvidenceKind};

pub fn tools() -> Vec<Tool> {
    vec![
        Tool {
            name: "kube_findings",
            description: "Scan the current namespace: crashlooping or OOMKilled pods, failed or recent rollouts, pending pods, services without endpoints, failed jobs, missed CronJobs, node pressure, with evidence and the workloads' files in this repo.",
            parameters: json!({"type":"object","properties":{
                "workload":{"type":"string","description":"only findings whose resource name contains this"},
                "refresh":{"type":"boolean"}}}),
            timeout: None,
            human: |_| "triage kube scan".to_string(),
            run: Some(|ctx, args| Box::pin(findings(ctx, args))),
        },
        Tool {
            name: "kube_get",
            description: "Get Kubernetes objects (like kubectl get -o json, trimmed): one by name, or a list with an optional label selector; with resource=pods and node, the pods on that node in every namespace. Secret values are never returned.",
            parameters: json!({"type":"object","properties":{
                "resource":{"type":"string","description":"pods, deployments, replicasets, services, configmaps, cronjobs, jobs, events, nodes, …"},
                "name":{"type":"string"},
                "namespace":{"type":"string"},
                "selector":{"type":"string"},
                "all_namespaces":{"type":"boolean","description":"a list of every namespace (like kubectl get -A)"},
                "node":{"type":"string","description":"with resource=pods: the pods on this node, in every namespace"}},"required":["resource"]}),
            timeout: None,
            human: |args| {
                if let Some(node) = str_arg(args, "node") {
                    return format!(
                        "kubectl get pods -A --field-selector {}",
                        quote(&format!("spec.nodeName={node}"))
                    );
                }
                let mut cmd = format!("kubectl get {}", quote(arg(args, "resource")));
                if let Some(n) = str_arg(args, "name") {
                    let _ = write!(cmd, " {}", quote(n));
                }
                if let Some(sel) = str_arg(args, "selector") {
                    let _ = write!(cmd, " -l {}", quote(sel));
                }
                if every_namespace(args) {
                    return cmd + " -A";
                }
                cmd + &ns_flag(args)
            },
            run: Some(|ctx, args| Box::pin(get(ctx, args))),
        },
        Tool {
            name: "kube_logs",
            description: "The tail of a pod's container log (use previous=true for the crashed instance).",
            parameters: json!({"type":"object","properties":{
                "pod":{"type":"string"},
                "container":{"type":"string"},
                "namespace":{"type":"string"},
                "previous":{"type":"boolean"}},"required":["pod"]}),
            timeout: None,
            human: |args| {
                let mut cmd = format!("kubectl logs {}", quote(arg(args, "pod")));
                if let Some(c) = str_arg(args, "container") {
                    let _ = write!(cmd, " -c {}", quote(c));
                }
                if bool_arg(args, "previous") {
                    cmd.push_str(" --previous");
                }
                cmd + &ns_flag(args)
            },
            run: Some(|ctx, args| Box::pin(logs(ctx, args))),
        },
        Tool {
            name: "kube_events",
            description: "Recent events in the namespace, newest first, optionally only those about one object.",
            parameters: json!({"type":"object","properties":{
                "namespace":{"type":"string"},
                "kind":{"type":"string"},
                "name":{"type":"string"}}}),
            timeout: None,
            human: |args| {
                let mut cmd = "kubectl get events --sort-by=.lastTimestamp".to_string();
                if let Some(n) = str_arg(args, "name") {
                    let _ = write!(cmd, " --field-selector involvedObject.name={}", quote(n));
                }
                cmd + &ns_flag(args)
            },
            run: Some(|ctx, args| Box::pin(events(ctx, args))),
        },
    ]
}

/// A list across every namespace (`all_namespaces`, never with a name).
fn every_namespace(args: &Value) -> bool {
    bool_arg(args, "all_namespaces") && str_arg(args, "name").is_none()
}

fn ns_flag(args: &Value) -> String {
    str_arg(args, "namespace")
        .map(|n| format!(" -n {}", quote(n)))
        .unwrap_or_default()
}

async fn findings(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let report = ctx.scan(bool_arg(args, "refresh")).await?;
    if let crate::kube::source::ClusterStatus::Unreachable { server, reason } = &report.status {
        return Err(ToolError::Unavailable(format!(
            "the cluster at {server} is unreachable: {reason}"
        )));
    }
    let filter = str_arg(args, "workload").map(str::to_lowercase);
    let links = crate::kube::links::by_workload(&report.links);
    let mut text = format!(
        "{} as of {} ({})\n",
        report.scope,
        report.as_of.format("%Y-%m-%d %H:%M:%SZ"),
        report.source
    );
    let mut evidence = Vec::new();
    let mut shown = Vec::new();
    for f in &report.findings {
        if let Some(w) = &filter
            && !f.resource.name.to_lowercase().contains(w.as_str())
        {
            continue;
        }
        let _ = writeln!(
            text,
            "[{}] {} {}: {}",
            f.severity,
            f.kind.as_str(),
            f.resource,
            f.summary
        );
        for e in f.evidence.iter().take(4) {
            let _ = writeln!(text, "    {e}");
        }
        if let Some(link) = links.get(&f.resource) {
            let paths: Vec<&str> = link.paths.iter().take(4).map(|p| p.path.as_str()).collect();
            if !paths.is_empty() {
                let _ = writeln!(text, "    repo: {}", paths.join(", "));
            }
            for c in link.recent_commits.iter().take(3) {
                let _ = writeln!(text, "    commit {} {} {}", c.id, c.date, c.subject);
            }
        }
        evidence.push(Evidence {
            kind: EvidenceKind::Finding,
            reference: f.resource.to_string(),
            detail: format!("{} {}: {}", f.severity, f.kind.as_str(), f.summary),
            call: None,
        });
        shown.push(f);
    }
    if shown.is_empty() {
        text.push_str("no findings\n");
    }
    for e in &report.errors {
        let _ = writeln!(text, "note: could not read {e:?}");
    }
    let data = ToolData::Scan(ScanData {
        findings: shown.iter().map(|f| (*f).clone()).collect(),
        report: report.clone(),
    });
    Ok(ToolOutput {
        summary: match shown.first() {
            Some(f) => format!(
                "{} findings, worst: {} {}",
                shown.len(),
                f.kind.as_str(),
                f.resource.name
            ),
            None => "no findings".into(),
        },
        text,
        evidence,
        data,
    })
}

/// A name argument that will go into a request path or a field selector, checked
/// against Kubernetes' naming rules first: a model's argument is data, never a path.
fn name_arg<'a>(args: &'a Value, key: &str, kind: NameKind) -> Result<Option<&'a str>, ToolError> {
    match str_arg(args, key) {
        Some(v) => names::check(kind, v)
            .map(|()| Some(v))
            .map_err(|m| ToolError::BadArguments(format!("`{key}`: {m}"))),
        None => Ok(None),
    }
}

/// Every name argument of a kube tool call, checked before anything is requested.
pub fn check_arguments(name: &str, args: &Value) -> Result<(), ToolError> {
    name_arg(args, "namespace", NameKind::Namespace)?;
    match name {
        "kube_get" | "kube_events" => {
            name_arg(args, "name", NameKind::Object)?;
            name_arg(args, "node", NameKind::Object)?;
        }
        "kube_logs" => {
            name_arg(args, "pod", NameKind::Object)?;
            name_arg(args, "container", NameKind::Container)?;
        }
        _ => {}
    }
    if let Some(kind) = str_arg(args, "kind")
        && !kind.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ToolError::BadArguments(format!(
            "`kind`: {kind:?} is not a Kubernetes kind (letters and digits, like Pod)"
        )));
    }
    Ok(())
}

/// Drop what only adds noise (managed field sets, last-applied copies) and every Secret
/// value; who wrote an object and when stays.
fn trim_object(v: &mut Value) {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        crate::kube::snapshot::summarize_managed_fields(meta);
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if v.get("kind").and_then(Value::as_str) == Some("Secret")
        && let Some(obj) = v.as_object_mut()
    {
        for key in ["data", "stringData"] {
            if let Some(Value::Object(m)) = obj.get_mut(key) {
                for val in m.values_mut() {
                    *val = Value::String("(value withheld)".into());
                }
            }
        }
    }
}

async fn get(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    check_arguments("kube_get", args)?;
    let resource = req_str(args, "resource")?;
    let cluster = ctx.cluster()?;
    let node = str_arg(args, "node");
    if node.is_some() && !matches!(resource, "pods" | "pod" | "po") {
        return Err(ToolError::BadArguments(format!(
            "`node` lists pods; {resource:?} is not pods"
        )));
    }
    let mut value = match node {
        Some(node) => cluster.pods_on_node(node).await?,
        None if every_namespace(args) => {
            cluster
                .kube_list_all(resource, str_arg(args, "selector"))
                .await?
        }
        None => {
            cluster
                .kube_get(
                    resource,
                    str_arg(args, "namespace"),
                    str_arg(args, "name"),
                    str_arg(args, "selector"),
                )
                .await?
        }
    };
    let secretish = resource.to_lowercase().starts_with("secret");
    let items: Vec<&mut Value> = match &mut value {
        Value::Array(a) => a.iter_mut().collect(),
        one => vec![one],
    };
    let count = items.len();
    for v in items {
        if secretish && let Some(obj) = v.as_object_mut() {
            obj.insert("kind".into(), Value::String("Secret".into()));
        }
        trim_object(v);
    }
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    let what = match (str_arg(args, "name"), node) {
        (Some(n), _) => format!("{resource}/{n}"),
        (None, Some(node)) => format!("{count} {resource} on {node}"),
        (None, None) => format!("{count} {resource}"),
    };
    Ok(ToolOutput {
        summary: what.clone(),
        text,
        evidence: vec![Evidence {
            kind: EvidenceKind::Resource,
            reference: what,
            detail: "read".into(),
            call: None,
        }],
        data: ToolData::Objects(objects(resource, value)),
    })
}

/// The objects of a `kube_get` answer, each parsed as its kind (a list's items carry no
/// kind of their own: the requested type gives it).
fn objects(resource: &str, value: Value) -> Vec<KubeObject> {
    let kind = crate::kube::resources::resolve(resource).map_or("", |t| t.kind);
    let items = match value {
        Value::Array(items) => items,
        one => vec![one],
    };
    items
        .into_iter()
        .map(|v| {
            let k = v
                .get("kind")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| kind.to_string());
            KubeObject::parse(&k, v)
        })
        .collect()
}

async fn logs(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    check_arguments("kube_logs", args)?;
    let pod = req_str(args, "pod")?;
    let cluster = ctx.cluster()?;
    let previous = bool_arg(args, "previous");
    let text = cluster
        .kube_logs(
            str_arg(args, "namespace"),
            pod,
            str_arg(args, "container"),
            previous,
        )
        .await?;
    let lines = text.lines().count();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| {
            let lower = l.to_lowercase();
            klog_error(l)
                || [
                    "error",
                    "fatal",
                    "panic",
                    "exception",
                    "refused",
                    "timeout",
                    "oom",
                ]
                .iter()
                .any(|k| lower.contains(k))
        })
        .collect();
    Ok(ToolOutput {
        summary: format!(
            "{lines} log lines from {pod}{}, {} look like errors",
            if previous { " (previous)" } else { "" },
            errors.len()
        ),
        evidence: errors
            .iter()
            .rev()
            .take(2)
            .map(|l| Evidence {
                kind: EvidenceKind::Log,
                reference: format!("Pod/{pod}"),
                detail: l.chars().take(200).collect(),
                call: None,
            })
            .collect(),
        data: ToolData::Logs(LogTail {
            pod: pod.to_string(),
            namespace: str_arg(args, "namespace").map(str::to_string),
            container: str_arg(args, "container").map(str::to_string),
            previous,
            error_lines: errors.iter().map(|l| l.to_string()).collect(),
            text: text.clone(),
        }),
        text,
    })
}

async fn events(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    check_arguments("kube_events", args)?;
    let cluster = ctx.cluster()?;
    let ns = str_arg(args, "namespace");
    let about = str_arg(args, "name").map(|name| {
        ResourceRef::new(
            str_arg(args, "kind").unwrap_or("Pod"),
            ns.or(cluster.default_scope().namespace()),
            name,
        )
    });
    let events = cluster.kube_events(ns, about.as_ref()).await?;
    let mut text = String::new();
    for e in events.iter().take(60) {
        let _ = writeln!(
            text,
            "{} {} {} {} (x{}): {}",
            e.last_seen.as_deref().unwrap_or("-"),
            e.type_,
            e.reason,
            e.about,
            e.count,
            e.message
        );
    }
    if events.is_empty() {
        text.push_str("no events\n");
    }
    let warnings = events.iter().filter(|e| e.type_ == "Warning").count();
    Ok(ToolOutput {
        summary: format!("{} events, {warnings} warnings", events.len()),
        text,
        evidence: events
            .iter()
            .filter(|e| e.type_ == "Warning")
            .take(3)
            .map(|e| Evidence {
                kind: EvidenceKind::Event,
                reference: e.about.to_string(),
                detail: format!("{}: {}", e.reason, e.message),
                call: None,
            })
            .collect(),
        data: ToolData::Events(events),
    })
}

/// A line Kubernetes components write at error or fatal severity (klog's header:
/// `E0723 14:42:00.021481 1 scraper.go:149] …`).
fn klog_error(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 6
        && matches!(b[0], b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
}

#[cfg(test)]
mod klog_tests {
    #[test]
    fn klog_error_and_fatal_lines_are_errors() {
        assert!(super::klog_error(
            "E0723 14:42:00.021481       1 scraper.go:149] \"Failed to scrape node\""
        ));
        assert!(super::klog_error("F0101 00:00:00.000000 1 main.go:1] boom"));
        assert!(!super::klog_error(
            "I0723 14:42:00.021481 1 serving.go:374] Generated self-signed cert"
        ));
        assert!(!super::klog_error("Evicted pods: 3"));
    }
}
