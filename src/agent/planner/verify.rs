//! Verification: one read that confirms or contradicts a cause.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use crate::agent::case::objects::{self, unscheduled_message};
use crate::agent::case::target::{Target, ev};
use crate::agent::exec::{Exec, Stop};
use crate::agent::tools::ToolData;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::opt_time;
use crate::memory::Check;
use crate::protocol::{Evidence, EvidenceKind};

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
        // `namespace/name` for a dependency outside the target's namespace.
        Check::DependencyDown { service, kind } => {
            let resource = match kind.as_deref() {
                Some("StatefulSet") => "statefulsets",
                _ => "deployments",
            };
            match service.split_once('/') {
                Some((dns, name)) => json!({"resource": resource, "namespace": dns, "name": name}),
                None => get(resource, Some(service)),
            }
        }
        Check::ConfigKey { configmap, .. } => get("configmaps", Some(configmap)),
        Check::CronJobRan { cronjob } => get("cronjobs", Some(cronjob)),
        Check::Missing { resource } | Check::Present { resource, .. } => {
            let (kind, rns, name) = split_ref(resource);
            let Some(plural) = crate::agent::case::world::resource_of(kind) else {
                return Ok(None);
            };
            json!({"resource": plural, "namespace": rns.or(ns.as_deref()), "name": name})
        }
        Check::PodsShow { reason } if reason == "kube-dns" => {
            json!({"resource": "pods", "namespace": "kube-system", "selector": "k8s-app=kube-dns"})
        }
        Check::PodsShow { .. } => get("pods", None),
        Check::NodeCondition { node, .. } => json!({"resource": "nodes", "name": node}),
        Check::ServiceEmpty { service } => json!({"resource": "endpointslices", "namespace": ns,
            "selector": format!("kubernetes.io/service-name={service}")}),
        Check::AtMaximum { hpa } => get("horizontalpodautoscalers", Some(hpa)),
    };
    let r = exec.tool("kube_get", args).await?;
    let objects = match r.output {
        Ok(out) => match out.data {
            ToolData::Objects(objects) => objects,
            _ => return Ok(None),
        },
        // A named object that is gone: what a claim of absence expects, and contradicts
        // any other claim about it.
        Err(e) if crate::agent::case::world::is_not_found(&e) => {
            return Ok(Some(match check {
                Check::Missing { resource } => Checked::yes(
                    format!("confirmed: {resource} does not exist"),
                    vec![ev(EvidenceKind::Resource, resource.clone(), "not found")],
                ),
                _ => Checked::no(format!("not found: {e}"), Vec::new()),
            }));
        }
        Err(_) => return Ok(None),
    };
    let now = exec.shared.tools.now();
    Ok(Some(judge(t, check, &objects, now)))
}

/// The verdict of a check on what the read returned.
pub fn judge(t: &Target, check: &Check, objects: &[KubeObject], now: DateTime<Utc>) -> Checked {
    match check {
        Check::None => Checked::no("nothing to check".into(), Vec::new()),
        Check::NewReplicaSetFailing => new_replicaset_failing(t, objects),
        Check::NoEndpoints => scaled_to_zero(t, objects),
        Check::OomAtLimit => oom_at_limit(t, objects),
        Check::Unschedulable => unschedulable(t, objects),
        Check::DependencyDown { service, .. } => dependency_down(service, objects),
        Check::ConfigKey {
            configmap,
            key,
            value,
        } => config_key(configmap, key, value.as_deref(), objects),
        Check::CronJobRan { cronjob } => cronjob_ran(cronjob, objects, now),
        Check::Missing { resource } => match objects.first() {
            Some(_) => Checked::no(format!("{resource} exists now"), Vec::new()),
            None => Checked::yes(format!("confirmed: {resource} does not exist"), Vec::new()),
        },
        Check::Present { resource, key } => present(resource, key.as_deref(), objects),
        Check::PodsShow { reason } => pods_show(t, reason, objects),
        Check::NodeCondition { node, condition } => node_condition(node, condition, objects),
        Check::ServiceEmpty { service } => service_empty(service, objects),
        Check::AtMaximum { hpa } => at_maximum(hpa, objects),
    }
}

fn at_maximum(hpa: &str, objects: &[KubeObject]) -> Checked {
    let Some(KubeObject::HorizontalPodAutoscaler(h)) = objects.first() else {
        return Checked::no(format!("autoscaler {hpa} was not read"), Vec::new());
    };
    let max = h.spec.as_ref().map_or(0, |s| s.max_replicas);
    let current = h
        .status
        .as_ref()
        .and_then(|s| s.current_replicas)
        .unwrap_or(0);
    let evidence = vec![ev(
        EvidenceKind::Resource,
        format!("HorizontalPodAutoscaler/{hpa}"),
        format!("{current} of at most {max} replicas"),
    )];
    if current >= max {
        Checked::yes(
            format!("confirmed: {hpa} runs {current} replicas, its maximum"),
            evidence,
        )
    } else {
        Checked::no(
            format!("{hpa} runs {current} of at most {max} replicas"),
            evidence,
        )
    }
}

/// `Kind/namespace/name` or `Kind/name`.
pub fn split_ref(r: &str) -> (&str, Option<&str>, &str) {
    let parts: Vec<&str> = r.splitn(3, '/').collect();
    match parts.as_slice() {
        [kind, ns, name] => (kind, Some(ns), name),
        [kind, name] => (kind, None, name),
        _ => ("", None, r),
    }
}

fn present(resource: &str, key: Option<&str>, objects: &[KubeObject]) -> Checked {
    let Some(o) = objects.first() else {
        return Checked::no(format!("{resource} does not exist"), Vec::new());
    };
    let has_key = |k: &str| match o {
        KubeObject::ConfigMap(cm) => Some(cm.data.as_ref().is_some_and(|d| d.contains_key(k))),
        KubeObject::Secret(s) => s.data.as_ref().map(|d| d.contains_key(k)),
        _ => None,
    };
    let evidence = vec![ev(EvidenceKind::Resource, resource, "read now")];
    match key.map(|k| (k, has_key(k))) {
        Some((k, Some(false))) => Checked::no(format!("{resource} has no key {k}"), evidence),
        Some((k, Some(true))) => Checked::yes(format!("confirmed: {resource} holds {k}"), evidence),
        _ => Checked::yes(format!("confirmed: {resource} is in place"), evidence),
    }
}

/// Reasons the kubelet gives its events rather than a container's state (`Failed`,
/// `FailedMount`, `FailedAttachVolume`, `BackOff`, `Unhealthy`): a pod that still is not
/// ready is still failing the way such an event said.
fn event_reason(reason: &str) -> bool {
    reason.starts_with("Failed") || matches!(reason, "BackOff" | "Unhealthy")
}

/// A pod's phase: `Succeeded` pods ran to their end, `Failed` ones were evicted or
/// ended with an error.
fn phase(p: &Pod) -> Option<&str> {
    p.status.as_ref().and_then(|s| s.phase.as_deref())
}

fn pods_show(t: &Target, reason: &str, objects: &[KubeObject]) -> Checked {
    let dns = reason == "kube-dns";
    let any = reason.is_empty() || dns;
    let lower = reason.to_lowercase();
    let says = |s: &str| s.to_lowercase().contains(&lower);
    let pods: Vec<&Pod> = objects::pods(objects)
        .filter(|p| dns || objects::is_pod_of(p, &t.name))
        .collect();
    let failing: Vec<(&str, String)> = pods
        .iter()
        .filter_map(|p| {
            let troubles = objects::container_troubles(p);
            let why = troubles
                .iter()
                .find(|c| any || event_reason(reason) || says(&c.reason) || says(&c.message))
                .map(|c| format!("{} {}", c.state, c.reason))
                .or_else(|| {
                    let st = p.status.as_ref()?;
                    let said = format!(
                        "{} {}",
                        st.reason.as_deref().unwrap_or_default(),
                        st.message.as_deref().unwrap_or_default()
                    );
                    (!any && st.reason.is_some() && says(&said))
                        .then(|| format!("{} {}", phase(p).unwrap_or("pod"), said.trim()))
                })
                .or_else(|| {
                    unscheduled_message(p)
                        .filter(|m| any || event_reason(reason) || says(m))
                        .map(|m| format!("pending: {m}"))
                })
                .or_else(|| {
                    (!objects::pod_ready(p)
                        && phase(p) != Some("Succeeded")
                        && (any || (event_reason(reason) && phase(p) != Some("Failed"))))
                    .then(|| "not ready".to_string())
                })?;
            Some((objects::name(&p.metadata), why))
        })
        .collect();
    let who = if dns {
        "cluster DNS (kube-dns)".to_string()
    } else {
        t.name.clone()
    };
    match failing.first() {
        Some((pod, why)) => Checked::yes(
            format!(
                "confirmed: {} of {} pods of {who} still fail ({why})",
                failing.len(),
                pods.len()
            ),
            vec![ev(
                EvidenceKind::Resource,
                format!("Pod/{pod}"),
                why.clone(),
            )],
        ),
        None => Checked::no(
            format!("the {} pods of {who} are running and ready now", pods.len()),
            Vec::new(),
        ),
    }
}

fn node_condition(node: &str, condition: &str, objects: &[KubeObject]) -> Checked {
    let Some(KubeObject::Node(n)) = objects.first() else {
        return Checked::no(format!("node {node} was not read"), Vec::new());
    };
    let c = n
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .find(|c| c.type_ == condition);
    let bad = c.is_some_and(|c| {
        if condition == "Ready" {
            c.status != "True"
        } else {
            c.status == "True"
        }
    });
    let status = c.map_or("unknown".to_string(), |c| {
        format!("{}={}", c.type_, c.status)
    });
    let evidence = vec![ev(
        EvidenceKind::Resource,
        format!("Node/{node}"),
        status.clone(),
    )];
    if bad {
        Checked::yes(format!("confirmed: node {node} reports {status}"), evidence)
    } else {
        Checked::no(format!("node {node} reports {status} now"), evidence)
    }
}

fn service_empty(service: &str, objects: &[KubeObject]) -> Checked {
    let ready: usize = objects
        .iter()
        .filter_map(|o| match o {
            KubeObject::EndpointSlice(s) => Some(
                s.endpoints
                    .iter()
                    .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
                    .count(),
            ),
            _ => None,
        })
        .sum();
    let evidence = vec![ev(
        EvidenceKind::Resource,
        format!("Service/{service}"),
        format!("{ready} ready endpoints"),
    )];
    if ready == 0 {
        Checked::yes(
            format!("confirmed: Service {service} has no ready endpoints"),
            evidence,
        )
    } else {
        Checked::no(
            format!("Service {service} has {ready} ready endpoints"),
            evidence,
        )
    }
}

fn new_replicaset_failing(t: &Target, objects: &[KubeObject]) -> Checked {
    // (revision, name, replicas, ready, first image)
    let mut sets: Vec<(i64, &str, i32, i32, String)> = objects::replicasets(objects)
        .filter(|rs| objects::owned_by(&rs.metadata, &t.name))
        .map(|rs| {
            let (replicas, ready) = objects::rs_counts(rs);
            let image = objects::images(objects::rs_spec(rs))
                .into_iter()
                .next()
                .unwrap_or_default();
            (
                objects::revision(&rs.metadata),
                objects::name(&rs.metadata),
                replicas,
                ready,
                image,
            )
        })
        .collect();
    sets.sort_by_key(|s| std::cmp::Reverse(s.0));
    let (Some(new), Some(old)) = (sets.first(), sets.iter().skip(1).find(|s| s.2 > 0)) else {
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

fn scaled_to_zero(t: &Target, objects: &[KubeObject]) -> Checked {
    let zero = objects.iter().find_map(|o| match o {
        KubeObject::Deployment(d)
            if d.spec.as_ref().and_then(|s| s.replicas) == Some(0)
                && (objects::name(&d.metadata).contains(&t.name)
                    || t.name.contains(objects::name(&d.metadata))) =>
        {
            Some(objects::name(&d.metadata))
        }
        _ => None,
    });
    match zero {
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

fn oom_at_limit(t: &Target, objects: &[KubeObject]) -> Checked {
    let pods: Vec<&Pod> = objects::pods(objects)
        .filter(|p| objects::is_pod_of(p, &t.name))
        .collect();
    let oom: Vec<&str> = pods
        .iter()
        .filter(|p| {
            objects::container_troubles(p)
                .iter()
                .any(|c| c.reason == "OOMKilled")
        })
        .map(|p| objects::name(&p.metadata))
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

fn unschedulable(t: &Target, objects: &[KubeObject]) -> Checked {
    let pods: Vec<&Pod> = objects::pods(objects)
        .filter(|p| objects::is_pod_of(p, &t.name))
        .collect();
    let stuck: Vec<(&str, &str)> = pods
        .iter()
        .filter_map(|p| Some((objects::name(&p.metadata), unscheduled_message(p)?)))
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

fn dependency_down(service: &str, objects: &[KubeObject]) -> Checked {
    let Some((kind, ready, want, rolling)) = objects
        .iter()
        .find_map(crate::agent::case::objects::replica_counts)
    else {
        return Checked::no(format!("{service}: no workload read"), Vec::new());
    };
    let evidence = vec![ev(
        EvidenceKind::Resource,
        format!("{kind}/{service}"),
        format!("{ready} of {want} ready{rolling}"),
    )];
    if ready == 0 {
        Checked::yes(
            format!("confirmed: {service} has 0 of {want} replicas ready{rolling}"),
            evidence,
        )
    } else if ready < want && kind == "StatefulSet" {
        // A stateful cluster (a broker, a database) short of a member refuses the part
        // of the work that member holds: degraded is not up. Replicas of a Deployment are
        // interchangeable behind their Service, so one missing still serves.
        Checked::yes(
            format!("confirmed: {service} is degraded, {ready} of {want} replicas ready{rolling}"),
            evidence,
        )
    } else {
        Checked::no(
            format!("{service} is up: {ready} of {want} replicas ready"),
            evidence,
        )
    }
}

fn config_key(configmap: &str, key: &str, value: Option<&str>, objects: &[KubeObject]) -> Checked {
    let now_value = objects.iter().find_map(|o| match o {
        KubeObject::ConfigMap(cm) => cm.data.as_ref()?.get(key).map(String::as_str),
        _ => None,
    });
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

fn cronjob_ran(cronjob: &str, objects: &[KubeObject], now: DateTime<Utc>) -> Checked {
    let cj = objects.iter().find_map(|o| match o {
        KubeObject::CronJob(c) => Some(c),
        _ => None,
    });
    let suspended = cj
        .and_then(|c| c.spec.as_ref())
        .and_then(|s| s.suspend)
        .unwrap_or(false);
    let status = cj.and_then(|c| c.status.as_ref());
    let last = status.and_then(|s| opt_time(s.last_schedule_time.as_ref()));
    let active = status.and_then(|s| s.active.as_ref()).map_or(0, Vec::len);
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
