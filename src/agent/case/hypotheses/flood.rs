//! Load from a caller the target's own log names: the client addresses in the log of a
//! healthy target, each matched to a pod of any namespace read (pod IP → pod → owner),
//! and the workload behind most of them, when it changed shortly before the alert (a
//! new revision), is what overloads the target; a Job's calls are expected load.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::super::clues::Cause;
use super::super::objects;
use super::super::target::Target;
use super::super::timeline::NEAR_MINUTES;
use super::super::world::World;
use super::batch::as_job_load;
use super::candidate::{Candidate, Facts, troubled};
use super::lookup::{owner_of, replica_sets};
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// The log names the caller by address: direct, but one step from the cause.
const BY_ADDRESS: f32 = 0.75;

static IPV4: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\b").ok());

/// The addresses in the target's log tails, with how many lines name each; the target's
/// own pods' addresses and loopback left out.
pub fn client_ips(w: &World, t: &Target) -> BTreeMap<String, usize> {
    let own: Vec<&str> = w
        .pods_of(&t.name, t.namespace.as_deref())
        .filter_map(|p| p.status.as_ref()?.pod_ip.as_deref())
        .collect();
    let mut out = BTreeMap::new();
    let Some(re) = IPV4.as_ref() else { return out };
    for tail in w
        .logs
        .iter()
        .filter(|l| objects::named_for(&l.pod, &t.name))
    {
        for line in tail.text.lines() {
            let mut seen: Vec<&str> = Vec::new();
            for c in re.captures_iter(line) {
                let Some(ip) = c.get(1).map(|m| m.as_str()) else {
                    continue;
                };
                if own.contains(&ip) || ip.starts_with("127.") || seen.contains(&ip) {
                    continue;
                }
                seen.push(ip);
                *out.entry(ip.to_string()).or_insert(0) += 1;
            }
        }
    }
    out
}

/// The workload whose pods send most of the lines the target's log names a caller in.
fn main_caller(w: &World, t: &Target) -> Option<(ResourceRef, usize, usize)> {
    let mut by_owner: BTreeMap<ResourceRef, usize> = BTreeMap::new();
    let mut attributed = 0;
    for (ip, n) in client_ips(w, t) {
        let Some(p) = w
            .pods(None)
            .find(|p| p.status.as_ref().and_then(|s| s.pod_ip.as_deref()) == Some(ip.as_str()))
        else {
            continue;
        };
        let pod = ResourceRef::new(
            "Pod",
            p.metadata.namespace.as_deref(),
            objects::name(&p.metadata),
        );
        let Some(owner) = owner_of(w, &pod) else {
            continue;
        };
        if owner.name == t.name && owner.namespace == t.namespace {
            continue;
        }
        attributed += n;
        *by_owner.entry(owner).or_insert(0) += n;
    }
    let (owner, n) = by_owner.into_iter().max_by_key(|(_, n)| *n)?;
    (n * 2 > attributed).then_some((owner, n, attributed))
}

/// The workload behind most of the callers the target's log names, when the pods read
/// account for them.
pub fn main_caller_of(w: &World, t: &Target) -> Option<ResourceRef> {
    main_caller(w, t).map(|(owner, ..)| owner)
}

/// The caller behind most of a healthy target's logged requests, when it rolled out a
/// new revision shortly before the alert, scaled up shortly before it, or runs as a Job.
pub(super) fn callers(e: &Facts<'_>) -> Vec<Candidate> {
    let (w, t) = (e.world, e.target);
    let pods: Vec<_> = w.pods_of(&t.name, t.namespace.as_deref()).collect();
    if pods.is_empty() || pods.iter().any(|p| troubled(p)) {
        return Vec::new();
    }
    let Some((owner, n, of)) = main_caller(w, t) else {
        return Vec::new();
    };
    let share = format!(
        "{n} of the {of} requests in {}'s log that name a caller come from its pods",
        t.name
    );
    let ns = owner.namespace.as_deref();
    match owner.kind.as_str() {
        "Deployment" => {
            let sets = replica_sets(w, ns, &owner.name);
            let revised = match (sets.first(), sets.get(1)) {
                (Some(new), Some(_)) => objects::created(&new.metadata)
                    .filter(|c| (-10..=NEAR_MINUTES).contains(&(e.start - *c).num_minutes()))
                    .map(|c| (*new, c)),
                _ => None,
            };
            // A new revision near the alert is what changed the calls; without one, more
            // replicas of the same revision are.
            let Some((new, created)) = revised else {
                return scaled_caller(e, &owner, &share).into_iter().collect();
            };
            let images = objects::images(objects::rs_spec(new)).join(", ");
            let revision = objects::revision(&new.metadata);
            let detail = format!(
                "its revision {revision} ({images}) rolled out at {}, shortly before the alert; {share}",
                created.format("%H:%M")
            );
            let c = caller_load(&owner, detail, &t.name, &share).because(
                EvidenceKind::Resource,
                format!("ReplicaSet/{}", objects::name(&new.metadata)),
                format!("revision {revision} created {}", created.format("%H:%M")),
            );
            vec![c]
        }
        "Job" | "CronJob" => {
            let cronjob = (owner.kind == "CronJob").then(|| owner.name.clone());
            let c = Candidate::new(
                Cause::ScheduledLoad,
                owner.clone(),
                format!("its run calls {}: {share}", t.name),
                BY_ADDRESS,
            )
            .because(
                EvidenceKind::Log,
                format!("Deployment/{}", t.name),
                share.clone(),
            );
            vec![as_job_load(c, e, &owner.name, cronjob)]
        }
        _ => Vec::new(),
    }
}

/// The caller overloading the target, with the target's log as the first link.
fn caller_load(owner: &ResourceRef, detail: String, target: &str, share: &str) -> Candidate {
    Candidate::new(Cause::CallerLoad, owner.clone(), detail, BY_ADDRESS)
        .explaining([0])
        .checked_by(Check::Present {
            resource: owner.to_string(),
            key: None,
        })
        .because(
            EvidenceKind::Log,
            format!("Deployment/{target}"),
            share.to_string(),
        )
}

/// A caller whose replica count grew near the alert, same revision: its added replicas
/// are the added load.
fn scaled_caller(e: &Facts<'_>, owner: &ResourceRef, share: &str) -> Option<Candidate> {
    let up = super::scaled::scale_up_near(e.world, owner, e.start)?;
    let t = e.target;
    let detail = format!(
        "it was {}, shortly before the alert, with no new revision: more calls than {} has capacity for; {share}",
        up.words(),
        t.name
    );
    let mut c = caller_load(owner, detail, &t.name, share).because(
        EvidenceKind::Resource,
        owner.to_string(),
        up.words(),
    );
    if let Some((hpa, _)) = &up.autoscaler {
        c.related.push(ResourceRef::new(
            "HorizontalPodAutoscaler",
            owner.namespace.as_deref(),
            hpa,
        ));
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::tools::data::LogTail;

    fn absorb(w: &mut World, kind: &str, items: Vec<serde_json::Value>) {
        w.absorb_objects(kind, items);
    }

    fn pod(ns: &str, name: &str, rs: &str, ip: &str) -> serde_json::Value {
        json!({"metadata": {"name": name, "namespace": ns, "ownerReferences": [
                  {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": "u", "controller": true}]},
               "status": {"phase": "Running", "podIP": ip}})
    }

    #[test]
    fn the_caller_behind_most_logged_addresses_is_found_in_any_namespace() {
        let mut w = World::new(chrono::Utc::now(), Some("risk".into()));
        absorb(
            &mut w,
            "Pod",
            vec![
                pod("risk", "risk-api-6b7c-aaaaa", "risk-api-6b7c", "10.0.0.5"),
                pod(
                    "ledger",
                    "ledger-service-5d4-bbbbb",
                    "ledger-service-5d4",
                    "10.0.1.7",
                ),
                pod("payments", "gateway-7f8-ccccc", "gateway-7f8", "10.0.2.9"),
            ],
        );
        let line = |ip: &str| format!("{{\"msg\":\"request\",\"remote\":\"{ip}:41000\"}}");
        let text = [
            line("10.0.1.7"),
            line("10.0.1.7"),
            line("10.0.2.9"),
            line("10.0.0.5"),
            line("127.0.0.1"),
        ]
        .join("\n");
        w.logs.push(LogTail {
            pod: "risk-api-6b7c-aaaaa".into(),
            namespace: Some("risk".into()),
            container: None,
            previous: false,
            error_lines: Vec::new(),
            text,
        });
        let t = Target {
            kind: "Deployment".into(),
            namespace: Some("risk".into()),
            name: "risk-api".into(),
            ..Target::default()
        };
        let ips = client_ips(&w, &t);
        // Its own pod's address and loopback are not callers.
        assert_eq!(ips.len(), 2, "{ips:?}");
        assert_eq!(ips.get("10.0.1.7"), Some(&2));
        let (owner, n, of) = main_caller(&w, &t).unwrap();
        assert_eq!(
            owner,
            ResourceRef::new("Deployment", Some("ledger"), "ledger-service")
        );
        assert_eq!((n, of), (2, 3));
    }
}
