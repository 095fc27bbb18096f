//! A new revision whose pods fail is not always a bad rollout: when the pods themselves
//! say they fail on something outside the pod template (a Secret key that is missing, a
//! registry refusing the pull credentials, a volume that cannot attach, a taint, an
//! unbound claim, a database rejecting the password its Secret holds), any new pod would fail the same way, and the rollout only brought
//! the pods that met it. Unless the revision changed exactly that part of the template,
//! the rollout is ruled out in favour of what its pods say.
//!
//! The same holds along any chain: a pod waits on its claim, the claim cannot be
//! provisioned because its StorageClass does not exist. A candidate whose evidence was
//! read on another candidate's culprit is the deeper cause; it takes over what the
//! shallower one explained.

use super::super::clues::Cause;
use super::candidate::Candidate;

/// Causes that live outside the pod template's image and code.
fn outside_the_image(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::MissingConfig
            | Cause::ImageAuth
            | Cause::RegistryUnreachable
            | Cause::RateLimited
            | Cause::VolumeMount
            | Cause::UnboundVolume
            | Cause::Provisioning
            | Cause::UntoleratedTaint
            | Cause::NodeAffinity
            | Cause::NodesUnschedulable
            | Cause::QuotaExceeded
            | Cause::ServiceAccountMissing
            | Cause::AdmissionDenied
            | Cause::InsufficientResources
            | Cause::CloudPermission
            | Cause::Credentials
    )
}

/// The words of a template diff that would mean the revision changed what fails.
fn changed_by_revision(cause: Cause, diff: &str) -> bool {
    let has = |w: &str| diff.contains(w);
    match cause {
        Cause::MissingConfig => has("added") || has("configuration sources changed"),
        Cause::VolumeMount | Cause::UnboundVolume | Cause::Provisioning => has("volumes changed"),
        Cause::UntoleratedTaint | Cause::NodeAffinity | Cause::NodesUnschedulable => {
            has("scheduling constraints changed")
        }
        Cause::InsufficientResources | Cause::QuotaExceeded => has("resources changed"),
        Cause::ServiceAccountMissing | Cause::CloudPermission => has("service account changed"),
        // Credentials come from the environment: a revision that rewired it may have
        // brought the wrong ones.
        Cause::Credentials => has("env ") || has("configuration sources changed"),
        _ => false,
    }
}

/// Rule the rollout out when a specific cause outside the image explains its failing
/// pods, and the revision did not change that part of the template.
pub(super) fn rule_out_behind_pods(out: &mut [Candidate]) {
    let Some(r) = out
        .iter()
        .position(|c| c.cause == Cause::BadRollout && c.ruled_out.is_none())
    else {
        return;
    };
    let rollout = out[r].clone();
    let behind = out
        .iter()
        .filter(|c| {
            outside_the_image(c.cause)
                && c.ruled_out.is_none()
                && c.specificity >= 0.85
                && c.explains
                    .iter()
                    .any(|i| *i > 0 && rollout.explains.contains(i))
                && !changed_by_revision(c.cause, &rollout.detail)
        })
        .max_by(|a, b| a.specificity.total_cmp(&b.specificity))
        .cloned();
    let Some(c) = behind else {
        return;
    };
    let why = format!(
        "not the rollout itself: its new pods fail on {} {} ({}), which any new pod would meet; the revision did not change that",
        c.culprit.kind,
        c.culprit.name,
        super::super::clues::cut(&c.detail, 100)
    );
    // Its pods' symptoms are the other cause's to explain.
    let explained = rollout.explains.clone();
    if let Some(o) = out
        .iter_mut()
        .find(|o| o.cause == c.cause && o.culprit == c.culprit)
    {
        o.explains.extend(explained);
    }
    out[r].ruled_out = Some(why);
}

/// A candidate whose evidence comes from another candidate's culprit is that one's
/// cause: it explains what the shallower one explained, and the shallower one sinks.
pub(super) fn deepen(out: &mut [Candidate]) {
    for i in 0..out.len() {
        if out[i].ruled_out.is_some() || out[i].cause == Cause::BadRollout {
            continue;
        }
        let culprit = out[i].culprit.to_string();
        let deeper = out.iter().position(|c| {
            c.ruled_out.is_none()
                && c.culprit != out[i].culprit
                && c.specificity >= out[i].specificity * 0.9
                && c.chain.first().is_some_and(|e| e.reference == culprit)
        });
        let Some(d) = deeper else {
            continue;
        };
        let explained = out[i].explains.clone();
        let link = out[i].chain.first().cloned();
        let shallow = out[i].culprit.clone();
        let why = format!(
            "{} is where it shows, not why: {} {} {}",
            out[i].culprit,
            out[d].culprit.kind,
            out[d].culprit.name,
            super::super::clues::cut(&out[d].detail, 100)
        );
        let c = &mut out[d];
        c.explains.extend(explained);
        if let Some(l) = link
            && !c.chain.iter().any(|x| x.detail == l.detail)
        {
            c.chain.push(l);
        }
        if !c.related.contains(&shallow) {
            c.related.push(shallow);
        }
        out[i].ruled_out = Some(why);
    }
}
