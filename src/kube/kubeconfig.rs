//! The user's kubeconfig, read as kubectl reads it: `KUBECONFIG` (a path list) or
//! `~/.kube/config`, files merged field by field, the chosen context, and parse errors
//! that name the file, the line and the field; the in-cluster service account when no
//! file exists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use super::error::{KubeError, chain_text};

/// A loaded kubeconfig context.
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: kube::Config,
    /// The context used (none in-cluster).
    pub context: Option<String>,
    /// The kubeconfig files read (empty in-cluster).
    pub files: Vec<PathBuf>,
}

/// The kubeconfig files kubectl would read: `$KUBECONFIG` (a path list), else
/// `~/.kube/config`. Missing files are skipped, as kubectl does.
pub fn kubeconfig_paths() -> (Vec<PathBuf>, String) {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(v) => {
            let all: Vec<PathBuf> = std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            let looked = all
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":");
            (
                all.into_iter().filter(|p| p.exists()).collect(),
                format!("$KUBECONFIG={looked}"),
            )
        }
        None => {
            let path = dirs::home_dir()
                .unwrap_or_default()
                .join(".kube")
                .join("config");
            let looked = path.display().to_string();
            (
                if path.exists() {
                    vec![path]
                } else {
                    Vec::new()
                },
                looked,
            )
        }
    }
}

/// Load a context from kubeconfig files, or the in-cluster config when there are none.
pub async fn load_config(context: Option<&str>) -> Result<LoadedConfig, KubeError> {
    let (files, looked) = kubeconfig_paths();
    if files.is_empty() {
        return match kube::Config::incluster() {
            Ok(config) => Ok(LoadedConfig {
                config,
                context: None,
                files,
            }),
            Err(e) => Err(KubeError::NoConfig {
                looked,
                in_cluster: chain_text(&e),
            }),
        };
    }
    load_kubeconfig_files(&files, context).await
}

/// Where each named entry was first defined.
#[derive(Default)]
struct Origins {
    contexts: HashMap<String, PathBuf>,
    clusters: HashMap<String, PathBuf>,
    users: HashMap<String, PathBuf>,
}

/// Load `context` (default: `current-context`) from these files, merged like kubectl.
/// Errors name the file and the field.
#[allow(clippy::too_many_lines)] // kubectl's merge rules, field by field
pub async fn load_kubeconfig_files(
    files: &[PathBuf],
    context: Option<&str>,
) -> Result<LoadedConfig, KubeError> {
    let mut merged = Kubeconfig::default();
    let mut origins = Origins::default();
    let mut current_from: Option<PathBuf> = None;
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| KubeError::KubeconfigRead {
            path: path.clone(),
            source,
        })?;
        let kc = Kubeconfig::from_yaml(&text).map_err(|e| parse_error(path, &text, &e))?;
        for c in &kc.contexts {
            origins
                .contexts
                .entry(c.name.clone())
                .or_insert_with(|| path.clone());
        }
        for c in &kc.clusters {
            origins
                .clusters
                .entry(c.name.clone())
                .or_insert_with(|| path.clone());
        }
        for u in &kc.auth_infos {
            origins
                .users
                .entry(u.name.clone())
                .or_insert_with(|| path.clone());
        }
        if kc.current_context.is_some() && current_from.is_none() {
            current_from = Some(path.clone());
        }
        merged = merged.merge(kc).map_err(|e| KubeError::Kubeconfig {
            path: path.clone(),
            field: "apiVersion/kind".into(),
            message: e.to_string(),
        })?;
    }
    let first = files.first().cloned().unwrap_or_default();
    let names = |list: Vec<&String>| list.into_iter().cloned().collect::<Vec<_>>().join(", ");
    let context_name = match context
        .map(str::to_string)
        .or_else(|| merged.current_context.clone())
    {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Err(KubeError::Kubeconfig {
                path: first,
                field: "current-context".into(),
                message: format!(
                    "not set; pass --context (contexts: {})",
                    names(merged.contexts.iter().map(|c| &c.name).collect())
                ),
            });
        }
    };
    let Some(ctx) = merged
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
    else {
        let (path, field) = match (context, &current_from) {
            (None, Some(p)) => (p.clone(), "current-context"),
            _ => (first.clone(), "contexts"),
        };
        return Err(KubeError::Kubeconfig {
            path,
            field: field.into(),
            message: format!(
                "no context named `{context_name}` (contexts: {})",
                names(merged.contexts.iter().map(|c| &c.name).collect())
            ),
        });
    };
    let ctx_file = origins
        .contexts
        .get(&context_name)
        .cloned()
        .unwrap_or(first.clone());
    let Some(cluster) = merged
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.clone())
    else {
        return Err(KubeError::Kubeconfig {
            path: ctx_file,
            field: format!("contexts[name={context_name}].context.cluster"),
            message: format!(
                "names cluster `{}`, which is not defined (clusters: {})",
                ctx.cluster,
                names(merged.clusters.iter().map(|c| &c.name).collect())
            ),
        });
    };
    let cluster_file = origins
        .clusters
        .get(&ctx.cluster)
        .cloned()
        .unwrap_or(first.clone());
    let server_field = format!("clusters[name={}].cluster.server", ctx.cluster);
    match cluster.server.as_deref() {
        None | Some("") => {
            return Err(KubeError::Kubeconfig {
                path: cluster_file,
                field: server_field,
                message: "is missing".into(),
            });
        }
        Some(server) => {
            let ok = server
                .parse::<http::Uri>()
                .ok()
                .is_some_and(|u| u.scheme().is_some() && u.host().is_some());
            if !ok {
                return Err(KubeError::Kubeconfig {
                    path: cluster_file,
                    field: server_field,
                    message: format!("`{server}` is not a URL like https://host:6443"),
                });
            }
        }
    }
    let user = ctx.user.clone().unwrap_or_default();
    let user_file = origins
        .users
        .get(&user)
        .cloned()
        .unwrap_or(ctx_file.clone());
    let options = KubeConfigOptions {
        context: Some(context_name.clone()),
        cluster: None,
        user: None,
    };
    let mut config = kube::Config::from_custom_kubeconfig(merged, &options)
        .await
        .map_err(|e| {
            let (path, field) = match &e {
                KubeconfigError::LoadCertificateAuthority(_)
                | KubeconfigError::ParseCertificates(_) => (
                    cluster_file.clone(),
                    format!(
                        "clusters[name={}].cluster.certificate-authority(-data)",
                        ctx.cluster
                    ),
                ),
                KubeconfigError::LoadClientCertificate(_) => (
                    user_file.clone(),
                    format!("users[name={user}].user.client-certificate(-data)"),
                ),
                KubeconfigError::LoadClientKey(_) => (
                    user_file.clone(),
                    format!("users[name={user}].user.client-key(-data)"),
                ),
                KubeconfigError::ParseProxyUrl(_) => (
                    cluster_file.clone(),
                    format!("clusters[name={}].cluster.proxy-url", ctx.cluster),
                ),
                _ => (ctx_file.clone(), format!("contexts[name={context_name}]")),
            };
            KubeError::Kubeconfig {
                path,
                field,
                message: chain_text(&e),
            }
        })?;
    if config.proxy_url.is_some() {
        // This build's client has no proxy support (kube's `http-proxy`/`socks5` features).
        if cluster.proxy_url.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(KubeError::Kubeconfig {
                path: cluster_file,
                field: format!("clusters[name={}].cluster.proxy-url", ctx.cluster),
                message: "proxies are not supported by this build of triage; reach the API server \
                          directly (for example through `kubectl proxy` and a context pointing at it)"
                    .into(),
            });
        }
        tracing::warn!(
            proxy = ?config.proxy_url,
            "ignoring HTTPS_PROXY for the Kubernetes API server: this build connects directly"
        );
        config.proxy_url = None;
    }
    config.apply_debug_overrides();
    Ok(LoadedConfig {
        config,
        context: Some(context_name),
        files: files.to_vec(),
    })
}

/// A YAML error with the field it points at, found from the line the parser reports.
fn parse_error(path: &Path, text: &str, err: &KubeconfigError) -> KubeError {
    let message = chain_text(err);
    let line = find_line_number(&message);
    let field = line
        .and_then(|l| yaml_path_at(text, l))
        .unwrap_or_else(|| "(document)".to_string());
    let first_line = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    KubeError::Kubeconfig {
        path: path.to_path_buf(),
        field,
        message: first_line,
    }
}

/// The first `line N` (or `N:M` location) mentioned in a parser message.
fn find_line_number(message: &str) -> Option<usize> {
    let lower = message.to_ascii_lowercase();
    if let Some(pos) = lower.find("line ") {
        let digits: String = lower[pos + 5..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if let Ok(n) = digits.parse() {
            return Some(n);
        }
    }
    // `-->  3:7` style locations.
    for token in lower.split_whitespace() {
        if let Some((l, c)) = token.split_once(':')
            && !l.is_empty()
            && l.chars().all(|ch| ch.is_ascii_digit())
            && !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_digit())
        {
            return l.parse().ok();
        }
    }
    None
}

/// The dotted path of the key on (or enclosing) a 1-based line of a YAML block document:
/// `clusters[0].cluster.server`.
pub fn yaml_path_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_dash = |l: &str| {
        let t = l.trim_start();
        t == "-" || t.starts_with("- ")
    };
    let key_of = |l: &str| -> Option<String> {
        let t = l.trim_start().trim_start_matches('-').trim_start();
        let (k, _) = t.split_once(':')?;
        let k = k.trim().trim_matches('"').trim_matches('\'');
        if k.is_empty() || k.contains(' ') {
            None
        } else {
            Some(k.to_string())
        }
    };
    // The position of the list item starting at `i` among its siblings.
    let index_of = |i: usize, ind: usize| -> String {
        let mut n = 0;
        for l in lines[..i].iter().rev() {
            if blank(l) {
                continue;
            }
            let li = indent(l);
            if li < ind || (li == ind && !is_dash(l)) {
                break;
            }
            if li == ind {
                n += 1;
            }
        }
        format!("[{n}]")
    };
    let mut idx = line.checked_sub(1)?.min(lines.len().checked_sub(1)?);
    while idx > 0 && blank(lines[idx]) {
        idx -= 1;
    }
    let target = lines[idx];
    let mut parts: Vec<String> = Vec::new();
    parts.extend(key_of(target));
    let mut cur = indent(target);
    let mut list_at = None;
    if is_dash(target) {
        parts.push(index_of(idx, cur));
        list_at = Some(cur);
    }
    for i in (0..idx).rev() {
        let l = lines[i];
        if blank(l) {
            continue;
        }
        let ind = indent(l);
        if is_dash(l) {
            if ind < cur {
                if ind + 2 < cur {
                    parts.extend(key_of(l));
                }
                parts.push(index_of(i, ind));
                cur = ind;
                list_at = Some(ind);
            }
        } else if (ind < cur || (list_at == Some(ind) && ind == cur))
            && let Some(k) = key_of(l)
        {
            parts.push(k);
            cur = ind;
            list_at = None;
            if ind == 0 {
                break;
            }
        }
    }
    parts.reverse();
    let mut out = String::new();
    for p in parts {
        if !p.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(&p);
    }
    if out.is_empty() { None } else { Some(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_paths_name_the_field() {
        let text = "apiVersion: v1\nclusters:\n- cluster:\n    server: 12\n  name: a\n- cluster:\n    server: [oops\n  name: b\ncontexts: []\n";
        assert_eq!(
            yaml_path_at(text, 4).as_deref(),
            Some("clusters[0].cluster.server")
        );
        assert_eq!(
            yaml_path_at(text, 7).as_deref(),
            Some("clusters[1].cluster.server")
        );
        assert_eq!(yaml_path_at(text, 9).as_deref(), Some("contexts"));
        assert_eq!(find_line_number("invalid type at line 7 column 3"), Some(7));
        assert_eq!(find_line_number(" --> <input>:4:13"), None);
        assert_eq!(find_line_number("error\n --> 4:13"), Some(4));
    }
}
