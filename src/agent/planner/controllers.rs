//! Reads of the controllers that act on the target from their own namespace: the ingress
//! controller in front of it (its pods and a log tail, where limits it enforces are
//! named) and the cluster autoscaler that adds nodes for it (its status, where a node
//! group at its maximum size is named).

use crate::agent::case::alert::{Alert, AlertSymptom};
use crate::agent::case::edge;
use crate::agent::case::hypotheses::AUTOSCALER_STATUS;
use crate::agent::case::objects;
use crate::agent::case::target::Target;
use crate::agent::case::world::{Read, World};
use crate::agent::tools::data::KubeObject;

/// Controller pods whose log tails are read (traffic is spread over them).
const EDGE_LOGS: usize = 2;

/// What the controllers around the target have to say, when the evidence points at them.
pub(super) fn reads(w: &World, t: &Target, alert: &Alert, out: &mut Vec<Read>) {
    edge_reads(w, t, alert, out);
    autoscaler_reads(w, out);
}

/// When requests reach the target through Ingresses and the alert is about what callers
/// get (anything but a batch run), the pods of each Ingress's controller and a
/// log tail of the ready ones.
fn edge_reads(w: &World, t: &Target, alert: &Alert, out: &mut Vec<Read>) {
    if alert.symptom == AlertSymptom::Batch {
        return;
    }
    let mut controllers: Vec<&edge::Controller> = Vec::new();
    for o in edge::ingresses_to(w, t) {
        if let KubeObject::Ingress(i) = o
            && let Some(c) = edge::controller_for(edge::class_of(i))
            && !controllers.iter().any(|x| std::ptr::eq(*x, c))
        {
            controllers.push(c);
        }
    }
    for c in controllers {
        out.push(Read::List {
            resource: "pods",
            namespace: Some(c.namespace.to_string()),
            selector: Some(c.selector.to_string()),
        });
        let sel = crate::kube::selector::LabelSelector::parse(c.selector).ok();
        let pods = w
            .pods(Some(c.namespace))
            .filter(|p| objects::pod_ready(p))
            .filter(|p| {
                sel.as_ref()
                    .is_none_or(|s| s.matches(&objects::labels(&p.metadata)))
            })
            .take(EDGE_LOGS);
        for p in pods {
            out.push(Read::Logs {
                namespace: Some(c.namespace.to_string()),
                pod: objects::name(&p.metadata).to_string(),
                container: None,
                previous: false,
            });
        }
    }
}

/// When the cluster autoscaler says it will not add a node for pending pods, its status
/// (node groups, their sizes and limits).
fn autoscaler_reads(w: &World, out: &mut Vec<Read>) {
    let refused = w.events.iter().any(|e| {
        e.reason == "NotTriggerScaleUp" || e.message.contains("max node group size reached")
    });
    if refused {
        out.push(Read::Get {
            resource: "configmaps",
            namespace: Some(AUTOSCALER_STATUS.0.to_string()),
            name: AUTOSCALER_STATUS.1.to_string(),
        });
    }
}
