//! Competing hypotheses: every cause the evidence supports, each with the chain that
//! links it to the symptoms, ranked by how much of the symptoms it explains, how
//! specific its evidence is and how close in time its change was to the alert's start.

mod autoscalers;
mod batch;
mod callers;
mod candidate;
mod certs;
pub mod devices;
mod flood;
mod gateway;
mod host;
mod limits;
mod lookup;
mod paths;
mod platform;
mod policy;
pub mod preempt;
mod resolve;
mod revisions;
mod rollout;
mod routing;
mod scaled;
mod structure;
mod volumes;
mod words;

pub use candidate::{Candidate, Facts};
pub use flood::{client_ips, main_caller_of};
pub use limits::AUTOSCALER_STATUS;
pub use resolve::{owner_of, workload_behind};

use std::collections::BTreeSet;

use super::clues::Cause;
use super::symptoms::Observations;
use super::target::{Target, ev};
use super::timeline::{self, Change};
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::{Evidence, EvidenceKind};

/// How much more directly a failing revision is named when its pods say how they fail.
const IN_ITS_WORDS: f32 = 0.1;

/// Every candidate, best first, merged by cause and culprit.
pub fn generate(e: &Facts<'_>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut add = |c: Candidate| match out.iter_mut().find(|o| o.same(&c)) {
        Some(o) => {
            o.explains.extend(c.explains.iter().copied());
            o.specificity = o.specificity.max(c.specificity);
            for link in c.chain {
                if !o.chain.iter().any(|x| x.detail == link.detail) && o.chain.len() < 6 {
                    o.chain.push(link);
                }
            }
            if o.check == Check::None {
                o.check = c.check;
            }
            for r in c.related {
                if !o.related.contains(&r) {
                    o.related.push(r);
                }
            }
        }
        None => out.push(c),
    };
    let mut from_dependencies = Vec::new();
    for (clue, symptom) in &e.observations.clues {
        let on_dependency = e
            .observations
            .symptoms
            .get(*symptom)
            .is_some_and(|s| s.dependency);
        // What is wrong inside a dependency is why it is down, not a cause of its own.
        if on_dependency {
            from_dependencies.push((clue, *symptom));
            continue;
        }
        for mut c in resolve::from_clue(e, clue, *symptom) {
            // What a pod says (its log, its status, its events) explains that pod's
            // other symptoms too.
            if clue.source.kind == "Pod" {
                c.explains
                    .extend(candidate::seen_on(e.observations, &clue.source));
            }
            add(c);
        }
    }
    // A StatefulSet's failing update revision (structure's rival for Deployments).
    for c in structure::candidates(e)
        .into_iter()
        .chain(revisions::statefulset_rollout(e))
    {
        add(c);
    }
    // The most telling message of a dependency first: its log, then the most specific.
    from_dependencies.sort_by(|a, b| {
        let log = |c: &super::clues::Clue| c.origin == super::clues::Origin::Log;
        log(b.0)
            .cmp(&log(a.0))
            .then(b.0.specificity.total_cmp(&a.0.specificity))
    });
    fold_dependencies(&mut out, e, &from_dependencies);
    fold_into_rollout(&mut out);
    own_words(&mut out, e);
    for c in out.iter_mut().filter(|c| c.cause == Cause::BadRollout) {
        if c.detail.contains("; its pods ") {
            c.specificity = (c.specificity + IN_ITS_WORDS).min(1.0);
        }
    }
    rollout::rule_out_behind_pods(&mut out);
    limits::behind_node_group(&mut out);
    devices::behind_device_plugin(&mut out, e);
    rollout::deepen(&mut out);
    preempt::rule_out_own_requests(&mut out, e.target);
    for c in &mut out {
        attach_change(c, e.timeline, e.target);
    }
    rank(&mut out, e);
    out
}

/// A dependency's own failures explain why it is down: they join the candidate that
/// blames it (its pods' symptoms explained, its first clue as the reason).
fn fold_dependencies(out: &mut [Candidate], e: &Facts<'_>, clues: &[(&super::clues::Clue, usize)]) {
    for (clue, symptom) in clues {
        let Some(owner) = resolve::owner_of(e.world, &clue.source) else {
            continue;
        };
        let Some(c) = out.iter_mut().find(|c| {
            c.culprit == owner && matches!(c.cause, Cause::DependencyDown | Cause::UpstreamErrors)
        }) else {
            continue;
        };
        c.explains.insert(*symptom);
        if !c.chain.iter().any(|x| x.detail == clue.text) && c.chain.len() < 6 {
            c.chain.push(ev(
                EvidenceKind::Log,
                clue.source.to_string(),
                clue.text.clone(),
            ));
            if !c.detail.contains("; its pods fail") {
                c.detail.push_str(&format!(
                    "; its pods fail: {}",
                    super::clues::cut(&clue.text, 140)
                ));
            }
        }
    }
    for c in out.iter_mut().filter(|c| c.cause == Cause::DependencyDown) {
        let owner = c.culprit.clone();
        let ids: Vec<usize> = e
            .observations
            .symptoms
            .iter()
            .filter(|s| {
                s.dependency && resolve::owner_of(e.world, &s.object).as_ref() == Some(&owner)
            })
            .map(|s| s.id)
            .collect();
        c.explains.extend(ids);
    }
}

/// A workload other than the target blamed for the trouble (cluster DNS, metrics-server,
/// a dependency) says why in its own log: its most telling error line (one the clue
/// table reads, else the latest) joins the cause, in its words. So do the failing pods
/// of a revision blamed for failing, when no clue stood for what they say, and the
/// target's pods when a change is blamed only for being recent.
fn own_words(out: &mut [Candidate], e: &Facts<'_>) {
    for c in out.iter_mut() {
        let rollout = c.cause == Cause::BadRollout;
        let workload = matches!(
            c.culprit.kind.as_str(),
            "Deployment" | "StatefulSet" | "DaemonSet"
        );
        // A failed Job says why only in its pods' logs, the target's own included.
        let job =
            c.cause == Cause::JobFailed && matches!(c.culprit.kind.as_str(), "CronJob" | "Job");
        // A change blamed only for being recent says what went wrong in its pods' words.
        let recent = c.cause == Cause::RecentChange && c.culprit.name == e.target.name;
        if !(job || rollout || recent || workload && c.culprit.name != e.target.name)
            || c.detail.contains("; its pods")
        {
            continue;
        }

        let ns = c.culprit.namespace.as_deref();
        let mut lines: Vec<(&str, f32, ResourceRef)> = Vec::new();
        let pods = e.world.pods_of(&c.culprit.name, None).filter(|p| {
            p.metadata
                .namespace
                .as_deref()
                .is_none_or(|pns| Some(pns) == ns)
                && (!rollout || candidate::troubled(p))
        });
        for p in pods {
            let pod = ResourceRef::new("Pod", p.metadata.namespace.as_deref(), objects_name(p));
            for tail in e.world.logs_of(objects_name(p)) {
                for l in tail.error_lines.iter().rev() {
                    let telling = super::clues::read(l, &pod, super::clues::Origin::Log, None)
                        .iter()
                        .map(|x| x.specificity)
                        .fold(0.0, f32::max);
                    lines.push((l, telling, pod.clone()));
                }
            }
        }
        if lines.is_empty() && rollout {
            lines.extend(e.world.pods_of(&c.culprit.name, ns).filter_map(|p| {
                let pod = ResourceRef::new("Pod", p.metadata.namespace.as_deref(), objects_name(p));
                refused_create(p).map(|m| (m, 0.0, pod))
            }));
        }
        let Some((line, _, pod)) = lines
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| a.1.total_cmp(&b.1).then(j.cmp(i)))
            .map(|(_, l)| l.clone())
        else {
            continue;
        };
        let said = root_of(&super::clues::log_message(line));
        c.detail = format!(
            "{}; its pods say: {}{}",
            super::clues::cut(&c.detail, if rollout { 200 } else { 90 }),
            super::clues::cut(&said, 120),
            volumes::unprojected(e.world, &c.culprit, &said).unwrap_or_default()
        );
        if c.chain.len() < 6 {
            c.chain.push(ev(EvidenceKind::Log, pod.to_string(), said));
        }
    }
}

/// Why the kubelet refuses to create a container that never ran (so it has no log):
/// its waiting message when the reason is `CreateContainerConfigError` or
/// `CreateContainerError` (pulling, creating and back-off are other readings').
fn refused_create(p: &k8s_openapi::api::core::v1::Pod) -> Option<&str> {
    p.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .find_map(|cs| {
            let w = cs.state.as_ref()?.waiting.as_ref()?;
            let reason = w.reason.as_deref()?;
            reason
                .starts_with("CreateContainer")
                .then_some(w.message.as_deref())
                .flatten()
                // The kubelet appends the pod and container it means: `(pod: "…", container: …)`.
                .map(|m| m.split(" (pod: ").next().unwrap_or(m))
                .filter(|m| !m.is_empty())
        })
}

/// A log message without a klog header (`E0723 14:42:00.021481 1 scraper.go:149] `),
/// and when long, its end: wrapped errors (`outer: inner: root cause`) end with the
/// root cause.
fn root_of(message: &str) -> String {
    let m = match message.split_once("] ") {
        Some((head, rest))
            if head.len() < 60
                && head.starts_with(['I', 'W', 'E', 'F'])
                && head[1..].starts_with(|c: char| c.is_ascii_digit()) =>
        {
            rest
        }
        _ => message,
    };
    let chars: Vec<char> = m.trim().chars().collect();
    if chars.len() > 120 {
        format!("…{}", chars[chars.len() - 119..].iter().collect::<String>())
    } else {
        m.trim().to_string()
    }
}

fn objects_name(p: &k8s_openapi::api::core::v1::Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or_default()
}

/// When a new revision of the target fails where the old one ran, what the target's
/// own pods say (a crash, a listen address, a setting) is how the revision fails: it
/// joins the rollout candidate rather than standing apart from it.
fn fold_into_rollout(out: &mut Vec<Candidate>) {
    let Some(r) = out
        .iter()
        .position(|c| c.cause == Cause::BadRollout && c.ruled_out.is_none())
    else {
        return;
    };
    let workload = out[r].culprit.clone();
    let image_changed = out[r].detail.contains("image ");
    let folded: Vec<Candidate> = out
        .iter()
        .filter(|c| {
            c.culprit == workload
                && (matches!(
                    c.cause,
                    Cause::AppCrash
                        | Cause::ListenAddress
                        | Cause::MissingConfig
                        | Cause::BadConfigValue
                        | Cause::ProbeFailing
                ) || (c.cause == Cause::ImageNotFound && image_changed))
        })
        .cloned()
        .collect();
    out.retain(|c| !(c.culprit == workload && folded.iter().any(|f| f.cause == c.cause)));
    let Some(rollout) = out
        .iter_mut()
        .find(|c| c.cause == Cause::BadRollout && c.culprit == workload)
    else {
        return;
    };
    for f in folded {
        rollout.explains.extend(f.explains.iter().copied());
        rollout.specificity = rollout.specificity.max(f.specificity * 0.9);
        if let Some(link) = f.chain.first()
            && !rollout.detail.contains(" its pods fail: ")
        {
            rollout.detail.push_str(&format!(
                "; its pods fail: {}",
                super::clues::cut(&link.detail, 140)
            ));
            rollout.chain.push(link.clone());
        }
    }
}

/// The latest relevant change to the culprit (or, for a rollout, to the workload) before
/// the alert.
fn attach_change(c: &mut Candidate, changes: &[Change], t: &Target) {
    if c.change.is_some() {
        return;
    }
    let about = |ch: &Change| {
        ch.object.as_ref().is_some_and(|o| {
            (o.kind == c.culprit.kind && o.name == c.culprit.name)
                || (c.cause == Cause::BadRollout && o.name == t.name && ch.kind == "rollout")
        })
    };
    c.change = changes
        .iter()
        .filter(|ch| ch.kind != "first warning" && about(ch))
        .max_by_key(|ch| ch.at)
        .cloned();
}

/// Rank: explained share of the symptoms, specificity, time proximity of the change.
pub fn rank(cands: &mut [Candidate], e: &Facts<'_>) {
    let total = e.observations.symptoms.len().max(1) as f32;
    for c in cands.iter_mut() {
        let explained = c.explains.len() as f32 / total;
        let near = c
            .change
            .as_ref()
            .map_or(0.3, |ch| timeline::proximity(ch.at, e.start));
        let ruled = if c.ruled_out.is_some() { 0.4 } else { 1.0 };
        c.score = ruled * (0.45 * explained + 0.35 * c.specificity + 0.2 * near);
    }
    cands.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.culprit.cmp(&b.culprit)));
}

/// Evidence that a symptom id list stands for, for display.
pub fn symptom_evidence(obs: &Observations, ids: &BTreeSet<usize>) -> Vec<Evidence> {
    obs.symptoms
        .iter()
        .filter(|s| ids.contains(&s.id) && s.id > 0)
        .take(4)
        .map(|s| ev(EvidenceKind::Finding, s.object.to_string(), s.what.clone()))
        .collect()
}
