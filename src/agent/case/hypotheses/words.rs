//! Failures in their own words, where no clue pattern knows the message: an error that
//! names a file the workload reads from a ConfigMap or Secret it mounts is that object's
//! (whatever the parser's wording: YAML, JSON, TOML, a certificate, a properties file);
//! a dependency that refuses the work in its protocol's words is that dependency's, with
//! its own settings the refusal names.

use k8s_openapi::api::core::v1::PodSpec;

use super::super::clues::{self, Cause};
use super::super::{deps, objects, refusal};
use super::candidate::{Candidate, Facts, symptoms_of, troubled};
use super::lookup::{target_spec, workload_behind};
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// How directly an error naming a mounted file names its cause: the file and the object
/// behind it are certain, that its content is at fault is the error's word.
const NAMES_ITS_FILE: f32 = 0.8;
/// A refusal is the server's own word; the dependency is found through the setting the
/// workload reaches it with, or less surely as the one Service speaking the protocol.
const REFUSED: f32 = 0.75;
const ONLY_SPEAKER: f32 = 0.85;

/// A file a container reads from a ConfigMap or Secret volume: where it is mounted, the
/// object and the key (a `subPath` mount is one key; a directory mount, any key in it).
struct Mounted {
    path: String,
    object: ResourceRef,
    key: Option<String>,
}

fn mounted(spec: &PodSpec, ns: Option<&str>) -> Vec<Mounted> {
    let mut out = Vec::new();
    for c in objects::all_containers(spec) {
        for m in c.volume_mounts.iter().flatten() {
            let Some(v) = spec.volumes.iter().flatten().find(|v| v.name == m.name) else {
                continue;
            };
            let object = if let Some(cm) = &v.config_map {
                ResourceRef::new("ConfigMap", ns, &cm.name)
            } else if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) {
                ResourceRef::new("Secret", ns, name)
            } else {
                continue;
            };
            out.push(Mounted {
                path: m.mount_path.trim_end_matches('/').to_string(),
                object,
                key: m.sub_path.clone().filter(|s| !s.is_empty()),
            });
        }
    }
    out
}

fn file_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The key of `m` a line names by path, if it names one.
fn named_key(line: &str, m: &Mounted) -> Option<String> {
    if m.path.len() < 2 {
        return None;
    }
    let at = line.find(&m.path)?;
    let rest = &line[at + m.path.len()..];
    match (&m.key, rest.strip_prefix('/')) {
        (Some(k), _) if !rest.starts_with(|c: char| file_char(c) || c == '/') => Some(k.clone()),
        (None, Some(tail)) => {
            let key: String = tail.chars().take_while(|c| file_char(*c)).collect();
            (!key.is_empty()).then_some(key)
        }
        _ => None,
    }
}

/// An error line of the target's failing pods that names a file mounted from a ConfigMap
/// or Secret: that object's key holds what the workload cannot use.
pub(super) fn mounted_files(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let ns = t.namespace.as_deref();
    let Some(spec) = target_spec(e.world, t) else {
        return Vec::new();
    };
    let files = mounted(spec, ns);
    if files.is_empty() {
        return Vec::new();
    }
    let mut out: Vec<Candidate> = Vec::new();
    for p in e.world.pods_of(&t.name, ns).filter(|p| troubled(p)) {
        let pod = ResourceRef::new("Pod", ns, objects::name(&p.metadata));
        for tail in e.world.logs_of(objects::name(&p.metadata)) {
            for line in tail.error_lines.iter().rev() {
                let Some((m, key)) = files
                    .iter()
                    .find_map(|m| named_key(line, m).map(|k| (m, k)))
                else {
                    continue;
                };
                if out.iter().any(|c| c.culprit == m.object) {
                    continue;
                }
                let said = clues::cut(&clues::log_message(line), 160);
                let detail = format!("{key} (mounted at {}): {said}", m.path);
                let check = Check::PodsShow {
                    reason: String::new(),
                };
                out.push(
                    Candidate::new(
                        Cause::BadConfigValue,
                        m.object.clone(),
                        detail,
                        NAMES_ITS_FILE,
                    )
                    .because(EvidenceKind::Log, pod.to_string(), line.clone())
                    .explaining(symptoms_of(e, &[p]))
                    .checked_by(check)
                    .via(pod.clone()),
                );
            }
        }
    }
    out
}

/// A dependency that refuses the target's work in its protocol's words (the reply names
/// no host): the workload behind the host the target reaches it at, with its settings
/// that the refusal names (`--maxmemory-policy noeviction` for Redis's `OOM command not
/// allowed when used memory > 'maxmemory'`).
pub(super) fn refusals(e: &Facts<'_>) -> Vec<Candidate> {
    let (w, t) = (e.world, e.target);
    let ns = t.namespace.as_deref();
    let mut out = Vec::new();
    for r in refusal::refusals(w, t) {
        let Some(svc) = deps::service_for(w, &r.host, ns) else {
            continue;
        };
        let dep = workload_behind(w, &svc);
        let culprit = dep.clone().unwrap_or(svc.clone());
        let said = clues::cut(&clues::log_message(&r.line), 160);
        let via = r
            .setting
            .as_deref()
            .map_or(String::new(), |s| format!(", its {s},"));
        let mut detail = format!("{}{via} refuses the work: {said}", r.host);
        let settings = dep
            .as_ref()
            .and_then(|d| w.get(&d.kind, d.namespace.as_deref(), &d.name))
            .and_then(objects::template)
            .map(|spec| refusal::settings_named(spec, &said))
            .unwrap_or_default();
        if !settings.is_empty() {
            detail.push_str(&format!(
                "; {} runs with {}",
                culprit.name,
                settings.join(" ")
            ));
        }
        let pods: Vec<_> = w
            .pods_of(&t.name, ns)
            .filter(|p| objects::name(&p.metadata) == r.pod)
            .collect();
        let specificity = if r.setting.is_some() {
            REFUSED
        } else {
            REFUSED * ONLY_SPEAKER
        };
        let pod = ResourceRef::new("Pod", ns, &r.pod);
        out.push(
            Candidate::new(Cause::UpstreamErrors, culprit, detail, specificity)
                .because(EvidenceKind::Log, pod.to_string(), r.line.clone())
                .explaining(symptoms_of(e, &pods))
                .via(svc),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_a_mounted_key_by_its_path() {
        let sub = Mounted {
            path: "/etc/wiki/config.yaml".into(),
            object: ResourceRef::new("ConfigMap", Some("t"), "wiki-config"),
            key: Some("config.yaml".into()),
        };
        let line = r#"{"msg":"load config","path":"/etc/wiki/config.yaml","err":"yaml: line 22"}"#;
        assert_eq!(named_key(line, &sub).as_deref(), Some("config.yaml"));
        assert_eq!(named_key("open /etc/wiki/config.yaml.bak", &sub), None);
        let dir = Mounted {
            path: "/etc/app/".trim_end_matches('/').into(),
            object: ResourceRef::new("Secret", Some("t"), "app-tls"),
            key: None,
        };
        assert_eq!(
            named_key("tls: failed to load /etc/app/tls.crt: bad PEM", &dir).as_deref(),
            Some("tls.crt")
        );
        assert_eq!(named_key("reading /etc/application.conf", &dir), None);
    }
}
