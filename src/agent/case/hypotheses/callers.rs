//! Load from another namespace: a Job running near the alert outside the target's
//! namespace whose settings name the target (its Service's DNS name, or a host and path
//! its Ingress routes to it) is where the load comes from, and it ends on its own. A Job
//! elsewhere that does not name the target is not blamed.

use k8s_openapi::api::core::v1::PodSpec;

use super::super::clues::Cause;
use super::super::objects;
use super::super::target::Target;
use super::super::timeline::NEAR_MINUTES;
use super::super::world::World;
use super::batch::as_job_load;
use super::candidate::{Candidate, Facts, troubled};
use super::resolve::{target_ref, workload_behind};
use crate::agent::tools::data::KubeObject;
use crate::kube::ingress_paths::{self, urls};
use crate::kube::state::ResourceRef;
use crate::protocol::EvidenceKind;

/// A client's settings name the target: direct evidence that its work lands there.
const NAMES_THE_TARGET: f32 = 0.7;

/// Running Jobs of other namespaces, started near the alert, whose settings name the
/// healthy target.
pub(super) fn outside_load(e: &Facts<'_>) -> Vec<Candidate> {
    let (w, t) = (e.world, e.target);
    let mut out = Vec::new();
    // The target serves: every pod ready, none in trouble (an old warning is not a
    // failure).
    let pods: Vec<_> = w.pods_of(&t.name, t.namespace.as_deref()).collect();
    if pods.is_empty() || pods.iter().any(|p| troubled(p)) {
        return out;
    }
    for o in w.of_kind("Job", None) {
        let KubeObject::Job(j) = o else { continue };
        let jns = j.metadata.namespace.as_deref();
        if jns == t.namespace.as_deref() {
            continue;
        }
        let st = j.status.as_ref();
        let running = st.and_then(|s| s.active).unwrap_or(0) > 0
            && st.and_then(|s| s.completion_time.as_ref()).is_none();
        let Some(started) = st.and_then(|s| crate::kube::state::opt_time(s.start_time.as_ref()))
        else {
            continue;
        };
        if !running || !(-10..=NEAR_MINUTES).contains(&(e.start - started).num_minutes()) {
            continue;
        }
        let Some(addr) = objects::template(o).and_then(|spec| names_target(w, t, spec, jns)) else {
            continue;
        };
        let cronjob = objects::controller(&j.metadata)
            .filter(|(k, _)| *k == "CronJob")
            .map(|(_, n)| n.to_string());
        let culprit = match &cronjob {
            Some(c) => ResourceRef::new("CronJob", jns, c),
            None => o.reference(),
        };
        let earlier = cronjob.as_ref().map_or(0, |cj| {
            w.of_kind("Job", jns)
                .filter(|x| {
                    x.name() != o.name() && x.meta().is_some_and(|m| objects::owned_by(m, cj))
                })
                .count()
        });
        let runs = if earlier > 0 {
            format!("; it runs on schedule ({earlier} earlier runs completed)")
        } else {
            String::new()
        };
        let state = format!(
            "started at {} in namespace {} and is still running",
            started.format("%H:%M"),
            jns.unwrap_or_default()
        );
        let c = Candidate::new(
            Cause::ScheduledLoad,
            culprit,
            format!(
                "its Job {} {state}; its settings send its work to {} at {addr}{runs}",
                o.name(),
                t.name
            ),
            NAMES_THE_TARGET,
        )
        .because(EvidenceKind::Resource, format!("Job/{}", o.name()), state)
        .because(
            EvidenceKind::Resource,
            o.reference().to_string(),
            format!("reaches {addr}"),
        );
        out.push(as_job_load(c, e, o.name(), cronjob));
    }
    out
}

/// The address by which a pod spec of namespace `ns` reaches the target, when its
/// settings (environment values, arguments, the ConfigMaps read that it uses) name one
/// of the target's Services by DNS name or a host and path an Ingress routes to one.
pub fn names_target(w: &World, t: &Target, spec: &PodSpec, ns: Option<&str>) -> Option<String> {
    let tns = t.namespace.as_deref()?;
    let me = target_ref(t);
    let services: Vec<String> = w
        .of_kind("Service", Some(tns))
        .filter(|s| workload_behind(w, &s.reference()).is_some_and(|x| x == me))
        .map(|s| s.name().to_string())
        .collect();
    if services.is_empty() {
        return None;
    }
    let texts = settings_text(w, spec, ns);
    for url in texts.iter().flat_map(|text| urls(text)) {
        let (host, path) = url;
        let by_dns = services.iter().any(|s| {
            let fq = format!("{s}.{tns}");
            host == fq || host.starts_with(&format!("{fq}."))
        });
        if by_dns || routed(w, tns, &host, &path).is_some_and(|s| services.contains(&s)) {
            return Some(format!("{host}{path}"));
        }
    }
    // `host:port` settings without a scheme.
    for text in &texts {
        for p in super::super::deps::peers(text) {
            if services.iter().any(|s| {
                let fq = format!("{s}.{tns}");
                p.host == fq || p.host.starts_with(&format!("{fq}."))
            }) {
                return Some(p.host);
            }
        }
    }
    None
}

/// The Service the Ingresses of `ns` send `host` + `path` to (merged per host, as a
/// controller does; matched per the Ingress spec).
fn routed(w: &World, ns: &str, host: &str, path: &str) -> Option<String> {
    let paths: Vec<ingress_paths::IngressPath> = w
        .of_kind("Ingress", Some(ns))
        .filter_map(|o| match o {
            KubeObject::Ingress(i) => Some(ingress_paths::of(i).paths),
            _ => None,
        })
        .flatten()
        .collect();
    ingress_paths::best(&paths, host, path).map(|(_, p)| p.service.clone())
}

/// What a pod spec is configured with, as text: plain environment values, arguments
/// and commands, and the data of the ConfigMaps read that it uses (never Secrets).
fn settings_text(w: &World, spec: &PodSpec, ns: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for c in objects::all_containers(spec) {
        out.extend(c.env.iter().flatten().filter_map(|e| e.value.clone()));
        out.extend(c.args.iter().flatten().cloned());
        out.extend(c.command.iter().flatten().cloned());
    }
    for r in objects::spec_refs(spec)
        .into_iter()
        .filter(|r| r.kind == "ConfigMap")
    {
        if let Some(KubeObject::ConfigMap(cm)) = w.get("ConfigMap", ns, &r.name) {
            out.extend(cm.data.iter().flat_map(|d| d.values().cloned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn absorb(w: &mut World, kind: &str, items: Vec<serde_json::Value>) {
        w.absorb_objects(kind, items);
    }

    fn spec_with(env: &str) -> PodSpec {
        serde_json::from_value(
            json!({"containers": [{"name": "c", "env": [{"name": "URL", "value": env}]}]}),
        )
        .unwrap()
    }

    /// search-api in `search`: its Deployment, ReplicaSet, pod and Service; an Ingress
    /// sends `/` of api.example.tv to it and `/v1/refunds` elsewhere.
    fn world() -> (World, Target) {
        let mut w = World::new(chrono::Utc::now(), Some("search".into()));
        let owner = |kind: &str, name: &str| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u", "controller": true}]);
        absorb(
            &mut w,
            "Deployment",
            vec![json!({"metadata": {"name": "search-api", "namespace": "search"}})],
        );
        absorb(
            &mut w,
            "ReplicaSet",
            vec![
                json!({"metadata": {"name": "search-api-7d9f", "namespace": "search",
            "ownerReferences": owner("Deployment", "search-api")}}),
            ],
        );
        absorb(
            &mut w,
            "Pod",
            vec![
                json!({"metadata": {"name": "search-api-7d9f-x2x9k", "namespace": "search",
            "labels": {"app": "search-api"}, "ownerReferences": owner("ReplicaSet", "search-api-7d9f")}}),
            ],
        );
        absorb(
            &mut w,
            "Service",
            vec![
                json!({"metadata": {"name": "search-api", "namespace": "search"},
            "spec": {"selector": {"app": "search-api"}, "ports": [{"port": 8080}]}}),
            ],
        );
        absorb(
            &mut w,
            "Ingress",
            vec![json!({"metadata": {"name": "api", "namespace": "search"},
            "spec": {"rules": [{"host": "api.example.tv", "http": {"paths": [
                {"path": "/v1/refunds", "pathType": "Prefix", "backend": {"service": {"name": "refunds", "port": {"number": 8080}}}},
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "search-api", "port": {"number": 8080}}}}]}}]}})],
        );
        let t = Target {
            kind: "Deployment".into(),
            namespace: Some("search".into()),
            name: "search-api".into(),
            ..Target::default()
        };
        (w, t)
    }

    #[test]
    fn a_client_names_the_target_by_its_service_or_an_ingress_route() {
        let (w, t) = world();
        let ns = Some("batch");
        let by_dns = names_target(
            &w,
            &t,
            &spec_with("http://search-api.search.svc.cluster.local:8080"),
            ns,
        );
        assert_eq!(
            by_dns.as_deref(),
            Some("search-api.search.svc.cluster.local/")
        );
        let routed = names_target(&w, &t, &spec_with("https://api.example.tv/v1/charges"), ns);
        assert_eq!(routed.as_deref(), Some("api.example.tv/v1/charges"));
        // Another path of the same host, another Service, a bare name: not the target.
        assert_eq!(
            names_target(
                &w,
                &t,
                &spec_with("https://api.example.tv/v1/refunds/9"),
                ns
            ),
            None
        );
        assert_eq!(
            names_target(&w, &t, &spec_with("http://opensearch.search.svc:9200"), ns),
            None
        );
        assert_eq!(names_target(&w, &t, &spec_with("search-api"), ns), None);
        // A ConfigMap the client mounts counts; one it does not use does not.
        let mut w = w;
        absorb(
            &mut w,
            "ConfigMap",
            vec![json!({"metadata": {"name": "script", "namespace": "batch"},
            "data": {"run.js": "http.post('https://api.example.tv/v1/search', body)"}})],
        );
        let mounts: PodSpec = serde_json::from_value(json!({"containers": [{"name": "k6"}],
            "volumes": [{"name": "s", "configMap": {"name": "script"}}]}))
        .unwrap();
        assert!(names_target(&w, &t, &mounts, ns).is_some());
        assert_eq!(names_target(&w, &t, &mounts, Some("other")), None);
    }

    #[test]
    fn urls_keep_their_host_and_path() {
        let u = urls(
            "http.post('https://api.acme-pay.com/v1/charges', body); SEARCH_URL=http://search-api.search.svc.cluster.local:8080",
        );
        assert_eq!(
            u,
            [
                ("api.acme-pay.com".to_string(), "/v1/charges".to_string()),
                (
                    "search-api.search.svc.cluster.local".to_string(),
                    "/".to_string()
                )
            ]
        );
    }
}
