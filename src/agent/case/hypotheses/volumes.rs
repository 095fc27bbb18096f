//! What a pod's volumes hold: a ConfigMap or Secret volume that lists `items` projects
//! only those keys, so a file the container looks for under its mount path is missing
//! although the key may be in the ConfigMap.

use super::super::objects;
use super::super::world::World;
use crate::kube::state::ResourceRef;

/// When `said` (a pod's error) names a file under the mount path of a ConfigMap or Secret
/// volume of `workload` that lists `items`, and the file is not one of them: the words
/// that say so, to append to the cause.
pub fn unprojected(w: &World, workload: &ResourceRef, said: &str) -> Option<String> {
    let spec = w
        .get(
            &workload.kind,
            workload.namespace.as_deref(),
            &workload.name,
        )
        .and_then(objects::template)?;
    for v in spec.volumes.iter().flatten() {
        let (source, items) = match (&v.config_map, &v.secret) {
            (Some(cm), _) => (format!("ConfigMap {}", cm.name), cm.items.as_ref()),
            (_, Some(s)) => (
                format!("Secret {}", s.secret_name.as_deref().unwrap_or("?")),
                s.items.as_ref(),
            ),
            _ => continue,
        };
        let Some(items) = items.filter(|i| !i.is_empty()) else {
            continue;
        };
        let mounts = spec
            .containers
            .iter()
            .flat_map(|c| c.volume_mounts.iter().flatten())
            .filter(|m| m.name == v.name && m.sub_path.is_none());
        for m in mounts {
            let Some(file) = file_under(said, &m.mount_path) else {
                continue;
            };
            if items.iter().any(|i| i.path == file) {
                continue;
            }
            let listed: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
            return Some(format!(
                "; {file} is missing from {}: volume {} of {source} lists items {}, so only those keys are projected",
                m.mount_path,
                v.name,
                listed.join(", ")
            ));
        }
    }
    None
}

/// The file name right under `dir` that `text` mentions (`/etc/app/presets.yaml` under
/// `/etc/app`), if any.
fn file_under(text: &str, dir: &str) -> Option<String> {
    let dir = dir.trim_end_matches('/');
    let at = text.find(&format!("{dir}/"))?;
    let rest = &text[at + dir.len() + 1..];
    let file: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    (!file.is_empty()).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn world() -> World {
        let mut w = World::new(Utc::now(), Some("media".into()));
        w.absorb_objects(
            "Deployment",
            vec![serde_json::json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "thumbnailer", "namespace": "media"},
                "spec": {"selector": {"matchLabels": {"app": "thumbnailer"}}, "template": {
                    "metadata": {"labels": {"app": "thumbnailer"}},
                    "spec": {"containers": [{"name": "thumbnailer", "image": "t:1",
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/thumbnailer"}]}],
                      "volumes": [{"name": "config", "configMap": {"name": "thumbnailer-config",
                        "items": [{"key": "render.yaml", "path": "render.yaml"}]}}]}}}
            })],
        );
        w
    }

    #[test]
    fn a_file_the_items_do_not_project_is_named_with_the_volume() {
        let w = world();
        let d = ResourceRef::new("Deployment", Some("media"), "thumbnailer");
        let said = "FileNotFoundError: [Errno 2] No such file or directory: '/etc/thumbnailer/presets.yaml'";
        let note = unprojected(&w, &d, said).unwrap();
        assert!(note.contains("presets.yaml is missing"), "{note}");
        assert!(
            note.contains("ConfigMap thumbnailer-config lists items render.yaml"),
            "{note}"
        );
        let projected = "open /etc/thumbnailer/render.yaml: permission denied";
        assert_eq!(unprojected(&w, &d, projected), None);
        assert_eq!(unprojected(&w, &d, "connection refused"), None);
    }
}
