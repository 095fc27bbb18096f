//! How a caller's replica count grew near the alert: the Deployment controller's
//! "Scaled up replica set … from A to B" events (by hand or by an autoscaler), the
//! autoscaler's "New size: N" rescales, and an autoscaler of the caller held at its
//! maximum. More callers at once is more load on a target that did not change.

use chrono::{DateTime, Utc};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use super::super::timeline::{NEAR_MINUTES, parse_time};
use super::super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::{ResourceRef, opt_time};

/// A scale-up of a workload near the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleUp {
    /// Replicas before the first scale-up in the window, when the events say.
    pub from: Option<i64>,
    pub to: i64,
    /// When it reached `to`.
    pub at: DateTime<Utc>,
    /// The autoscaler that drove it, and its maximum, when one scales the workload.
    pub autoscaler: Option<(String, i32)>,
    /// The autoscaler is at its maximum now.
    pub at_max: bool,
}

impl ScaleUp {
    /// In words: `scaled up from 3 to 12 replicas at 15:31`, with the autoscaler.
    pub fn words(&self) -> String {
        let from = self.from.map(|f| format!("from {f} ")).unwrap_or_default();
        let mut s = format!(
            "scaled up {from}to {} replicas at {}",
            self.to,
            self.at.format("%H:%M")
        );
        match &self.autoscaler {
            Some((name, max)) if self.at_max => s.push_str(&format!(
                " by its HorizontalPodAutoscaler {name}, which holds it at its maximum of {max}"
            )),
            Some((name, _)) => s.push_str(&format!(" by its HorizontalPodAutoscaler {name}")),
            None => s.push_str(" (by hand: no autoscaler scales it)"),
        }
        s
    }
}

/// `Scaled up replica set X from 3 to 12` (or `… to 12`): (from, to).
fn scaled_up(message: &str) -> Option<(Option<i64>, i64)> {
    let rest = message.strip_prefix("Scaled up replica set ")?;
    let to = rest.rsplit_once(" to ")?.1.trim().parse().ok()?;
    let from = rest
        .rsplit_once(" from ")
        .and_then(|(_, x)| x.split_once(" to "))
        .and_then(|(f, _)| f.trim().parse().ok());
    Some((from, to))
}

/// The autoscaler of a workload, read in its namespace.
fn autoscaler_of<'w>(
    w: &'w World,
    workload: &'w ResourceRef,
) -> Option<&'w HorizontalPodAutoscaler> {
    w.of_kind("HorizontalPodAutoscaler", workload.namespace.as_deref())
        .find_map(|o| match o {
            KubeObject::HorizontalPodAutoscaler(h)
                if h.spec.as_ref().is_some_and(|s| {
                    s.scale_target_ref.name == workload.name
                        && s.scale_target_ref.kind == workload.kind
                }) =>
            {
                Some(h.as_ref())
            }
            _ => None,
        })
}

/// The workload's scale-ups from `NEAR_MINUTES` before `start` until 10 minutes after:
/// its scaling events, or its autoscaler's last scale. `None` when it did not grow.
pub fn scale_up_near(w: &World, workload: &ResourceRef, start: DateTime<Utc>) -> Option<ScaleUp> {
    let near = |at: DateTime<Utc>| (-10..=NEAR_MINUTES).contains(&(start - at).num_minutes());
    let mut ups: Vec<(DateTime<Utc>, Option<i64>, i64)> = w
        .events
        .iter()
        .filter(|e| {
            e.about.kind == workload.kind
                && e.about.name == workload.name
                && e.about.namespace == workload.namespace
                && e.reason == "ScalingReplicaSet"
        })
        .filter_map(|e| {
            let at = e
                .last_seen
                .as_deref()
                .or(e.first_seen.as_deref())
                .and_then(parse_time)?;
            let (from, to) = scaled_up(&e.message)?;
            near(at).then_some((at, from, to))
        })
        .collect();
    ups.sort_by_key(|u| u.0);
    let hpa = autoscaler_of(w, workload);
    let hpa_info = hpa.and_then(|h| {
        let spec = h.spec.as_ref()?;
        let st = h.status.as_ref();
        Some((
            h.metadata.name.clone().unwrap_or_default(),
            spec.max_replicas,
            spec.min_replicas.unwrap_or(1),
            st.and_then(|s| s.current_replicas).unwrap_or(0),
            st.and_then(|s| opt_time(s.last_scale_time.as_ref())),
        ))
    });
    let autoscaler = hpa_info.as_ref().map(|(n, max, ..)| (n.clone(), *max));
    let at_max = hpa_info
        .as_ref()
        .is_some_and(|(_, max, _, cur, _)| *cur >= *max && *max > 0);
    if let (Some(first), Some(last)) = (ups.first(), ups.last()) {
        let to = ups.iter().map(|u| u.2).max().unwrap_or(last.2);
        let from = first.1;
        if from.is_some_and(|f| f >= to) {
            return None;
        }
        return Some(ScaleUp {
            from,
            to,
            at: last.0,
            autoscaler,
            at_max,
        });
    }
    // No scaling events kept: the autoscaler's last scale, when it grew the workload
    // above its minimum near the alert.
    let (name, max, min, cur, last) = hpa_info?;
    let at = last.filter(|at| near(*at))?;
    (i64::from(cur) > i64::from(min)).then(|| ScaleUp {
        from: None,
        to: i64::from(cur),
        at,
        autoscaler: Some((name, max)),
        at_max,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kube::source::EventSummary;

    #[test]
    fn scale_messages_give_their_counts() {
        assert_eq!(
            scaled_up("Scaled up replica set ledger-service-7d9f from 3 to 12"),
            Some((Some(3), 12))
        );
        assert_eq!(
            scaled_up("Scaled up replica set web-5c to 4"),
            Some((None, 4))
        );
        assert_eq!(
            scaled_up("Scaled down replica set web-5c from 4 to 2"),
            None
        );
    }

    #[test]
    fn a_scale_up_near_the_alert_is_found_with_its_autoscaler() {
        let now = chrono::Utc::now();
        let at = |m: i64| (now - chrono::Duration::minutes(m)).to_rfc3339();
        let mut w = World::new(now, Some("risk".into()));
        let dep = ResourceRef::new("Deployment", Some("ledger"), "ledger-service");
        let ev = |msg: &str, m: i64| EventSummary {
            about: dep.clone(),
            type_: "Normal".into(),
            reason: "ScalingReplicaSet".into(),
            message: msg.into(),
            count: 1,
            last_seen: Some(at(m)),
            first_seen: Some(at(m)),
        };
        w.events.push(ev(
            "Scaled up replica set ledger-service-7d9f from 3 to 6",
            44,
        ));
        w.events.push(ev(
            "Scaled up replica set ledger-service-7d9f from 6 to 12",
            40,
        ));
        // Long before the alert: not near it.
        w.events.push(ev(
            "Scaled up replica set ledger-service-7d9f from 2 to 3",
            600,
        ));
        let s = scale_up_near(&w, &dep, now - chrono::Duration::minutes(30)).unwrap();
        assert_eq!((s.from, s.to, s.autoscaler.clone()), (Some(3), 12, None));
        assert!(s.words().contains("from 3 to 12"), "{}", s.words());
        w.absorb_objects(
            "HorizontalPodAutoscaler",
            vec![json!({"metadata": {"name": "ledger-service", "namespace": "ledger"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "ledger-service"}, "minReplicas": 3, "maxReplicas": 12},
                "status": {"currentReplicas": 12, "desiredReplicas": 14}})],
        );
        let s = scale_up_near(&w, &dep, now - chrono::Duration::minutes(30)).unwrap();
        assert!(
            s.at_max && s.words().contains("maximum of 12"),
            "{}",
            s.words()
        );
        // Another workload did not scale.
        let other = ResourceRef::new("Deployment", Some("ledger"), "ledger-ui");
        assert_eq!(scale_up_near(&w, &other, now), None);
    }
}
