//! Symptoms: what is observably wrong with the target (and the dependencies its logs
//! name), each with the messages that came with it. The alert itself is symptom 0.
//! Hypotheses are scored by how many of these they explain.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::clues::{self, Clue, Origin};
use super::objects::{self, unscheduled_message};
use super::target::Target;
use super::timeline::parse_time;
use super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// One thing observably wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Symptom {
    pub id: usize,
    /// The object it was seen on.
    pub object: ResourceRef,
    pub what: String,
    pub at: Option<DateTime<Utc>>,
    /// Seen on a dependency rather than on the target.
    pub dependency: bool,
}

/// Symptoms and the clues their messages gave.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    pub symptoms: Vec<Symptom>,
    /// Each clue with the symptom it came with.
    pub clues: Vec<(Clue, usize)>,
}

impl Observations {
    fn symptom(
        &mut self,
        object: ResourceRef,
        what: String,
        at: Option<DateTime<Utc>>,
        dependency: bool,
    ) -> usize {
        if let Some(s) = self
            .symptoms
            .iter()
            .find(|s| s.object == object && s.what == what)
        {
            return s.id;
        }
        let id = self.symptoms.len();
        self.symptoms.push(Symptom {
            id,
            object,
            what,
            at,
            dependency,
        });
        id
    }

    fn read(
        &mut self,
        text: &str,
        source: &ResourceRef,
        origin: Origin,
        at: Option<DateTime<Utc>>,
        symptom: usize,
    ) {
        for c in clues::read(text, source, origin, at) {
            self.clues.push((c, symptom));
        }
    }

    /// Symptoms seen on the target itself (the alert included).
    pub fn on_target(&self) -> usize {
        self.symptoms.iter().filter(|s| !s.dependency).count()
    }

    /// Whether anything beyond the alert is wrong with the target's pods or objects (an
    /// autoscaler at its maximum is load, not trouble).
    pub fn target_troubled(&self) -> bool {
        self.symptoms
            .iter()
            .any(|s| s.id > 0 && !s.dependency && s.object.kind != "HorizontalPodAutoscaler")
    }
}

/// Observe the target's pods (and those of `dependencies`): container states, scheduling,
/// evictions, readiness, warning events, log errors.
pub fn observe(w: &World, t: &Target, alert_text: &str, dependencies: &[String]) -> Observations {
    let mut obs = Observations::default();
    let alert_ref = ResourceRef::new(&t.kind, t.namespace.as_deref(), &t.name);
    obs.symptom(alert_ref.clone(), "the alert".into(), None, false);
    // The alert's own words can carry a cause's message (a probe error, a scheduler line).
    obs.read(alert_text, &alert_ref, Origin::Event, None, 0);
    let mut owners: Vec<(String, bool)> = vec![(t.name.clone(), false)];
    owners.extend(dependencies.iter().map(|d| (d.clone(), true)));
    for (owner, dependency) in owners {
        let pods: Vec<&Pod> = w.pods_of(&owner, None).collect();
        for p in pods {
            pod_symptoms(w, p, dependency, &mut obs);
        }
        // Events on the workload, its ReplicaSets and Jobs.
        for e in w.events.iter().filter(|e| {
            e.type_ == "Warning"
                && e.about.kind != "Pod"
                && (e.about.name == owner || objects::named_for(&e.about.name, &owner))
        }) {
            let at = e.last_seen.as_deref().and_then(parse_time);
            let id = obs.symptom(
                e.about.clone(),
                format!("{}: {}", e.reason, clues::cut(&e.message, 160)),
                at,
                dependency,
            );
            obs.read(
                &format!("{} {}", e.reason, e.message),
                &e.about,
                Origin::Event,
                at,
                id,
            );
        }
    }
    object_symptoms(w, t, &mut obs);
    obs
}

#[allow(clippy::too_many_lines)] // a pod's states, scheduling, status, events and logs in turn
fn pod_symptoms(w: &World, p: &Pod, dependency: bool, obs: &mut Observations) {
    let name = objects::name(&p.metadata);
    let source = ResourceRef::new("Pod", p.metadata.namespace.as_deref(), name);
    let mut ids = Vec::new();
    for c in objects::container_troubles(p) {
        let what = format!(
            "container {} {} {}{}",
            c.container,
            c.state,
            c.reason,
            if c.restarts > 0 {
                format!(" ({} restarts)", c.restarts)
            } else {
                String::new()
            }
        );
        let id = obs.symptom(source.clone(), what, c.at, dependency);
        obs.read(
            &format!("{} {} (container {})", c.reason, c.message, c.container),
            &source,
            Origin::Status,
            c.at,
            id,
        );
        ids.push(id);
    }
    let status = p.status.as_ref();
    if let Some(msg) = unscheduled_message(p) {
        let id = obs.symptom(
            source.clone(),
            "Pending: cannot be scheduled".into(),
            objects::created(&p.metadata),
            dependency,
        );
        obs.read(msg, &source, Origin::Scheduler, None, id);
        ids.push(id);
    } else if status.and_then(|s| s.phase.as_deref()) == Some("Pending") {
        let id = obs.symptom(
            source.clone(),
            "Pending: containers not started".into(),
            objects::created(&p.metadata),
            dependency,
        );
        ids.push(id);
    }
    if let Some(reason) = status.and_then(|s| s.reason.as_deref()) {
        let msg = status
            .and_then(|s| s.message.as_deref())
            .unwrap_or_default();
        let id = obs.symptom(
            source.clone(),
            format!("{reason}: {}", clues::cut(msg, 120)),
            None,
            dependency,
        );
        obs.read(
            &format!("{reason} {msg}"),
            &source,
            Origin::Status,
            None,
            id,
        );
        ids.push(id);
    }
    let running = status.and_then(|s| s.phase.as_deref()) == Some("Running");
    if running && !objects::pod_ready(p) && ids.is_empty() {
        ids.push(obs.symptom(
            source.clone(),
            "running but not ready".into(),
            None,
            dependency,
        ));
    }
    // Warning events on the pod go with its first symptom (or make one).
    for e in w.events_about("Pod", name).filter(|e| e.type_ == "Warning") {
        let at = e.last_seen.as_deref().and_then(parse_time);
        let id = match ids.first() {
            Some(id) => *id,
            None => obs.symptom(
                source.clone(),
                format!("{}: {}", e.reason, clues::cut(&e.message, 120)),
                at,
                dependency,
            ),
        };
        obs.read(
            &format!("{} {}", e.reason, e.message),
            &source,
            Origin::Event,
            at,
            id,
        );
    }
    // Errors in its log; for a container that crashed, its last lines too (the reason
    // it exited is often not worded as an error).
    for tail in w.logs_of(name) {
        let mut lines: Vec<&str> = tail
            .error_lines
            .iter()
            .rev()
            .take(12)
            .map(String::as_str)
            .collect();
        if !ids.is_empty() {
            for l in tail
                .text
                .lines()
                .rev()
                .filter(|l| !l.trim().is_empty())
                .take(5)
            {
                if !lines.contains(&l) {
                    lines.push(l);
                }
            }
        }
        if lines.is_empty() {
            continue;
        }
        let what = format!(
            "{} error lines in its {}log",
            tail.error_lines.len().max(1),
            if tail.previous { "previous " } else { "" }
        );
        let id = obs.symptom(source.clone(), what, None, dependency);
        for line in lines {
            obs.read(line, &source, Origin::Log, None, id);
        }
    }
}

/// Symptoms on objects around the target: its autoscaler at the maximum, its claims
/// pending, its nodes not ready.
fn object_symptoms(w: &World, t: &Target, obs: &mut Observations) {
    for o in w.all() {
        match o {
            KubeObject::HorizontalPodAutoscaler(h) => {
                let (Some(spec), Some(st)) = (h.spec.as_ref(), h.status.as_ref()) else {
                    continue;
                };
                if !super::autoscalers::tied(w, t, h) {
                    continue;
                }
                if st.current_replicas.unwrap_or(0) >= spec.max_replicas {
                    obs.symptom(
                        o.reference(),
                        format!("at its maximum of {} replicas", spec.max_replicas),
                        None,
                        false,
                    );
                }
                for c in st
                    .conditions
                    .iter()
                    .flatten()
                    .filter(|c| c.status == "False")
                {
                    let msg = c.message.clone().unwrap_or_default();
                    let id = obs.symptom(
                        o.reference(),
                        format!("{}=False: {}", c.type_, clues::cut(&msg, 120)),
                        None,
                        false,
                    );
                    obs.read(
                        &format!("{} {msg}", c.reason.as_deref().unwrap_or("")),
                        &o.reference(),
                        Origin::Status,
                        None,
                        id,
                    );
                }
            }
            KubeObject::PersistentVolumeClaim(c) => {
                let phase = c.status.as_ref().and_then(|s| s.phase.as_deref());
                if phase != Some("Bound") {
                    obs.symptom(
                        o.reference(),
                        format!("claim {}", phase.unwrap_or("unbound")),
                        None,
                        false,
                    );
                }
                for e in w
                    .events_about("PersistentVolumeClaim", o.name())
                    .filter(|e| e.type_ == "Warning")
                {
                    let id = obs.symptom(
                        o.reference(),
                        format!("{}: {}", e.reason, clues::cut(&e.message, 120)),
                        None,
                        false,
                    );
                    obs.read(
                        &format!("{} {}", e.reason, e.message),
                        &o.reference(),
                        Origin::Event,
                        None,
                        id,
                    );
                }
            }
            _ => {}
        }
    }
}
