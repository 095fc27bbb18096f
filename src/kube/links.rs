//! Repo ↔ cluster links: which files of the repository a workload comes from. Image
//! names are matched against Dockerfiles and build files, workload names against
//! manifests, Helm charts and kustomizations, service names against code and config.
//! A name written out in a manifest, chart or build file is certain; a directory whose
//! name matches an image, or a service named in code, is inferred. Recent commits that
//! touched the linked paths come from `git log`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::graph::{Graph, GraphNode, Layer, Relation};
use super::state::ResourceRef;

/// What kind of file a link points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Manifest,
    HelmChart,
    Kustomize,
    BuildFile,
    Dockerfile,
    Code,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkedPath {
    /// Relative to the repository root.
    pub path: String,
    pub kind: LinkKind,
    pub layer: Layer,
    /// Why: what matched.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub date: String,
    pub author: String,
    pub subject: String,
}

/// A workload and where it lives in the repository.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadLink {
    pub workload: ResourceRef,
    pub images: Vec<String>,
    pub paths: Vec<LinkedPath>,
    /// Newest first.
    pub recent_commits: Vec<CommitInfo>,
}

const MAX_FILES: usize = 50_000;
const MAX_FILE_BYTES: u64 = 512 * 1024;
const MAX_CODE_MENTIONS: usize = 10;

/// `registry.example.com:5000/shop/checkout-api:1.4.3@sha256:…` →
/// (`registry.example.com:5000/shop/checkout-api`, `shop/checkout-api`, `checkout-api`).
pub fn image_names(image: &str) -> (String, String, String) {
    let no_digest = image.split('@').next().unwrap_or(image);
    // A tag is a colon after the last slash.
    let repo = match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    };
    let parts: Vec<&str> = repo.split('/').collect();
    let has_registry = parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
    let path = if has_registry {
        parts[1..].join("/")
    } else {
        repo.to_string()
    };
    let base = parts.last().copied().unwrap_or(repo).to_string();
    (repo.to_string(), path, base)
}

/// What to look for, per workload.
struct Terms {
    workload: ResourceRef,
    images: Vec<String>,
    /// Image repositories with a path (`shop/checkout-api`), matched literally.
    image_paths: Vec<String>,
    /// Last path segments of the images.
    image_bases: Vec<String>,
    /// Names a chart or manifest may carry: workload name, app labels.
    names: BTreeSet<String>,
    /// `helm.sh/chart` without the version.
    chart: Option<String>,
    /// Services selecting its pods.
    services: Vec<String>,
}

fn terms_for(graph: &Graph, node: &GraphNode) -> Terms {
    let images: Vec<String> = node.images().to_vec();
    let mut image_paths = Vec::new();
    let mut image_bases = Vec::new();
    for img in &images {
        let (_, path, base) = image_names(img);
        if path.contains('/') {
            image_paths.push(path);
        }
        if base.len() >= 3 {
            image_bases.push(base);
        }
    }
    let mut names = BTreeSet::new();
    names.insert(node.id.name.clone());
    for key in [
        "app.kubernetes.io/name",
        "app",
        "app.kubernetes.io/instance",
    ] {
        if let Some(v) = node.labels.get(key) {
            names.insert(v.clone());
        }
    }
    let chart = node.labels.get("helm.sh/chart").map(|c| {
        // `checkout-api-1.2.0` → `checkout-api`
        match c.rfind('-') {
            Some(i) if c[i + 1..].starts_with(|ch: char| ch.is_ascii_digit()) => c[..i].to_string(),
            _ => c.clone(),
        }
    });
    // Pods owned (transitively), then services selecting them.
    let mut owned: Vec<&ResourceRef> = vec![&node.id];
    let mut i = 0;
    while i < owned.len() && owned.len() < 10_000 {
        let cur = owned[i];
        for e in graph.edges_from(cur) {
            if e.relation == Relation::Owns {
                owned.push(&e.to);
            }
        }
        i += 1;
    }
    let mut services: Vec<String> = owned
        .into_iter()
        .filter(|r| r.kind == "Pod")
        .flat_map(|pod| graph.edges_to(pod))
        .filter(|e| e.relation == Relation::Selects)
        .map(|e| e.from.name.clone())
        .collect();
    services.sort();
    services.dedup();
    Terms {
        workload: node.id.clone(),
        images,
        image_paths,
        image_bases,
        names,
        chart,
        services,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileClass {
    Dockerfile,
    Build,
    Chart,
    Kustomization,
    Yaml,
    Code,
}

fn classify(rel: &Path) -> Option<FileClass> {
    let name = rel.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    let in_workflows = rel.to_string_lossy().contains(".github/workflows/");
    if lower == "dockerfile"
        || lower.starts_with("dockerfile.")
        || lower.ends_with(".dockerfile")
        || lower == "containerfile"
    {
        return Some(FileClass::Dockerfile);
    }
    if lower == "chart.yaml" {
        return Some(FileClass::Chart);
    }
    if lower == "kustomization.yaml" || lower == "kustomization.yml" {
        return Some(FileClass::Kustomization);
    }
    let build_names = [
        "makefile",
        "justfile",
        "earthfile",
        "tiltfile",
        "jenkinsfile",
        "package.json",
        "cargo.toml",
        "go.mod",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "build",
        "build.bazel",
        ".gitlab-ci.yml",
    ];
    if build_names.contains(&lower.as_str())
        || lower.ends_with(".mk")
        || lower.starts_with("docker-compose")
        || lower.starts_with("compose.")
        || lower.starts_with("skaffold")
        || lower.starts_with("cloudbuild")
        || lower.starts_with(".goreleaser")
        || lower.starts_with("taskfile")
        || in_workflows
    {
        return Some(FileClass::Build);
    }
    let ext = rel
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "yaml" | "yml" => Some(FileClass::Yaml),
        "rs" | "go" | "py" | "js" | "mjs" | "ts" | "tsx" | "jsx" | "java" | "kt" | "rb" | "php"
        | "cs" | "scala" | "ex" | "exs" | "properties" | "env" | "toml" | "json" | "conf"
        | "ini" | "cfg" | "tf" | "sh" => Some(FileClass::Code),
        _ if lower.starts_with(".env") => Some(FileClass::Code),
        _ => None,
    }
}

/// Does a YAML document stream declare `kind: <kind>` with `name: <name>`?
fn manifest_declares(text: &str, kind: &str, names: &BTreeSet<String>) -> Option<String> {
    for doc in text.split("\n---") {
        let mut kind_ok = false;
        let mut found: Option<String> = None;
        let mut in_metadata = false;
        for line in doc.lines() {
            let trimmed = line.trim();
            if line.starts_with("kind:") && trimmed.trim_start_matches("kind:").trim() == kind {
                kind_ok = true;
            }
            if line.starts_with("metadata:") {
                in_metadata = true;
                continue;
            }
            if in_metadata && !line.starts_with(' ') && !line.is_empty() {
                in_metadata = false;
            }
            if in_metadata && let Some(v) = trimmed.strip_prefix("name:") {
                let v = v.trim().trim_matches('"').trim_matches('\'');
                // Helm templates: `name: {{ include "x.fullname" . }}` do not count.
                if names.contains(v) {
                    found = Some(v.to_string());
                }
            }
        }
        if kind_ok && let Some(n) = found {
            return Some(n);
        }
    }
    None
}

/// `name: <chart>` at the top of a Chart.yaml.
fn chart_name(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("name:"))
        .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
}

/// Whether `text` names `service` as a host: `://svc`, `svc.ns`, `svc:1234`.
fn mentions_service(text: &str, service: &str, namespace: &str) -> Option<String> {
    let patterns = [
        format!("://{service}:"),
        format!("://{service}/"),
        format!("://{service}."),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}:"),
    ];
    for p in &patterns {
        if let Some(i) = text.find(p.as_str()) {
            // A word boundary before the service name.
            let before = text[..i].chars().last();
            let name_at = i + p.find(service).unwrap_or(0);
            let prev = if name_at == i {
                before
            } else {
                text[..name_at].chars().last()
            };
            if prev.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
                return Some(p.trim_end_matches([':', '/', '.']).to_string());
            }
        }
    }
    // `svc:8080` as a bare host:port.
    let needle = format!("{service}:");
    let mut start = 0;
    while let Some(off) = text[start..].find(&needle) {
        let i = start + off;
        let prev = text[..i].chars().last();
        let next = text[i + needle.len()..].chars().next();
        if prev.is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            && next.is_some_and(|c| c.is_ascii_digit())
        {
            return Some(format!("{service}:port"));
        }
        start = i + needle.len();
    }
    None
}

fn rel_string(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Map the workloads of a graph to files of the repository at `repo_root`.
#[allow(clippy::too_many_lines)] // every linking signal (images, names, paths) in one pass
pub fn link_workloads(repo_root: &Path, graph: &Graph) -> Vec<WorkloadLink> {
    let terms: Vec<Terms> = graph.workloads().map(|w| terms_for(graph, w)).collect();
    if terms.is_empty() {
        return Vec::new();
    }
    let mut found: Vec<Vec<LinkedPath>> = vec![Vec::new(); terms.len()];
    let mut code_mentions = vec![0usize; terms.len()];
    let walker = ignore::WalkBuilder::new(repo_root)
        .hidden(false)
        .filter_entry(|e| {
            e.file_name() != ".git" && e.file_name() != "node_modules" && e.file_name() != "target"
        })
        .build();
    let mut files = 0;
    for entry in walker.flatten() {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        files += 1;
        if files > MAX_FILES {
            tracing::warn!("link_workloads: stopped after {MAX_FILES} files");
            break;
        }
        let abs = entry.path();
        let Ok(rel) = abs.strip_prefix(repo_root) else {
            continue;
        };
        let Some(class) = classify(rel) else {
            continue;
        };
        if entry
            .metadata()
            .map(|m| m.len() > MAX_FILE_BYTES)
            .unwrap_or(true)
        {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(abs) else {
            continue;
        };
        let rel_s = rel_string(rel);
        let dir_name = rel
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        for (i, t) in terms.iter().enumerate() {
            let push = |found: &mut Vec<LinkedPath>, kind, layer, reason: String| {
                found.push(LinkedPath {
                    path: rel_s.clone(),
                    kind,
                    layer,
                    reason,
                });
            };
            match class {
                FileClass::Dockerfile => {
                    if let Some(b) = t.image_bases.iter().find(|b| **b == dir_name) {
                        push(
                            &mut found[i],
                            LinkKind::Dockerfile,
                            Layer::Inferred,
                            format!("directory {dir_name}/ matches image {b}"),
                        );
                    } else if t.names.contains(&dir_name) {
                        push(
                            &mut found[i],
                            LinkKind::Dockerfile,
                            Layer::Inferred,
                            format!("directory {dir_name}/ matches workload {dir_name}"),
                        );
                    }
                }
                FileClass::Build => {
                    if let Some(p) = t.image_paths.iter().find(|p| text.contains(p.as_str())) {
                        push(
                            &mut found[i],
                            LinkKind::BuildFile,
                            Layer::Certain,
                            format!("builds image {p}"),
                        );
                    }
                }
                FileClass::Chart => {
                    if let Some(name) = chart_name(&text) {
                        if t.chart.as_deref() == Some(name.as_str()) {
                            push(
                                &mut found[i],
                                LinkKind::HelmChart,
                                Layer::Certain,
                                format!("chart {name} (label helm.sh/chart)"),
                            );
                        } else if t.names.contains(&name) {
                            push(
                                &mut found[i],
                                LinkKind::HelmChart,
                                Layer::Inferred,
                                format!("chart named {name}"),
                            );
                        }
                    }
                }
                FileClass::Kustomization => {
                    if let Some(p) = t
                        .image_paths
                        .iter()
                        .chain(t.image_bases.iter())
                        .find(|p| text.contains(p.as_str()))
                    {
                        push(
                            &mut found[i],
                            LinkKind::Kustomize,
                            Layer::Certain,
                            format!("sets image {p}"),
                        );
                    }
                }
                FileClass::Yaml => {
                    if let Some(n) = manifest_declares(&text, &t.workload.kind, &t.names) {
                        push(
                            &mut found[i],
                            LinkKind::Manifest,
                            Layer::Certain,
                            format!("declares {} {n}", t.workload.kind),
                        );
                    } else if let Some(p) = t.image_paths.iter().find(|p| text.contains(p.as_str()))
                    {
                        // CI pipelines and compose files in YAML.
                        push(
                            &mut found[i],
                            LinkKind::BuildFile,
                            Layer::Certain,
                            format!("names image {p}"),
                        );
                    } else if code_mentions[i] < MAX_CODE_MENTIONS
                        && let Some(m) = t.services.iter().find_map(|s| {
                            mentions_service(
                                &text,
                                s,
                                t.workload.namespace.as_deref().unwrap_or("default"),
                            )
                        })
                    {
                        code_mentions[i] += 1;
                        push(
                            &mut found[i],
                            LinkKind::Code,
                            Layer::Inferred,
                            format!("mentions service host {m}"),
                        );
                    }
                }
                FileClass::Code => {
                    if code_mentions[i] < MAX_CODE_MENTIONS
                        && let Some(m) = t.services.iter().find_map(|s| {
                            mentions_service(
                                &text,
                                s,
                                t.workload.namespace.as_deref().unwrap_or("default"),
                            )
                        })
                    {
                        code_mentions[i] += 1;
                        push(
                            &mut found[i],
                            LinkKind::Code,
                            Layer::Inferred,
                            format!("mentions service host {m}"),
                        );
                    }
                }
            }
        }
    }
    // A chart's templates and a Dockerfile's build context sit next to them: commits there
    // count too.
    let is_git = crate::repo::find_git_root(repo_root).is_some();
    let mut out = Vec::new();
    for (t, mut paths) in terms.into_iter().zip(found) {
        if paths.is_empty() {
            continue;
        }
        paths.sort_by(|a, b| {
            let layer = |l: Layer| if l == Layer::Certain { 0 } else { 1 };
            layer(a.layer)
                .cmp(&layer(b.layer))
                .then(a.kind.cmp(&b.kind))
                .then(a.path.cmp(&b.path))
        });
        paths.dedup_by(|a, b| a.path == b.path);
        let touch: Vec<String> = paths
            .iter()
            .filter(|p| p.kind != LinkKind::Code)
            .map(|p| match p.kind {
                LinkKind::Dockerfile | LinkKind::HelmChart | LinkKind::Kustomize => {
                    Path::new(&p.path)
                        .parent()
                        .map(rel_string)
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| p.path.clone())
                }
                _ => p.path.clone(),
            })
            .collect();
        let recent_commits = if is_git {
            recent_commits(repo_root, &touch, 5)
        } else {
            Vec::new()
        };
        out.push(WorkloadLink {
            workload: t.workload,
            images: t.images,
            paths,
            recent_commits,
        });
    }
    out
}

/// The newest commits touching any of `paths`, from `git log`.
pub fn recent_commits(repo_root: &Path, paths: &[String], max: usize) -> Vec<CommitInfo> {
    let mut unique: Vec<&String> = paths.iter().collect();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Vec::new();
    }
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo_root)
        .args([
            "log",
            "-n",
            &max.to_string(),
            "--format=%h%x1f%aI%x1f%an%x1f%s",
            "--",
        ])
        .args(unique.iter().take(40).map(|p| p.as_str()))
        .output();
    let Ok(output) = output else {
        return Vec::new();
    };
    if !output.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\u{1f}');
            Some(CommitInfo {
                id: f.next()?.to_string(),
                date: f.next()?.to_string(),
                author: f.next()?.to_string(),
                subject: f.next()?.to_string(),
            })
        })
        .collect()
}

/// Links by workload, for lookups from findings.
pub fn by_workload(links: &[WorkloadLink]) -> BTreeMap<&ResourceRef, &WorkloadLink> {
    links.iter().map(|l| (&l.workload, l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_name_parts() {
        assert_eq!(
            image_names("registry.example.com:5000/shop/checkout-api:1.4.3@sha256:abc"),
            (
                "registry.example.com:5000/shop/checkout-api".into(),
                "shop/checkout-api".into(),
                "checkout-api".into()
            )
        );
        assert_eq!(
            image_names("nginx:1.27"),
            ("nginx".into(), "nginx".into(), "nginx".into())
        );
        assert_eq!(
            image_names("ghcr.io/acme/web"),
            ("ghcr.io/acme/web".into(), "acme/web".into(), "web".into())
        );
    }

    #[test]
    fn service_mentions_need_host_context() {
        assert!(
            mentions_service("url = \"http://payments:8080/pay\"", "payments", "shop").is_some()
        );
        assert!(
            mentions_service(
                "PAYMENTS=payments.shop.svc.cluster.local",
                "payments",
                "shop"
            )
            .is_some()
        );
        assert!(mentions_service("redis: payments:6379", "payments", "shop").is_some());
        assert!(mentions_service("// handle payments: retry later", "payments", "shop").is_none());
        assert!(mentions_service("http://old-payments:80", "payments", "shop").is_none());
    }

    #[test]
    fn manifests_are_matched_by_kind_and_name() {
        let names: BTreeSet<String> = ["checkout-api".to_string()].into();
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: checkout-api\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout-api\n  labels:\n    app: checkout-api\n";
        assert_eq!(
            manifest_declares(text, "Deployment", &names).as_deref(),
            Some("checkout-api")
        );
        assert_eq!(manifest_declares(text, "StatefulSet", &names), None);
    }
}
