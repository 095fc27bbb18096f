//! Alert groups → investigations: one investigation per Alertmanager group. A repeated
//! alert, a new alert of the same group, or a flap (fired again soon after it resolved)
//! joins the investigation already open; when every alert of the group has resolved, the
//! investigation closes with a note. Pure state: the caller acts on the changes.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::alert::{Alert, AlertStatus, WebhookPayload};
pub use crate::agent::alert::severity_rank;

/// How an investigation ended (or where it is).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Phase {
    Queued,
    Running {
        session: String,
    },
    Notified {
        session: String,
        confidence: f32,
    },
    Quiet {
        session: Option<String>,
        confidence: Option<f32>,
        reason: String,
    },
}

/// One alert of an investigation.
#[derive(Debug, Clone, Serialize)]
pub struct TrackedAlert {
    pub alert: Alert,
    pub seen: u32,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// An investigation of one alert group.
#[derive(Debug, Clone, Serialize)]
pub struct Investigation {
    pub id: String,
    pub group_key: String,
    pub receiver: String,
    pub opened: DateTime<Utc>,
    pub alerts: BTreeMap<String, TrackedAlert>,
    pub phase: Phase,
    pub closed: Option<DateTime<Utc>>,
    pub repeats: u32,
    pub flaps: u32,
}

impl Investigation {
    /// The alerts still firing, most severe first (then by name).
    pub fn firing(&self) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self
            .alerts
            .values()
            .filter(|a| a.resolved_at.is_none())
            .map(|a| &a.alert)
            .collect();
        out.sort_by(|a, b| {
            severity_rank(a.severity())
                .cmp(&severity_rank(b.severity()))
                .then(a.name().cmp(b.name()))
        });
        out
    }

    /// The alert that names the investigation: the most severe still firing, else any.
    pub fn lead(&self) -> Option<&Alert> {
        self.firing()
            .first()
            .copied()
            .or_else(|| self.alerts.values().next().map(|a| &a.alert))
    }

    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
}

/// Why an alert joined an open investigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinReason {
    /// The same alert again (Alertmanager repeats a firing group).
    Repeat,
    /// Another alert of the same group.
    NewAlert,
    /// Fired again after it had resolved.
    Flap,
}

/// What a payload changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new investigation, to be queued.
    Opened { investigation: String },
    Joined {
        investigation: String,
        fingerprint: String,
        reason: JoinReason,
    },
    /// An alert resolved; the group still has others firing.
    AlertResolved {
        investigation: String,
        fingerprint: String,
    },
    /// Every alert of the group resolved.
    Closed { investigation: String, note: String },
    /// Nothing open for a resolved alert (triage started after it fired).
    Ignored { fingerprint: String, reason: String },
}

/// Every investigation still open or recently closed.
#[derive(Debug)]
pub struct Groups {
    investigations: HashMap<String, Investigation>,
    by_group: HashMap<String, String>,
    by_fingerprint: HashMap<String, String>,
    reopen_within: Duration,
    seq: u64,
}

impl Groups {
    pub fn new(reopen_within_secs: u64) -> Self {
        Self {
            investigations: HashMap::new(),
            by_group: HashMap::new(),
            by_fingerprint: HashMap::new(),
            reopen_within: Duration::seconds(reopen_within_secs.min(i64::MAX as u64) as i64),
            seq: 0,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Investigation> {
        self.investigations.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Investigation> {
        self.investigations.get_mut(id)
    }

    /// The investigation an alert went to.
    pub fn of_alert(&self, group_key: &str, fingerprint: &str) -> Option<String> {
        self.by_fingerprint
            .get(fingerprint)
            .or_else(|| self.by_group.get(group_key))
            .cloned()
    }

    /// Open investigations, oldest first.
    pub fn open(&self) -> Vec<&Investigation> {
        let mut out: Vec<&Investigation> = self
            .investigations
            .values()
            .filter(|i| i.is_open())
            .collect();
        out.sort_by_key(|i| (i.opened, i.id.clone()));
        out
    }

    /// Apply one webhook call.
    pub fn receive(&mut self, payload: &WebhookPayload, now: DateTime<Utc>) -> Vec<Change> {
        self.prune(now);
        let mut changes = Vec::new();
        for alert in &payload.alerts {
            self.receive_alert(payload, alert, now, &mut changes);
        }
        // A group Alertmanager calls resolved has nothing firing any more, whatever the
        // alerts listed.
        if payload.status == AlertStatus::Resolved
            && let Some(id) = self.by_group.get(&payload.group_key).cloned()
            && self
                .investigations
                .get(&id)
                .is_some_and(Investigation::is_open)
        {
            self.close(&id, now, &mut changes);
        }
        changes
    }

    fn receive_alert(
        &mut self,
        payload: &WebhookPayload,
        alert: &Alert,
        now: DateTime<Utc>,
        changes: &mut Vec<Change>,
    ) {
        let fingerprint = alert.identity();
        let found = self.find(&payload.group_key, &fingerprint, now);
        match (found, alert.status) {
            (None, AlertStatus::Resolved) => changes.push(Change::Ignored {
                fingerprint,
                reason: "resolved, and no investigation of it is open".into(),
            }),
            (None, AlertStatus::Firing) => {
                let id = self.next_id(&payload.group_key, now);
                let mut inv = Investigation {
                    id: id.clone(),
                    group_key: payload.group_key.clone(),
                    receiver: payload.receiver.clone(),
                    opened: now,
                    alerts: BTreeMap::new(),
                    phase: Phase::Queued,
                    closed: None,
                    repeats: 0,
                    flaps: 0,
                };
                inv.alerts.insert(fingerprint.clone(), tracked(alert));
                self.investigations.insert(id.clone(), inv);
                self.by_group.insert(payload.group_key.clone(), id.clone());
                self.by_fingerprint.insert(fingerprint, id.clone());
                changes.push(Change::Opened { investigation: id });
            }
            (Some(id), AlertStatus::Firing) => {
                self.join(&id, &payload.group_key, fingerprint, alert, changes)
            }
            (Some(id), AlertStatus::Resolved) => {
                self.resolve_alert(&id, &fingerprint, alert, now, changes)
            }
        }
    }

    fn join(
        &mut self,
        id: &str,
        group_key: &str,
        fingerprint: String,
        alert: &Alert,
        changes: &mut Vec<Change>,
    ) {
        let Some(inv) = self.investigations.get_mut(id) else {
            return;
        };
        let reopened = inv.closed.take().is_some();
        let reason = match inv.alerts.get_mut(&fingerprint) {
            Some(t) if reopened || t.resolved_at.is_some() => {
                t.resolved_at = None;
                t.seen += 1;
                t.alert = alert.clone();
                JoinReason::Flap
            }
            Some(t) => {
                t.seen += 1;
                t.alert = alert.clone();
                JoinReason::Repeat
            }
            None => {
                inv.alerts.insert(fingerprint.clone(), tracked(alert));
                if reopened {
                    JoinReason::Flap
                } else {
                    JoinReason::NewAlert
                }
            }
        };
        match reason {
            JoinReason::Flap => inv.flaps += 1,
            JoinReason::Repeat => inv.repeats += 1,
            JoinReason::NewAlert => {}
        }
        self.by_group.insert(group_key.to_string(), id.to_string());
        self.by_fingerprint
            .insert(fingerprint.clone(), id.to_string());
        changes.push(Change::Joined {
            investigation: id.to_string(),
            fingerprint,
            reason,
        });
    }

    fn resolve_alert(
        &mut self,
        id: &str,
        fingerprint: &str,
        alert: &Alert,
        now: DateTime<Utc>,
        changes: &mut Vec<Change>,
    ) {
        let Some(inv) = self.investigations.get_mut(id) else {
            return;
        };
        if !inv.is_open() {
            return;
        }
        let t = inv
            .alerts
            .entry(fingerprint.to_string())
            .or_insert_with(|| tracked(alert));
        if t.resolved_at.is_none() {
            t.resolved_at = Some(alert.ends_at.filter(|e| e.timestamp() > 0).unwrap_or(now));
            t.alert = alert.clone();
        }
        if inv.alerts.values().all(|a| a.resolved_at.is_some()) {
            self.close(id, now, changes);
        } else {
            changes.push(Change::AlertResolved {
                investigation: id.to_string(),
                fingerprint: fingerprint.to_string(),
            });
        }
    }

    fn close(&mut self, id: &str, now: DateTime<Utc>, changes: &mut Vec<Change>) {
        let Some(inv) = self.investigations.get_mut(id) else {
            return;
        };
        for a in inv.alerts.values_mut() {
            a.resolved_at.get_or_insert(now);
        }
        inv.closed = Some(now);
        let minutes = (now - inv.opened).num_seconds().max(0) as f64 / 60.0;
        let outcome = match &inv.phase {
            Phase::Queued => "it was still queued and is not investigated".to_string(),
            Phase::Running { .. } => {
                "its investigation is still running and will stay quiet".into()
            }
            Phase::Notified { confidence, .. } => {
                format!("it had been notified (confidence {confidence:.2})")
            }
            Phase::Quiet { reason, .. } => format!("it had been kept quiet ({reason})"),
        };
        changes.push(Change::Closed {
            investigation: id.to_string(),
            note: format!(
                "resolved after {minutes:.1} min{}; {outcome}",
                match (inv.repeats, inv.flaps) {
                    (0, 0) => String::new(),
                    (r, 0) => format!(", {r} repeats"),
                    (r, f) => format!(", {r} repeats, {f} flaps"),
                }
            ),
        });
    }

    /// The investigation an alert belongs to: its group's (open, or closed recently enough
    /// to count as a flap), else an open one that already has this alert.
    fn find(&self, group_key: &str, fingerprint: &str, now: DateTime<Utc>) -> Option<String> {
        let live = |id: &String| {
            self.investigations.get(id).is_some_and(|i| match i.closed {
                None => true,
                Some(at) => now - at <= self.reopen_within,
            })
        };
        self.by_group
            .get(group_key)
            .filter(|id| live(id))
            .or_else(|| {
                self.by_fingerprint.get(fingerprint).filter(|id| {
                    self.investigations
                        .get(*id)
                        .is_some_and(Investigation::is_open)
                })
            })
            .cloned()
    }

    fn next_id(&mut self, group_key: &str, now: DateTime<Utc>) -> String {
        self.seq += 1;
        let hash = blake3::hash(format!("{group_key}\n{now}\n{}", self.seq).as_bytes());
        format!("inv-{}-{}", now.format("%H%M%S"), &hash.to_hex()[..6])
    }

    /// Forget investigations closed longer ago than a flap can reopen them.
    fn prune(&mut self, now: DateTime<Utc>) {
        let window = self.reopen_within;
        let gone: Vec<String> = self
            .investigations
            .values()
            .filter(|i| i.closed.is_some_and(|at| now - at > window))
            .map(|i| i.id.clone())
            .collect();
        for id in &gone {
            self.investigations.remove(id);
        }
        self.by_group.retain(|_, id| !gone.contains(id));
        self.by_fingerprint.retain(|_, id| !gone.contains(id));
    }
}

fn tracked(alert: &Alert) -> TrackedAlert {
    TrackedAlert {
        alert: alert.clone(),
        seen: 1,
        resolved_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(name: &str, fp: &str, status: AlertStatus) -> Alert {
        Alert {
            status,
            labels: [("alertname".to_string(), name.to_string())].into(),
            annotations: BTreeMap::new(),
            starts_at: None,
            ends_at: None,
            generator_url: String::new(),
            fingerprint: fp.into(),
        }
    }

    fn payload(group: &str, status: AlertStatus, alerts: Vec<Alert>) -> WebhookPayload {
        WebhookPayload {
            version: "4".into(),
            group_key: group.into(),
            truncated_alerts: 0,
            status,
            receiver: "triage".into(),
            group_labels: BTreeMap::new(),
            common_labels: BTreeMap::new(),
            common_annotations: BTreeMap::new(),
            external_url: String::new(),
            alerts,
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_750_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn repeats_and_new_alerts_join_one_investigation_and_resolution_closes_it() {
        let mut g = Groups::new(600);
        let firing = AlertStatus::Firing;
        let c = g.receive(&payload("g1", firing, vec![alert("A", "a", firing)]), t(0));
        let Change::Opened { investigation: id } = &c[0] else {
            panic!("{c:?}")
        };
        let c = g.receive(
            &payload(
                "g1",
                firing,
                vec![alert("A", "a", firing), alert("B", "b", firing)],
            ),
            t(30),
        );
        assert_eq!(
            c,
            vec![
                Change::Joined {
                    investigation: id.clone(),
                    fingerprint: "a".into(),
                    reason: JoinReason::Repeat
                },
                Change::Joined {
                    investigation: id.clone(),
                    fingerprint: "b".into(),
                    reason: JoinReason::NewAlert
                },
            ]
        );
        let resolved = AlertStatus::Resolved;
        let c = g.receive(
            &payload(
                "g1",
                firing,
                vec![alert("A", "a", resolved), alert("B", "b", firing)],
            ),
            t(60),
        );
        assert!(
            c.iter().any(
                |c| matches!(c, Change::AlertResolved { fingerprint, .. } if fingerprint == "a")
            ),
            "{c:?}"
        );
        let c = g.receive(
            &payload(
                "g1",
                resolved,
                vec![alert("A", "a", resolved), alert("B", "b", resolved)],
            ),
            t(120),
        );
        let Some(Change::Closed { note, .. }) = c.last() else {
            panic!("{c:?}")
        };
        assert!(
            note.starts_with("resolved after 2.0 min, 2 repeats"),
            "{note}"
        );
        assert!(note.contains("still queued"), "{note}");
        assert!(g.open().is_empty());
    }

    #[test]
    fn a_flap_reopens_the_closed_investigation_and_a_late_one_starts_anew() {
        let mut g = Groups::new(600);
        let (firing, resolved) = (AlertStatus::Firing, AlertStatus::Resolved);
        g.receive(&payload("g", firing, vec![alert("A", "a", firing)]), t(0));
        g.receive(
            &payload("g", resolved, vec![alert("A", "a", resolved)]),
            t(60),
        );
        let c = g.receive(&payload("g", firing, vec![alert("A", "a", firing)]), t(120));
        assert!(
            matches!(
                &c[0],
                Change::Joined {
                    reason: JoinReason::Flap,
                    ..
                }
            ),
            "{c:?}"
        );
        assert_eq!(g.open().len(), 1);
        assert_eq!(g.open()[0].flaps, 1);
        g.receive(
            &payload("g", resolved, vec![alert("A", "a", resolved)]),
            t(180),
        );
        let c = g.receive(
            &payload("g", firing, vec![alert("A", "a", firing)]),
            t(1000),
        );
        assert!(matches!(&c[0], Change::Opened { .. }), "{c:?}");
    }

    #[test]
    fn the_same_alert_under_another_group_key_joins_the_open_investigation() {
        let mut g = Groups::new(600);
        let firing = AlertStatus::Firing;
        g.receive(&payload("g1", firing, vec![alert("A", "a", firing)]), t(0));
        let c = g.receive(&payload("g2", firing, vec![alert("A", "a", firing)]), t(5));
        assert!(matches!(
            &c[0],
            Change::Joined {
                reason: JoinReason::Repeat,
                ..
            }
        ));
        let c = g.receive(
            &payload(
                "g3",
                AlertStatus::Resolved,
                vec![alert("Z", "z", AlertStatus::Resolved)],
            ),
            t(6),
        );
        assert!(matches!(&c[0], Change::Ignored { .. }));
    }

    #[test]
    fn the_lead_alert_is_the_most_severe_one_firing() {
        let mut g = Groups::new(600);
        let firing = AlertStatus::Firing;
        let mut crit = alert("Crit", "c", firing);
        crit.labels.insert("severity".into(), "critical".into());
        let mut warn = alert("Warn", "w", firing);
        warn.labels.insert("severity".into(), "warning".into());
        g.receive(&payload("g", firing, vec![warn, crit]), t(0));
        assert_eq!(g.open()[0].lead().map(Alert::name), Some("Crit"));
    }
}
