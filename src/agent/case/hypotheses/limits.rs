//! Limits and schedules kept in objects rather than said in a crash: an Ingress whose
//! controller refuses or gives up on the target's requests by a limit the Ingress sets
//! (or leaves at the controller's default), a CronJob whose schedule, read in its time
//! zone, runs after the time the alert expected the work by, and a node group the
//! cluster autoscaler will not grow because it is at its maximum size.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::super::clues::{Cause, cut};
use super::super::edge::{self, Refusal, Refused};
use super::super::schedule::{Timed, expected_by};
use super::candidate::{Candidate, Facts, symptoms_of};
use super::resolve::target_ref;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// Requests to the target that its Ingress's controller refused or gave up on, as its
/// log says, grouped by Ingress and kind of refusal: the Ingress's own setting for that
/// limit (or the controller's default when it sets none) is the cause.
pub(super) fn edge_limits(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let w = e.world;
    let ns = t.namespace.as_deref();
    let all: Vec<&KubeObject> = w.of_kind("Ingress", ns).collect();
    let mut found: BTreeMap<(String, Refusal), Vec<(Refused, String)>> = BTreeMap::new();
    for tail in &w.logs {
        for r in edge::refusals(&tail.text) {
            let Some((o, route)) = edge::route_for(&all, &r.host, &r.path) else {
                continue;
            };
            if edge::serves_target(w, ns, &route.service, t) {
                found
                    .entry((o.name().to_string(), r.what))
                    .or_default()
                    .push((r, route.path));
            }
        }
    }
    let pods: Vec<_> = w.pods_of(&t.name, ns).collect();
    let own = symptoms_of(e, &pods);
    let mut out = Vec::new();
    for ((name, what), seen) in found {
        let Some(KubeObject::Ingress(i)) = w.get("Ingress", ns, &name) else {
            continue;
        };
        let Some(c) = edge::controller_for(edge::class_of(i)) else {
            continue;
        };
        let setting = match what.setting() {
            Some((key, default)) => match edge::setting(i, c, key) {
                Some(v) => format!("its {}{key} is {v}", c.prefix),
                None => {
                    let others = sibling_values(&all, &name, i, c, key);
                    format!(
                        "it sets no {}{key}, so the controller's default ({default}) applies{others}",
                        c.prefix
                    )
                }
            },
            None => "its backend cannot take the requests".to_string(),
        };
        let (first, prefix) = &seen[0];
        let r = ResourceRef::new("Ingress", ns, &name);
        let detail = match what {
            Refusal::UpstreamTls => format!(
                "for {}{prefix} {setting}, but the backend does not speak TLS (HTTPS) there: the handshake fails and the ingress controller answers {} ({} times in its log tail: {})",
                first.host,
                what.status(),
                seen.len(),
                cut(&reason_of(&first.line), 120)
            ),
            _ => format!(
                "limits requests for {}{prefix}: {setting}; the ingress controller answers {} ({} times in its log tail: {})",
                first.host,
                what.status(),
                seen.len(),
                cut(&reason_of(&first.line), 120)
            ),
        };
        out.push(
            Candidate::new(Cause::IngressBackend, r.clone(), detail, 0.85)
                .because(EvidenceKind::Log, "ingress controller", first.line.clone())
                .explaining(own.iter().copied().chain([0]))
                .checked_by(Check::Present {
                    resource: r.to_string(),
                    key: None,
                }),
        );
    }
    out
}

/// Other Ingresses for the same host that set the limit (what it was before a split).
fn sibling_values(
    all: &[&KubeObject],
    name: &str,
    i: &k8s_openapi::api::networking::v1::Ingress,
    c: &edge::Controller,
    key: &str,
) -> String {
    let hosts: Vec<String> = edge::routes(i).into_iter().map(|r| r.host).collect();
    all.iter()
        .filter(|o| o.name() != name)
        .find_map(|o| {
            let KubeObject::Ingress(x) = o else {
                return None;
            };
            let same_host = edge::routes(x).iter().any(|r| hosts.contains(&r.host));
            let v = edge::setting(x, c, key)?;
            same_host.then(|| format!(" (Ingress {} for the same host sets {v})", o.name()))
        })
        .unwrap_or_default()
}

/// The controller's reason, without nginx's `[error] pid#tid: *conn` prefix.
fn reason_of(line: &str) -> String {
    let rest = line.split_once("[error]").map_or(line, |(_, r)| r);
    let rest = rest.split_once(": *").map_or(rest, |(_, r)| r);
    rest.split_once(' ').map_or(rest, |(_, r)| r).to_string()
}

/// A CronJob whose next run after its last one comes later than the time the alert says
/// the work was expected by: its schedule read in its `timeZone`, or in UTC without one.
pub(super) fn schedule(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let Some(KubeObject::CronJob(cj)) = e.world.get("CronJob", t.namespace.as_deref(), &t.name)
    else {
        return Vec::new();
    };
    let Some(spec) = cj.spec.as_ref().filter(|s| s.suspend != Some(true)) else {
        return Vec::new();
    };
    let zone = spec.time_zone.as_deref();
    let Some(timed) = Timed::parse(&spec.schedule, zone) else {
        return Vec::new();
    };
    let last = cj
        .status
        .as_ref()
        .and_then(|s| crate::kube::state::opt_time(s.last_schedule_time.as_ref()));
    let text = format!(
        "{}\n{}",
        e.alert.name.as_deref().unwrap_or(""),
        e.alert.words()
    );
    let (Some(last), Some(by)) = (last, expected_by(&text, e.start)) else {
        return Vec::new();
    };
    let Some(next) = timed.next(last) else {
        return Vec::new();
    };
    if next <= by || last >= by {
        return Vec::new();
    }
    let local = next.with_timezone(&timed.zone).format("%H:%M");
    let zone_words = match zone {
        Some(z) => format!(
            "its schedule \"{}\" is read in timeZone {z} ({local} there)",
            spec.schedule
        ),
        None => format!(
            "its schedule \"{}\" has no timeZone, so the controller's time zone (UTC) applies",
            spec.schedule
        ),
    };
    let r = target_ref(t);
    vec![
        Candidate::new(
            Cause::CronJobNotRunning,
            r.clone(),
            format!(
                "runs at {} UTC: {zone_words}, after the {} UTC the alert expects; its last run was scheduled {} and the next is not scheduled before {}",
                next.format("%H:%M"),
                by.format("%H:%M"),
                last.format("%m-%d %H:%M UTC"),
                next.format("%m-%d %H:%M UTC"),
            ),
            0.85,
        )
        .because(
            EvidenceKind::Resource,
            r.to_string(),
            format!(
                "schedule {} timeZone {}",
                spec.schedule,
                zone.unwrap_or("(none)")
            ),
        )
        .explaining([0])
        .checked_by(Check::Present {
            resource: r.to_string(),
            key: None,
        }),
    ]
}

/// The namespace and name of the cluster autoscaler's status ConfigMap.
pub const AUTOSCALER_STATUS: (&str, &str) = ("kube-system", "cluster-autoscaler-status");

static GROUP: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?m)^\s*-?\s*[Nn]ame:\s*(\S+)").ok());
static MAX_SIZE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"maxSize[:=]\s*(\d+)").ok());
static TARGET_SIZE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"cloudProviderTarget[:=]\s*(\d+)").ok());

/// Node groups the cluster autoscaler's status reports at their maximum size, with that
/// size: both status formats (YAML since 1.30, the older text) name each group and give
/// its target and maximum.
fn groups_at_max(status: &str) -> Vec<(String, u32)> {
    let (Some(g), Some(max), Some(target)) =
        (GROUP.as_ref(), MAX_SIZE.as_ref(), TARGET_SIZE.as_ref())
    else {
        return Vec::new();
    };
    let starts: Vec<(usize, String)> = g
        .captures_iter(status)
        .filter_map(|c| Some((c.get(0)?.start(), c[1].to_string())))
        .collect();
    let mut out = Vec::new();
    for (k, (at, name)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(status.len(), |s| s.0);
        let block = &status[*at..end];
        let num = |re: &Regex| re.captures(block).and_then(|c| c[1].parse::<u32>().ok());
        if let (Some(m), Some(t)) = (num(max), num(target))
            && t >= m
        {
            out.push((name.clone(), m));
        }
    }
    out
}

/// Pending pods of the target that the cluster autoscaler says it will not add a node
/// for because a node group is at its maximum size: that group, from its status.
pub(super) fn node_group(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let w = e.world;
    let ns = t.namespace.as_deref();
    let pending: Vec<_> = w
        .pods_of(&t.name, ns)
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
        .collect();
    let said = pending.iter().find_map(|p| {
        let name = crate::agent::case::objects::name(&p.metadata);
        w.events_about("Pod", name)
            .find(|ev| ev.message.contains("max node group size reached"))
    });
    let Some(said) = said else {
        return Vec::new();
    };
    let (sns, sname) = AUTOSCALER_STATUS;
    let Some(KubeObject::ConfigMap(cm)) = w.get("ConfigMap", Some(sns), sname) else {
        return Vec::new();
    };
    let status = cm
        .data
        .as_ref()
        .and_then(|d| d.get("status"))
        .cloned()
        .unwrap_or_default();
    let status_ref = ResourceRef::new("ConfigMap", Some(sns), sname);
    let ids = symptoms_of(e, &pending);
    groups_at_max(&status)
        .into_iter()
        .map(|(group, max)| {
            Candidate::new(
                Cause::AutoscalerAtMax,
                ResourceRef::new("NodeGroup", None, &group),
                format!(
                    "has {max} nodes, its max size (maxSize {max}), so the cluster autoscaler adds none for {} pending pods of {}: \"{}\"",
                    pending.len(),
                    t.name,
                    cut(&said.message, 100)
                ),
                0.95,
            )
            .because(EvidenceKind::Event, said.about.to_string(), said.message.clone())
            .because(
                EvidenceKind::Resource,
                status_ref.to_string(),
                format!("{group}: maxSize {max}"),
            )
            .explaining(ids.iter().copied().chain([0]))
            .checked_by(Check::Present {
                resource: status_ref.to_string(),
                key: None,
            })
        })
        .collect()
}

/// Not enough room is not the cause when the cluster autoscaler would make room but its
/// node group is at its maximum size: the group takes over what the room explained.
pub(super) fn behind_node_group(out: &mut [Candidate]) {
    let Some(g) = out
        .iter()
        .position(|c| c.cause == Cause::AutoscalerAtMax && c.culprit.kind == "NodeGroup")
    else {
        return;
    };
    let group = out[g].culprit.name.clone();
    let mut taken = Vec::new();
    for c in out
        .iter_mut()
        .filter(|c| c.cause == Cause::InsufficientResources && c.ruled_out.is_none())
    {
        taken.extend(c.explains.iter().copied());
        c.ruled_out = Some(format!(
            "not only a lack of room: the cluster autoscaler would add a node, but node group {group} is at its max size"
        ));
    }
    out[g].explains.extend(taken);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_autoscaler_status_names_the_groups_at_their_maximum() {
        let yaml = "nodeGroups:\n- name: eks-general-1\n  health:\n    status: Healthy\n    cloudProviderTarget: 5\n    minSize: 5\n    maxSize: 5\n\
            - name: eks-gpu-2\n  health:\n    cloudProviderTarget: 1\n    minSize: 0\n    maxSize: 4\n";
        assert_eq!(groups_at_max(yaml), vec![("eks-general-1".to_string(), 5)]);
        let text = "NodeGroups:\n  Name:        eks-batch\n  Health:      Healthy (ready=8 unready=0 notStarted=0 longNotStarted=0 registered=8 longUnregistered=0 cloudProviderTarget=8 (minSize=2, maxSize=8))\n";
        assert_eq!(groups_at_max(text), vec![("eks-batch".to_string(), 8)]);
        assert_eq!(
            reason_of(
                "2025/06/30 13:44:01 [error] 31#31: *4417211 client intended to send too large body: 18 bytes"
            ),
            "client intended to send too large body: 18 bytes"
        );
    }
}
