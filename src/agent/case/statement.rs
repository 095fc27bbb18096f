//! How a candidate cause is said: one sentence that names the object at fault and the
//! cause in the words an engineer uses, and the commands to look and (when sure) to act.

use super::clues::Cause;
use super::hypotheses::Candidate;
use super::target::Target;
use crate::kube::state::ResourceRef;

fn kind_name(r: &ResourceRef) -> String {
    match r.kind.as_str() {
        "Host" => format!("the dependency {}", r.name),
        k => format!("{k} {}", r.name),
    }
}

fn related(c: &Candidate, kind: &str) -> Option<String> {
    c.related
        .iter()
        .find(|r| r.kind == kind)
        .map(|r| r.name.clone())
}

/// The cause, in one sentence (or two).
pub fn sentence(c: &Candidate, t: &Target) -> String {
    match c.cause {
        Cause::MissingConfig
        | Cause::BadConfigValue
        | Cause::ImageNotFound
        | Cause::ImageAuth
        | Cause::RegistryUnreachable
        | Cause::ProbeFailing
        | Cause::OutOfMemory
        | Cause::CpuThrottled
        | Cause::JobFailed
        | Cause::CronJobNotRunning
        | Cause::QuotaExceeded
        | Cause::ServiceAccountMissing
        | Cause::AdmissionDenied
        | Cause::ListenAddress
        | Cause::AppCrash
        | Cause::BadRollout => pods_sentence(c, t),
        Cause::InsufficientResources
        | Cause::UntoleratedTaint
        | Cause::NodeAffinity
        | Cause::UnboundVolume
        | Cause::NodesUnschedulable
        | Cause::VolumeMount
        | Cause::Provisioning
        | Cause::DiskFull
        | Cause::Evicted
        | Cause::NodePressure
        | Cause::NodeNotReady
        | Cause::NoisyNeighbour
        | Cause::AutoscalerAtMax
        | Cause::AutoscalerMetrics => placement_sentence(c, t),
        Cause::DnsUnavailable
        | Cause::NameNotFound
        | Cause::DependencyDown
        | Cause::ConnectionRefused
        | Cause::ConnectionTimeout
        | Cause::UpstreamErrors
        | Cause::Certificate
        | Cause::CloudPermission
        | Cause::Credentials
        | Cause::TooManyConnections
        | Cause::RateLimited
        | Cause::NetworkPolicy
        | Cause::IngressBackend
        | Cause::ServiceMisrouted
        | Cause::ScheduledLoad
        | Cause::CallerLoad
        | Cause::RecentChange
        | Cause::NothingWrong => network_sentence(c, t),
    }
}

/// Causes in the workload's own pods and the objects they need: configuration, images,
/// probes, limits, crashes, rollouts, Jobs, quotas and admission.
fn pods_sentence(c: &Candidate, t: &Target) -> String {
    let who = kind_name(&c.culprit);
    let w = &t.name;
    let d = &c.detail;
    match c.cause {
        Cause::MissingConfig if c.culprit.kind == "ConfigMap" || c.culprit.kind == "Secret" => {
            format!(
                "{who} {d}: {w} needs it to start, so its pods fail (config missing, removed or renamed)"
            )
        }
        Cause::MissingConfig if c.culprit.kind == "HorizontalPodAutoscaler" => format!("{who} {d}"),
        Cause::MissingConfig => format!("{w} is missing configuration: {d}"),
        Cause::BadConfigValue => {
            format!("{who} holds a bad config value: {d}; {w} fails reading it at start-up")
        }
        Cause::ImageNotFound => {
            format!("bad rollout of {w}: {d} (ImagePullBackOff), so the new pods never start")
        }
        Cause::ImageAuth => {
            format!("{who}: {d} (unauthorized), so {w}'s pods cannot pull their image")
        }
        Cause::RegistryUnreachable => format!("{w} cannot pull its image: {d}"),
        Cause::ProbeFailing => format!(
            "{w}'s probe fails ({}): it checks a port or path the container does not serve or answers too slowly, so its pods are restarted or taken out of the Service",
            cut(d)
        ),
        Cause::OutOfMemory if d.starts_with("memory limit") => format!(
            "{w} runs out of memory at its limit: the {} is reached and the container is OOMKilled",
            cut(d)
        ),
        Cause::OutOfMemory => format!(
            "{w} runs out of memory at its limit: its containers are OOMKilled ({})",
            cut(d)
        ),
        Cause::CpuThrottled => format!("{w} is CPU-throttled at its cpu limit ({})", cut(d)),
        Cause::JobFailed => format!("{who} fails: {}", cut(d)),
        Cause::CronJobNotRunning if d.starts_with("runs at") => {
            format!("{who} is not scheduled when the alert expects it: it {d}")
        }
        Cause::CronJobNotRunning => format!("{who} does not run: it {d}"),
        Cause::QuotaExceeded => {
            format!("{who} is exhausted (exceeded quota): new pods of {w} are refused")
        }
        Cause::ServiceAccountMissing => {
            format!("{who} does not exist, so {w}'s pods cannot be created")
        }
        Cause::AdmissionDenied => format!(
            "an admission webhook or policy refuses {w}'s pods ({})",
            cut(d)
        ),
        Cause::ListenAddress => format!(
            "{w} cannot start its listener: a bad listen address setting ({})",
            cut(d)
        ),
        Cause::AppCrash => format!("{w} exits with an error at start-up ({})", cut(d)),
        Cause::BadRollout => format!("bad rollout of {w}: {d}"),
        _ => format!("{w}: {who} {d}"),
    }
}

/// Causes in where the pods run: scheduling, volumes, nodes, neighbours, autoscalers.
fn placement_sentence(c: &Candidate, t: &Target) -> String {
    let who = kind_name(&c.culprit);
    let w = &t.name;
    let d = &c.detail;
    match c.cause {
        Cause::InsufficientResources if c.culprit.name != t.name => {
            format!("{who} took the room of {w}'s pods: {d}")
        }
        Cause::InsufficientResources => format!(
            "{w} cannot be scheduled: not enough room on the nodes for its resource requests ({})",
            cut(d)
        ),
        Cause::UntoleratedTaint if c.culprit.kind == "DaemonSet" => {
            format!("{w}'s pods cannot be scheduled: {}", cut(d))
        }
        Cause::UntoleratedTaint => format!(
            "{w}'s pods cannot be scheduled: {who} carries a taint that {w} does not tolerate ({})",
            cut(d)
        ),
        Cause::NodeAffinity => format!(
            "{w}'s pods cannot be scheduled: their node selector or affinity matches no node ({})",
            cut(d)
        ),
        Cause::UnboundVolume => format!(
            "{who} is unbound, so {w}'s pods wait for their volume ({})",
            cut(d)
        ),
        Cause::NodesUnschedulable => {
            format!("the nodes are cordoned (unschedulable), so {w}'s pods cannot be placed")
        }
        Cause::VolumeMount => format!("{w}'s volume cannot be attached or mounted ({})", cut(d)),
        Cause::Provisioning => format!(
            "{who} {d}: the claim stays Pending and {w} cannot start (storage class / provisioning)"
        ),
        Cause::DiskFull => format!("{who} is full (no space left on device): {w} cannot write"),
        Cause::Evicted if c.culprit.kind != "Node" => format!("{w} is evicted: {d}"),
        Cause::Evicted => format!(
            "{w}'s pods are evicted from {who}, which runs short of a resource ({d}; node pressure)"
        ),
        Cause::NodePressure => format!(
            "{who} is under pressure ({}): it evicts and starves {w}'s pods",
            cut(d)
        ),
        Cause::NodeNotReady => format!(
            "{who} is NotReady ({}): {w}'s pods on it are lost (node failure)",
            cut(d)
        ),
        Cause::NoisyNeighbour => format!(
            "{who} is a noisy neighbour: it {d}, on the node {w} shares{}",
            related(c, "Node")
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        Cause::AutoscalerAtMax if c.culprit.kind == "NodeGroup" => format!(
            "node group {} is at its max size: it {d}; {w}'s pods stay Pending",
            c.culprit.name
        ),
        Cause::AutoscalerAtMax => format!(
            "HorizontalPodAutoscaler {} is at its max: it {d}, so {w} cannot scale further for the load",
            c.culprit.name
        ),
        Cause::AutoscalerMetrics if c.culprit.kind == "HorizontalPodAutoscaler" => format!(
            "HorizontalPodAutoscaler {} cannot read its metrics ({}), so {w} does not scale",
            c.culprit.name,
            cut(d)
        ),
        Cause::AutoscalerMetrics => format!(
            "{who} does not serve the resource metrics API, so HorizontalPodAutoscaler {} cannot read its metrics and {w} does not scale ({})",
            related(c, "HorizontalPodAutoscaler").unwrap_or_else(|| w.clone()),
            cut(d)
        ),
        _ => format!("{w}: {who} {d}"),
    }
}

/// Causes in what the workload talks to: DNS, dependencies, certificates, cloud
/// permissions, policies, routing; and the expected, the recent and the healthy.
fn network_sentence(c: &Candidate, t: &Target) -> String {
    let who = kind_name(&c.culprit);
    let w = &t.name;
    let d = &c.detail;
    match c.cause {
        Cause::DnsUnavailable => format!(
            "cluster DNS ({who} in kube-system) does not answer: {d}, so {w} cannot reach its dependencies (DNS lookup timeouts)"
        ),
        Cause::NameNotFound => format!(
            "{d}: {who} names a host that does not exist (lookup fails: no such host; renamed or removed)"
        ),
        Cause::DependencyDown => format!(
            "{w}'s dependency {} is down or unreachable: {d}",
            c.culprit.name
        ),
        Cause::ConnectionRefused | Cause::ConnectionTimeout | Cause::UpstreamErrors => {
            format!(
                "{w}'s dependency is failing: {who} {}",
                dependency_words(c.cause, d)
            )
        }
        Cause::Certificate if super::certs::KINDS.contains(&c.culprit.kind.as_str()) => {
            format!(
                "{who}: cert-manager cannot issue or renew the certificate: {}",
                cut(d)
            )
        }
        Cause::Certificate => format!(
            "{who}: the TLS certificate is expired or not trusted (x509): {}",
            cut(d)
        ),
        Cause::CloudPermission => match denied_action(d) {
            Some(a) => format!(
                "{who} lacks the cloud permission {a} that {w} needs (IAM role, AccessDenied): {}",
                cut(d)
            ),
            None => format!(
                "{who} lacks the cloud permission {w} needs (IAM role, AccessDenied): {}",
                cut(d)
            ),
        },
        Cause::Credentials if c.culprit.kind == "Secret" => {
            format!("{w}'s credentials in {who} are refused: {}", cut(d))
        }
        Cause::Credentials => format!(
            "{who} rejects {w}'s credentials (authentication failed): {}",
            cut(d)
        ),
        Cause::TooManyConnections => format!("{who} is out of connections: {}", cut(d)),
        Cause::RateLimited => format!("{who} rate-limits {w}: {}", cut(d)),
        Cause::NetworkPolicy => {
            format!("NetworkPolicy {} blocks {w}'s traffic: {d}", c.culprit.name)
        }
        Cause::IngressBackend if d.starts_with("limits") || d.starts_with("routes") => {
            format!("Ingress {} {d}", c.culprit.name)
        }
        Cause::IngressBackend => format!(
            "{} {} sends traffic to a backend that cannot serve it: {d}",
            c.culprit.kind, c.culprit.name
        ),
        Cause::ServiceMisrouted => format!(
            "Service {} routes nowhere: {d} (selector / targetPort), so its endpoints are empty or wrong",
            c.culprit.name
        ),
        Cause::ScheduledLoad => format!(
            "expected: the scheduled {who} run loads what {w} depends on ({d}); it ends on its own, so leave it alone — nothing to change"
        ),
        Cause::RecentChange => format!(
            "{who} changed shortly before the alert ({d}); nothing more specific explains the alert"
        ),
        Cause::CallerLoad => format!("{who} overloads {w}, which itself is healthy: {d}"),
        Cause::NothingWrong => format!(
            "nothing is wrong with {w}: {d}. The alert looks like a false alarm or a threshold set too tight, so nothing to change"
        ),
        _ => format!("{w}: {who} {d}"),
    }
}

fn dependency_words(cause: Cause, d: &str) -> String {
    match cause {
        Cause::ConnectionRefused => format!("refuses connections ({})", cut(d)),
        Cause::ConnectionTimeout => format!("times out (unreachable: {})", cut(d)),
        _ => format!("answers with errors ({})", cut(d)),
    }
}

/// The action a cloud refusal names: AWS `not authorized to perform: kms:Decrypt`, GCP
/// `Permission 'storage.objects.get' denied`, Azure `does not have authorization to
/// perform action 'Microsoft.Storage/…'`.
fn denied_action(d: &str) -> Option<String> {
    static RE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)not authorized to perform:? ([A-Za-z0-9-]+:[A-Za-z0-9*]+)|Permission '?([a-z0-9]+(?:\.[A-Za-z0-9]+){2,})'? (?:denied|is required)|authorization to perform action '([^']+)'",
        )
        .ok()
    });
    let c = RE.as_ref()?.captures(d)?;
    (1..=3)
        .find_map(|i| c.get(i))
        .map(|m| m.as_str().to_string())
}

fn cut(s: &str) -> String {
    super::clues::cut(s, 240)
}

/// Whether acting on this cause means changing something.
pub fn needs_change(cause: Cause) -> bool {
    !matches!(cause, Cause::NothingWrong | Cause::ScheduledLoad)
}

/// Commands to look (always) and to act (only when `act`), read commands first.
pub fn actions(c: &Candidate, t: &Target, act: bool) -> Vec<(String, String)> {
    let ns = t
        .namespace
        .as_deref()
        .map(|n| format!(" -n {n}"))
        .unwrap_or_default();
    let workload = format!("{}/{}", t.kind.to_lowercase(), t.name);
    let culprit_ns = c
        .culprit
        .namespace
        .as_deref()
        .map(|n| format!(" -n {n}"))
        .unwrap_or_default();
    let culprit = format!("{}/{}", c.culprit.kind.to_lowercase(), c.culprit.name);
    let mut out: Vec<(String, String)> = Vec::new();
    let look = match c.cause {
        Cause::BadRollout | Cause::ImageNotFound => (
            format!("kubectl rollout history {workload}{ns}"),
            "see the revisions before rolling back".to_string(),
        ),
        Cause::MissingConfig | Cause::BadConfigValue
            if matches!(c.culprit.kind.as_str(), "ConfigMap" | "Secret") =>
        {
            (
                format!(
                    "kubectl get {} {}{culprit_ns} -o yaml",
                    c.culprit.kind.to_lowercase(),
                    c.culprit.name
                ),
                "see the keys as the pods read them".to_string(),
            )
        }
        Cause::OutOfMemory | Cause::CpuThrottled => (
            format!("kubectl top pod{ns}"),
            "current use against the limits".to_string(),
        ),
        Cause::NothingWrong | Cause::ScheduledLoad => (
            format!("kubectl get {workload}{ns}"),
            format!("confirm {} stays healthy", t.name),
        ),
        Cause::NodeNotReady | Cause::NodePressure | Cause::Evicted | Cause::UntoleratedTaint
            if c.culprit.kind == "Node" =>
        {
            (
                format!("kubectl describe node {}", c.culprit.name),
                "conditions, taints and what runs there".to_string(),
            )
        }
        Cause::DependencyDown => (
            format!("kubectl get endpoints {}{culprit_ns}", c.culprit.name),
            format!("see whether {} has ready endpoints", c.culprit.name),
        ),
        _ if c.culprit.kind == "Host" => (
            format!("kubectl logs {workload}{ns} --tail=50"),
            "the failing calls as the pods see them".to_string(),
        ),
        _ => (
            format!("kubectl describe {culprit}{culprit_ns}"),
            "its state and recent events".to_string(),
        ),
    };
    out.push(look);
    if !act || !needs_change(c.cause) {
        return out;
    }
    let change = match c.cause {
        Cause::BadRollout | Cause::ImageNotFound => Some((
            format!("kubectl rollout undo {workload}{ns}"),
            format!("return {} to the last revision that ran", t.name),
        )),
        Cause::MissingConfig | Cause::BadConfigValue
            if matches!(c.culprit.kind.as_str(), "ConfigMap" | "Secret") && t.kind != "CronJob" =>
        {
            Some((
                format!("kubectl rollout restart {workload}{ns}"),
                format!(
                    "after fixing {} {}: start the pods again",
                    c.culprit.kind, c.culprit.name
                ),
            ))
        }
        Cause::AutoscalerAtMax => Some((
            format!(
                "kubectl patch hpa {}{culprit_ns} -p '{{\"spec\":{{\"maxReplicas\":<higher>}}}}'",
                c.culprit.name
            ),
            "raise the ceiling if the nodes have room".to_string(),
        )),
        Cause::NodeNotReady if c.culprit.kind == "Node" => Some((
            format!(
                "kubectl drain {} --ignore-daemonsets --delete-emptydir-data",
                c.culprit.name
            ),
            "move the pods off the failed node".to_string(),
        )),
        _ => None,
    };
    out.extend(change);
    out
}

#[cfg(test)]
mod reading_tests {
    use super::denied_action;

    #[test]
    fn names_the_refused_cloud_action() {
        let aws = "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:…";
        assert_eq!(denied_action(aws).as_deref(), Some("kms:Decrypt"));
        let gcp = "googleapi: Error 403: Permission 'storage.objects.create' denied on resource";
        assert_eq!(
            denied_action(gcp).as_deref(),
            Some("storage.objects.create")
        );
        assert_eq!(denied_action("AccessDenied: Access Denied"), None);
    }
}
