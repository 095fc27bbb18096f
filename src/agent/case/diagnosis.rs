//! A diagnosis: the observations, the timeline, the ranked candidates, what the checking
//! reads found, and the confidence computed from all of it. Pure: built from what the
//! walk read, so the same evidence gives the same answer (and the model-driven loop can
//! be handed it as it is).

use chrono::{DateTime, Duration, Utc};

use super::alert::Alert;
use super::clues::Cause;
use super::confidence::{self, Assessment, CLOSE};
use super::hypotheses::{self, Candidate, Facts};
use super::refusal::dependency_hosts;
use super::statement;
use super::symptoms::{self, Observations};
use super::target::{Hypothesis, Target};
use super::timeline::{self, Change};
use super::world::World;
use super::{deps, objects};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::Evidence;

#[derive(Debug, Clone)]
pub struct Diagnosis {
    /// When the alert started (or the best guess).
    pub start: DateTime<Utc>,
    pub data_at: DateTime<Utc>,
    pub timeline: Vec<Change>,
    pub observations: Observations,
    /// Best first; ruled-out candidates sink.
    pub candidates: Vec<Candidate>,
    /// What each checking read found: (candidate culprit and cause, holds, detail).
    pub checks: Vec<(String, bool, String)>,
    pub confidence: f32,
    pub assessment: Option<Assessment>,
    /// Whether the alert named the target (else the worst finding stood in).
    pub named: bool,
    /// The evidence the answer rests on.
    pub evidence: Vec<Evidence>,
    pub actions: Vec<(String, String)>,
}

/// Diagnose from what was read.
pub fn diagnose(w: &World, t: &Target, alert: &Alert, request: &str) -> Diagnosis {
    let dependencies = dependencies(w, t);
    let observations = symptoms::observe(w, t, request, &dependencies);
    let start = alert
        .starts_at
        .unwrap_or_else(|| first_trouble(&observations, w.now));
    let related = related_objects(w, t, &dependencies);
    let timeline = timeline::build(w, t, start, &related);
    let facts = Facts {
        world: w,
        target: t,
        alert,
        observations: &observations,
        timeline: &timeline,
        start,
    };
    let mut candidates = hypotheses::generate(&facts);
    for c in &mut candidates {
        c.explains.insert(0);
    }
    hypotheses::rank(&mut candidates, &facts);
    let mut d = Diagnosis {
        start,
        data_at: w.now,
        timeline,
        observations,
        candidates,
        checks: Vec::new(),
        confidence: 0.0,
        assessment: None,
        named: t.named_in_request,
        evidence: Vec::new(),
        actions: Vec::new(),
    };
    d.settle(w.now);
    d.actions = match d.candidates.first() {
        Some(top) => statement::actions(top, t, d.confidence >= confidence::UNSURE),
        None => Vec::new(),
    };
    d
}

/// Workloads behind the hosts the target cannot reach or that refuse its work.
fn dependencies(w: &World, t: &Target) -> Vec<String> {
    let mut out = Vec::new();
    for host in dependency_hosts(w, t) {
        if let Some(svc) = deps::service_for(w, &host, t.namespace.as_deref())
            && let Some(dep) = hypotheses::workload_behind(w, &svc)
            && dep.name != t.name
            && !out.contains(&dep.name)
        {
            out.push(dep.name);
        }
    }
    out
}

/// The earliest trouble seen in the last two hours (the start when the alert gives none).
fn first_trouble(obs: &Observations, now: DateTime<Utc>) -> DateTime<Utc> {
    obs.symptoms
        .iter()
        .filter_map(|s| s.at)
        .filter(|at| *at >= now - Duration::hours(2) && *at <= now)
        .min()
        .unwrap_or(now)
}

/// What the target depends on, for marking timeline changes relevant.
fn related_objects(w: &World, t: &Target, dependencies: &[String]) -> Vec<ResourceRef> {
    let ns = t.namespace.as_deref();
    let mut out: Vec<ResourceRef> = dependencies
        .iter()
        .map(|d| ResourceRef::new("Deployment", ns, d))
        .collect();
    if let Some(spec) = w.get(&t.kind, ns, &t.name).and_then(objects::template) {
        out.extend(
            objects::spec_refs(spec)
                .into_iter()
                .map(|r| ResourceRef::new(r.kind, ns, &r.name)),
        );
    }
    for p in w.pods_of(&t.name, ns) {
        if let Some(n) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            out.push(ResourceRef::new("Node", None, n));
        }
    }
    let labels = w
        .get(&t.kind, ns, &t.name)
        .and_then(objects::template_labels)
        .unwrap_or_default();
    for o in w.all() {
        match o {
            KubeObject::NetworkPolicy(np)
                if np
                    .spec
                    .as_ref()
                    .is_some_and(|s| objects::selects_pods(s.pod_selector.as_ref(), &labels)) =>
            {
                out.push(o.reference())
            }
            KubeObject::NetworkPolicy(_) => out.push(o.reference()),
            KubeObject::HorizontalPodAutoscaler(h)
                if h.spec
                    .as_ref()
                    .is_some_and(|s| s.scale_target_ref.name == t.name) =>
            {
                out.push(o.reference())
            }
            KubeObject::Service(s)
                if s.spec
                    .as_ref()
                    .and_then(|sp| sp.selector.as_ref())
                    .is_some_and(|sel| {
                        !sel.is_empty() && crate::kube::selector::map_selects(sel, &labels)
                    }) =>
            {
                out.push(o.reference())
            }
            _ => {}
        }
    }
    out.push(ResourceRef::new(
        "Deployment",
        Some("kube-system"),
        "coredns",
    ));
    out.push(ResourceRef::new(
        "ConfigMap",
        Some("kube-system"),
        "coredns",
    ));
    out
}

/// Whether a check's "yes" means the candidate does not hold.
pub fn inverted(c: &Candidate) -> bool {
    matches!(
        (c.cause, &c.check),
        (Cause::CronJobNotRunning, Check::CronJobRan { .. })
            | (Cause::NothingWrong, Check::PodsShow { .. })
    )
}

/// The object whose pods a check reads: the culprit when it is a workload (unless the
/// check is whether the target's pods can be scheduled), else the alert's target.
pub fn check_subject(c: &Candidate, t: &Target) -> Target {
    let workload = matches!(
        c.culprit.kind.as_str(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob" | "Job"
    );
    // Pods that cannot be scheduled are the target's, whoever took their room.
    let about_target = matches!(c.check, crate::memory::Check::Unschedulable);
    if workload && c.culprit.name != t.name && !about_target {
        Target {
            kind: c.culprit.kind.clone(),
            namespace: c.culprit.namespace.clone(),
            name: c.culprit.name.clone(),
            ..Target::default()
        }
    } else {
        t.clone()
    }
}

impl Diagnosis {
    pub fn top(&self) -> Option<&Candidate> {
        self.candidates.first()
    }

    /// The leading candidate and its closest rival, when a read can check them.
    pub fn to_check(&self) -> Vec<usize> {
        self.candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.ruled_out.is_none() && c.check != Check::None)
            .take(2)
            .map(|(i, _)| i)
            .collect()
    }

    /// Take in what the checking read of candidate `i` found.
    pub fn record_check(&mut self, i: usize, holds: bool, detail: &str) {
        let Some(c) = self.candidates.get_mut(i) else {
            return;
        };
        self.checks.push((
            format!("{:?} {}", c.cause, c.culprit),
            holds,
            detail.to_string(),
        ));
        if !holds {
            c.ruled_out = Some(format!("not {}: {detail}", c.culprit.name));
        }
    }

    /// What the checking read says for `c`: +1 confirmed, −1 contradicted, 0 not
    /// checked; a check that only finds the object in place confirms weakly.
    fn verified(&self, c: &Candidate) -> f32 {
        let key = format!("{:?} {}", c.cause, c.culprit);
        let weak = matches!(c.check, Check::Present { key: None, .. });
        match self.checks.iter().find(|(k, _, _)| *k == key) {
            Some((_, true, _)) if weak => 0.4,
            Some((_, true, _)) => 1.0,
            Some((_, false, _)) => -1.0,
            None => 0.0,
        }
    }

    /// Re-rank after the checks and compute the confidence of the leader.
    pub fn settle(&mut self, now: DateTime<Utc>) {
        for c in &mut self.candidates {
            if c.ruled_out.is_some() && c.score > 0.0 {
                c.score *= 0.4;
            }
        }
        self.candidates.sort_by(|a, b| {
            a.ruled_out
                .is_some()
                .cmp(&b.ruled_out.is_some())
                .then(b.score.total_cmp(&a.score))
        });
        let Some(top) = self.candidates.first() else {
            self.confidence = 0.1;
            return;
        };
        // The rival that would change the answer: another object to blame.
        let runner = self
            .candidates
            .iter()
            .skip(1)
            .find(|c| c.ruled_out.is_none() && c.culprit != top.culprit);
        let a = confidence::assess(
            top,
            runner,
            self.observations.symptoms.len(),
            self.verified(top),
            (self.start, now.max(self.data_at)),
            self.named,
        )
        .grounded(confidence::grounding(top, &self.observations, self.start));
        self.confidence = a.confidence;
        self.assessment = Some(a);
        let mut ev = hypotheses::symptom_evidence(&self.observations, &top.explains);
        ev.extend(top.chain.iter().cloned());
        if let Some(ch) = &top.change {
            ev.push(super::target::ev(
                crate::protocol::EvidenceKind::Note,
                ch.reference.clone(),
                format!("{} {}", ch.at.format("%H:%M"), ch.what),
            ));
        }
        self.evidence = ev;
    }

    /// Runners-up within [`CLOSE`] of the leader.
    pub fn close_rivals(&self) -> Vec<&Candidate> {
        let Some(top) = self.candidates.first() else {
            return Vec::new();
        };
        self.candidates
            .iter()
            .skip(1)
            .filter(|c| {
                c.ruled_out.is_none() && top.score - c.score < CLOSE && c.culprit != top.culprit
            })
            .take(2)
            .collect()
    }

    /// The leading cause in one line, with a close rival when there is one.
    pub fn headline(&self, t: &Target) -> String {
        let Some(top) = self.candidates.first() else {
            return "no cause found".into();
        };
        let mut s = statement::sentence(top, t);
        if let Some(r) = self.close_rivals().first() {
            s.push_str(&format!(" — or: {}", statement::sentence(r, t)));
        }
        s
    }

    /// The leading cause as the planner's hypothesis (recorded in episodes).
    pub fn hypothesis(&self, t: &Target) -> Hypothesis {
        match self.candidates.first() {
            Some(top) => Hypothesis {
                text: statement::sentence(top, t),
                confidence: self.confidence,
                actions: self.actions.clone(),
                // A check whose "yes" refutes the cause cannot stand for it in a memory.
                check: if inverted(top) {
                    Check::None
                } else {
                    top.check.clone()
                },
                evidence: self.evidence.clone(),
            },
            None => Hypothesis::default(),
        }
    }
}
