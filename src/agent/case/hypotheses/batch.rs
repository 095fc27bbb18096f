//! Scheduled work and the baseline: CronJobs that do not run or whose Jobs fail, a
//! scheduled Job's load near the alert, relevant recent changes, and nothing wrong.

use k8s_openapi::api::core::v1::Pod;

use super::super::clues::Cause;
use super::super::objects;
use super::super::target::ev;
use super::super::timeline::NEAR_MINUTES;
use super::candidate::{Candidate, Facts};
use super::resolve::{owner_of, target_ref};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// A CronJob that is suspended, has not been scheduled, or whose last Job failed.
pub(super) fn batch(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let mut out = Vec::new();
    let Some(KubeObject::CronJob(cj)) = e.world.get("CronJob", t.namespace.as_deref(), &t.name)
    else {
        return out;
    };
    let r = target_ref(t);
    let spec = cj.spec.as_ref();
    if spec.and_then(|s| s.suspend) == Some(true) {
        out.push(
            Candidate::new(
                Cause::CronJobNotRunning,
                r.clone(),
                "is suspended (spec.suspend=true), so no run starts",
                0.95,
            )
            .because(EvidenceKind::Resource, r.to_string(), "suspend: true")
            .explaining([0])
            .checked_by(Check::CronJobRan {
                cronjob: t.name.clone(),
            }),
        );
    }
    let active = cj
        .status
        .as_ref()
        .and_then(|s| s.active.as_ref())
        .map_or(0, Vec::len);
    if active > 0 && spec.and_then(|s| s.concurrency_policy.as_deref()) == Some("Forbid") {
        out.push(Candidate::new(Cause::CronJobNotRunning, r.clone(), format!("a previous run is still active and concurrencyPolicy Forbid skips new runs ({active} active)"), 0.8)
            .because(EvidenceKind::Resource, r.to_string(), "concurrencyPolicy: Forbid")
            .explaining([0]));
    }
    // Its latest Job failed: the Job's pods say why.
    let mut jobs: Vec<&KubeObject> = e
        .world
        .of_kind("Job", t.namespace.as_deref())
        .filter(|o| o.meta().is_some_and(|m| objects::owned_by(m, &t.name)))
        .collect();
    jobs.sort_by_key(|o| o.meta().and_then(objects::created));
    if let Some(KubeObject::Job(j)) = jobs.last()
        && let Some(failed) = condition(j, "Failed")
    {
        out.push(
            Candidate::new(
                Cause::JobFailed,
                r.clone(),
                format!(
                    "its Job {} failed ({}): {}",
                    objects::name(&j.metadata),
                    failed.reason.as_deref().unwrap_or(""),
                    failed.message.as_deref().unwrap_or("")
                ),
                0.7,
            )
            .because(
                EvidenceKind::Resource,
                format!("Job/{}", objects::name(&j.metadata)),
                failed.reason.clone().unwrap_or_default(),
            )
            .explaining([0]),
        );
    }
    out
}

/// A Job that started shortly before the alert, running or finished successfully, while
/// the target itself is healthy: a scheduled run or a planned one-off (a replay, a
/// backfill). Its load, or the backlog it left, explains the alert, and it ends or
/// drains on its own.
pub(super) fn scheduled_load(e: &Facts<'_>) -> Vec<Candidate> {
    use super::super::alert::AlertSymptom;
    let mut out = Vec::new();
    if e.observations.target_troubled() {
        return out;
    }
    // Jobs of other namespaces count only when they name the target (`callers`).
    for o in e.world.of_kind("Job", e.target.namespace.as_deref()) {
        let KubeObject::Job(j) = o else { continue };
        let st = j.status.as_ref();
        let done = st.and_then(|s| crate::kube::state::opt_time(s.completion_time.as_ref()));
        let running = st.and_then(|s| s.active).unwrap_or(0) > 0 && done.is_none();
        let succeeded = done.is_some() && st.and_then(|s| s.succeeded).unwrap_or(0) > 0;
        let Some(started) = st.and_then(|s| crate::kube::state::opt_time(s.start_time.as_ref()))
        else {
            continue;
        };
        let near = (e.start - started).num_minutes();
        // A finished run explains only work it left behind (a backlog, lag).
        let left_work = succeeded && matches!(e.alert.symptom, AlertSymptom::Backlog);
        if !(running || left_work) || !(-10..=NEAR_MINUTES).contains(&near) {
            continue;
        }
        let cronjob = objects::controller(&j.metadata)
            .filter(|(k, _)| *k == "CronJob")
            .map(|(_, n)| n.to_string());
        let culprit = match &cronjob {
            Some(c) => ResourceRef::new("CronJob", j.metadata.namespace.as_deref(), c),
            None => o.reference(),
        };
        let earlier = cronjob.as_ref().map_or(0, |cj| {
            e.world
                .of_kind("Job", None)
                .filter(|x| {
                    x.name() != o.name() && x.meta().is_some_and(|m| objects::owned_by(m, cj))
                })
                .count()
        });
        let state = match done {
            Some(d) if succeeded => format!(
                "ran from {} to {} and completed; the backlog it produced drains on its own",
                started.format("%H:%M"),
                d.format("%H:%M")
            ),
            _ => format!(
                "started at {} and is still running",
                started.format("%H:%M")
            ),
        };
        let c = Candidate::new(
            Cause::ScheduledLoad,
            culprit,
            format!(
                "its Job {} {state}{}",
                o.name(),
                if earlier > 0 {
                    format!("; it runs on schedule ({earlier} earlier runs completed)")
                } else {
                    String::new()
                }
            ),
            if earlier > 0 || left_work { 0.6 } else { 0.45 },
        )
        .because(
            EvidenceKind::Resource,
            format!("Job/{}", o.name()),
            state.clone(),
        );
        out.push(as_job_load(c, e, o.name(), cronjob));
    }
    out
}

/// A Job's load as a candidate: it explains the alert and the target's autoscaler at its
/// maximum, is dated by the Job's start, and is checked by its CronJob's runs.
pub(super) fn as_job_load(
    c: Candidate,
    e: &Facts<'_>,
    job: &str,
    cronjob: Option<String>,
) -> Candidate {
    let c = c
        .explaining(autoscaler_symptoms(e).into_iter().chain([0]))
        .dated(
            e.timeline
                .iter()
                .find(|c| c.reference.ends_with(&format!("/{job}")) && c.kind == "job"),
        );
    match cronjob {
        Some(cronjob) => c.checked_by(Check::CronJobRan { cronjob }),
        None => c,
    }
}

/// The symptoms of the target's autoscaler (at its maximum): load explains them.
fn autoscaler_symptoms(e: &Facts<'_>) -> Vec<usize> {
    e.observations
        .symptoms
        .iter()
        .filter(|s| s.object.kind == "HorizontalPodAutoscaler")
        .map(|s| s.id)
        .collect()
}

/// Relevant changes near the start that nothing more specific accounts for.
pub(super) fn recent_changes(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    e.timeline
        .iter()
        .filter(|c| c.relevant && c.kind != "first warning" && c.kind != "node")
        .filter(|c| {
            let before = (e.start - c.at).num_minutes();
            (-5..=NEAR_MINUTES).contains(&before)
        })
        .map(|c| {
            let culprit = match &c.object {
                Some(o) if o.kind == "Pod" || o.kind == "ReplicaSet" => {
                    owner_of(e.world, o).unwrap_or_else(|| target_ref(t))
                }
                Some(o) => o.clone(),
                None => target_ref(t),
            };
            let mut cand = Candidate::new(
                Cause::RecentChange,
                culprit,
                format!("{} at {}: {}", c.kind, c.at.format("%H:%M"), c.what),
                0.25,
            )
            .explaining([0]);
            cand.chain.push(ev(
                EvidenceKind::Note,
                c.reference.clone(),
                format!("{} {}", c.at.format("%H:%M"), c.what),
            ));
            cand.change = Some(c.clone());
            cand
        })
        .collect()
}

/// The target is healthy: every pod ready, no restarts, no warnings, no errors logged.
pub(super) fn nothing_wrong(e: &Facts<'_>) -> Option<Candidate> {
    if e.observations.target_troubled() {
        return None;
    }
    let t = e.target;
    let pods: Vec<&Pod> = e.world.pods_of(&t.name, t.namespace.as_deref()).collect();
    let logs = e
        .world
        .logs
        .iter()
        .filter(|l| objects::named_for(&l.pod, &t.name))
        .count();
    // A recent change to the alerting rules explains an alert on a healthy target.
    let rule_change = e
        .world
        .commits
        .iter()
        .filter(|c| {
            let at = chrono::DateTime::from_timestamp(c.time, 0).unwrap_or_default();
            at <= e.start && e.start - at <= chrono::Duration::days(3)
        })
        .find(|c| {
            let s = c.summary.to_lowercase();
            c.files.iter().any(|f| {
                let f = f.to_lowercase();
                ["alert", "rules", "prometheus", "monitoring", "slo"]
                    .iter()
                    .any(|w| f.contains(w))
            }) || s.contains("alert")
        })
        .map(|c| {
            format!(
                "; commit {} changed the alerting: {}",
                &c.id[..c.id.len().min(10)],
                c.summary
            )
        })
        .unwrap_or_default();
    Some(
        Candidate::new(
            Cause::NothingWrong,
            target_ref(t),
            format!(
                "all {} pods are ready with no recent restarts, no warning events{}{rule_change}",
                pods.len(),
                if logs > 0 {
                    " and no errors in the logs read"
                } else {
                    ""
                }
            ),
            // Healthy pods are weak evidence that an alert is wrong: the trouble may sit
            // where the walk did not look. A change to the alerting rules says more.
            match (pods.is_empty(), rule_change.is_empty()) {
                (true, _) => 0.1,
                (false, true) => 0.2,
                (false, false) => 0.45,
            },
        )
        .because(
            EvidenceKind::Resource,
            target_ref(t).to_string(),
            format!(
                "{} of {} pods ready",
                pods.iter().filter(|p| objects::pod_ready(p)).count(),
                pods.len()
            ),
        )
        .explaining([0])
        .checked_by(Check::PodsShow {
            reason: String::new(),
        }),
    )
}

/// A failed Job whose CronJob has since completed a later run (the next schedule, or a
/// re-run by hand with `kubectl create job --from=cronjob/…`): the work was done, and
/// the alert fires only because the failed Job object is kept (`failedJobsHistoryLimit`).
pub(super) fn rerun_completed(e: &Facts<'_>) -> Option<Candidate> {
    let t = e.target;
    let ns = t.namespace.as_deref();
    let Some(KubeObject::Job(j)) = e.world.get("Job", ns, &t.name) else {
        return None;
    };
    let failed = condition(j, "Failed")?;
    let (_, cron) = objects::controller(&j.metadata).filter(|(k, _)| *k == "CronJob")?;
    let since = objects::created(&j.metadata)?;
    let later = e.world.of_kind("Job", ns).find_map(|o| {
        let KubeObject::Job(k) = o else {
            return None;
        };
        let (_, owner) = objects::controller(&k.metadata)?;
        let created = objects::created(&k.metadata)?;
        let complete = condition(k, "Complete")?;
        (owner == cron && created > since && objects::name(&k.metadata) != t.name)
            .then(|| (objects::name(&k.metadata).to_string(), complete, k))
    })?;
    let (name, complete, k) = later;
    let manual = k
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("cronjob.kubernetes.io/instantiate"))
        .is_some_and(|v| v == "manual");
    let at = crate::kube::state::opt_time(complete.last_transition_time.as_ref())
        .map(|x| x.format("%H:%M").to_string())
        .unwrap_or_default();
    let cron_ref = ResourceRef::new("CronJob", ns, cron);
    Some(
        Candidate::new(
            Cause::NothingWrong,
            target_ref(t),
            format!(
                "its run failed ({}), but {} Job {name} of CronJob {cron} completed after it (at {at}): the work is done, and the alert fires only for the failed Job object the CronJob keeps",
                failed.reason.as_deref().unwrap_or("failed"),
                if manual { "a manual re-run," } else { "a later run," }
            ),
            0.85,
        )
        .because(EvidenceKind::Resource, format!("Job/{name}"), "Complete")
        .explaining([0])
        .via(cron_ref)
        .checked_by(Check::CronJobRan {
            cronjob: cron.to_string(),
        }),
    )
}

/// A Job's condition of this type, when it holds.
fn condition(
    j: &k8s_openapi::api::batch::v1::Job,
    kind: &str,
) -> Option<k8s_openapi::api::batch::v1::JobCondition> {
    j.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == kind && c.status == "True")
        .cloned()
}
