//! A pod's state in kubectl's words: each container's state and the STATUS column.

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use super::model::ContainerInfo;
use crate::kube::state::opt_time;

/// The state of one container from its status.
pub fn container_info(
    spec: Option<&Container>,
    status: Option<&ContainerStatus>,
    name: &str,
) -> ContainerInfo {
    let state = status.and_then(|s| s.state.as_ref());
    let state_text = match state {
        Some(s) if s.running.is_some() => "running".to_string(),
        Some(s) if s.waiting.is_some() => format!(
            "waiting: {}",
            s.waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .unwrap_or_default()
        ),
        Some(s) if s.terminated.is_some() => format!(
            "terminated: {}",
            s.terminated
                .as_ref()
                .and_then(|t| t.reason.clone())
                .unwrap_or_default()
        ),
        _ => "unknown".to_string(),
    };
    let last = status
        .and_then(|s| s.last_state.as_ref())
        .and_then(|l| l.terminated.as_ref());
    ContainerInfo {
        name: name.to_string(),
        image: status
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .or_else(|| spec.and_then(|c| c.image.clone()))
            .unwrap_or_default(),
        ready: status.is_some_and(|s| s.ready),
        state: state_text,
        restart_count: status.map_or(0, |s| s.restart_count),
        last_termination_reason: last.and_then(|t| t.reason.clone()),
        last_exit_code: last.map(|t| t.exit_code),
        last_finished_at: last.and_then(|t| opt_time(t.finished_at.as_ref())),
    }
}

/// Whether the pod's Ready condition is true.
pub fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// kubectl's STATUS column for a typed pod.
pub fn pod_status_text(p: &Pod) -> String {
    let status = p.status.as_ref();
    let mut reason = status
        .and_then(|s| s.reason.clone())
        .or_else(|| status.and_then(|s| s.phase.clone()))
        .unwrap_or_default();
    let inits = status.and_then(|s| s.init_container_statuses.as_ref());
    let mut initializing = false;
    for (i, c) in inits.into_iter().flatten().enumerate() {
        let state = c.state.as_ref();
        let term = state.and_then(|s| s.terminated.as_ref());
        if term.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        initializing = true;
        let wait = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone());
        reason = match (term, wait) {
            (Some(t), _) => match &t.reason {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", t.exit_code),
            },
            (None, Some(w)) if w != "PodInitializing" => format!("Init:{w}"),
            _ => format!("Init:{i}/{}", inits.map_or(0, Vec::len)),
        };
        break;
    }
    if !initializing {
        let mut has_running = false;
        for c in status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .rev()
        {
            let state = c.state.as_ref();
            if let Some(w) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
            {
                reason = w;
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match (&t.reason, t.signal) {
                    (Some(r), _) => r.clone(),
                    (None, Some(sig)) if sig != 0 => format!("Signal:{sig}"),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if state.is_some_and(|s| s.running.is_some()) && c.ready {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if p.metadata.deletion_timestamp.is_some() {
        reason = "Terminating".into();
    }
    reason
}
