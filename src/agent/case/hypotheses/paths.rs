//! Ingress paths against the URL the alert probes, matched per the Ingress spec
//! (`kube::ingress_paths`): a URL no path of the Ingress serves (and no default backend)
//! is answered 404 by the controller; a URL below a path of type `Exact` does not match
//! it and falls through to a shorter path's backend (`/v2` Exact serves `/v2` alone, so
//! `/v2/healthz` reaches `/`'s Service).

use super::super::clues::Cause;
use super::candidate::{Candidate, Facts};
use crate::agent::tools::data::KubeObject;
use crate::kube::ingress_paths::{self, IngressPath, PathType, Served};
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// The alerted Ingress's paths that miss the probed URLs.
pub(super) fn ingress_paths(e: &Facts<'_>) -> Vec<Candidate> {
    let Some(ing) = e.target.alerted.as_ref().filter(|a| a.kind == "Ingress") else {
        return Vec::new();
    };
    let Some(KubeObject::Ingress(i)) = e.world.get("Ingress", ing.namespace.as_deref(), &ing.name)
    else {
        return Vec::new();
    };
    let paths = ingress_paths::of(i);
    let text: Vec<&str> = e
        .alert
        .labels
        .values()
        .chain(e.alert.annotations.values())
        .map(String::as_str)
        .collect();
    let mut urls = ingress_paths::urls(&text.join("\n"));
    urls.sort();
    urls.dedup();
    let mut out = Vec::new();
    for (host, path) in urls {
        if !ingress_paths::serves_host(&paths, &host) {
            continue;
        }
        let detail = match ingress_paths::serve(&paths, &host, &path) {
            Served::Nothing => {
                let listed: Vec<String> = paths
                    .paths
                    .iter()
                    .filter(|p| ingress_paths::host_match(&p.host, &host).is_some())
                    .map(|p| format!("{} ({})", p.path, p.path_type.as_str()))
                    .collect();
                format!(
                    "routes {host}{path} nowhere: none of its paths for the host matches ({}) and it has no default backend, so the controller answers 404",
                    listed.join(", ")
                )
            }
            Served::Path(_, p) => match exact_above(&paths.paths, &host, &path, Some(p)) {
                Some(q) => fall_through(
                    &host,
                    &path,
                    q,
                    &format!(
                        "path {} ({}) → Service {}",
                        p.path,
                        p.path_type.as_str(),
                        p.service
                    ),
                ),
                None => continue,
            },
            Served::Default(s) => match exact_above(&paths.paths, &host, &path, None) {
                Some(q) => fall_through(
                    &host,
                    &path,
                    q,
                    &format!("its default backend → Service {s}"),
                ),
                None => continue,
            },
        };
        out.push(
            Candidate::new(Cause::IngressBackend, ing.clone(), detail, 0.85)
                .because(
                    EvidenceKind::Resource,
                    ing.to_string(),
                    format!("{host}{path}"),
                )
                .explaining([0])
                .checked_by(Check::Present {
                    resource: ing.to_string(),
                    key: None,
                }),
        );
    }
    out
}

/// A path of type `Exact` on the host, to another Service, that would serve the URL as
/// a `Prefix` and is longer than the path that does serve it.
fn exact_above<'a>(
    paths: &'a [IngressPath],
    host: &str,
    path: &str,
    served: Option<&IngressPath>,
) -> Option<&'a IngressPath> {
    paths.iter().find(|q| {
        q.path_type == PathType::Exact
            && ingress_paths::host_match(&q.host, host).is_some()
            && !ingress_paths::path_match(PathType::Exact, &q.path, path)
            && ingress_paths::path_match(PathType::Prefix, &q.path, path)
            && served.is_none_or(|p| {
                p.service != q.service
                    && q.path.trim_end_matches('/').len() > p.path.trim_end_matches('/').len()
            })
    })
}

fn fall_through(host: &str, path: &str, q: &IngressPath, to: &str) -> String {
    format!(
        "routes {host}{path} to {to}: its path {} has pathType Exact, which matches {} alone, so the request falls through; with pathType Prefix it would reach Service {}",
        q.path, q.path, q.service
    )
}
