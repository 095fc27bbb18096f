//! Clues: what the messages Kubernetes and applications write say about a cause. Each
//! pattern reads one standard message shape (a kubelet waiting reason, a scheduler
//! message, an event, an application's connection or TLS error) and names the cause
//! class and its subject (an object, a key, a host, an image, a taint). The patterns are
//! the platform's and the runtimes' own wording, not any one incident's.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::{Captures, Regex};

use crate::kube::state::ResourceRef;

/// A class of cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// A ConfigMap, Secret or key the pod needs does not exist.
    MissingConfig,
    /// A setting holds a value the application cannot use.
    BadConfigValue,
    /// The image tag or repository does not exist.
    ImageNotFound,
    /// The registry refuses the node's credentials.
    ImageAuth,
    /// The registry cannot be reached.
    RegistryUnreachable,
    /// The scheduler finds no node with room (CPU, memory, pods, GPUs).
    InsufficientResources,
    /// Nodes carry a taint the pod does not tolerate.
    UntoleratedTaint,
    /// The pod's node selector or affinity matches no node.
    NodeAffinity,
    /// A volume claim is unbound or its volume is tied to other nodes.
    UnboundVolume,
    /// Every node is cordoned.
    NodesUnschedulable,
    /// A volume cannot be mounted or attached.
    VolumeMount,
    /// A claim cannot be provisioned (missing StorageClass, provisioner errors).
    Provisioning,
    /// A disk or volume is full.
    DiskFull,
    /// A probe fails (wrong port or path, slow endpoint).
    ProbeFailing,
    /// A container is killed at its memory limit.
    OutOfMemory,
    /// CPU throttling at a low limit.
    CpuThrottled,
    /// Pods evicted from a node short of a resource.
    Evicted,
    /// A node is down.
    NodeNotReady,
    /// A node under memory, disk or PID pressure.
    NodePressure,
    /// An autoscaler at its maximum.
    AutoscalerAtMax,
    /// An autoscaler that cannot read its metrics.
    AutoscalerMetrics,
    /// A Job failed (back-off limit, deadline).
    JobFailed,
    /// A CronJob did not start its runs.
    CronJobNotRunning,
    /// A quota refuses new pods.
    QuotaExceeded,
    /// A ServiceAccount is missing.
    ServiceAccountMissing,
    /// An admission webhook or policy refuses pods.
    AdmissionDenied,
    /// Name resolution fails: the DNS servers do not answer.
    DnsUnavailable,
    /// A name does not resolve: it does not exist.
    NameNotFound,
    /// A dependency refuses connections.
    ConnectionRefused,
    /// A dependency does not answer in time.
    ConnectionTimeout,
    /// A dependency answers with errors (5xx, no healthy upstream).
    UpstreamErrors,
    /// A certificate expired or is not trusted.
    Certificate,
    /// The cloud provider refuses an API call (IAM).
    CloudPermission,
    /// A dependency rejects the credentials (database password, token).
    Credentials,
    /// A dependency out of connections.
    TooManyConnections,
    /// A dependency limits the request rate.
    RateLimited,
    /// The application cannot bind or parse its listen address.
    ListenAddress,
    /// The application exits with an error at start-up.
    AppCrash,
    /// A NetworkPolicy drops the traffic.
    NetworkPolicy,
    /// A Service selects no pods or points at the wrong port.
    ServiceMisrouted,
    /// An Ingress routes to a Service or port that does not exist or has no endpoints.
    IngressBackend,
    /// A rollout brought a revision that fails.
    BadRollout,
    /// A dependency of the workload is down.
    DependencyDown,
    /// A scheduled job's load on shared resources.
    ScheduledLoad,
    /// A caller's calls overload the target since its own change (a new revision).
    CallerLoad,
    /// Another workload on the same node or dependency takes the resources.
    NoisyNeighbour,
    /// A recent change with nothing more specific to show for it.
    RecentChange,
    /// Nothing is wrong.
    NothingWrong,
}

/// What a clue points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    None,
    /// An object by kind and name (namespace from where it was seen).
    Object {
        kind: &'static str,
        namespace: Option<String>,
        name: String,
        key: Option<String>,
    },
    /// A network peer: host and port.
    Host {
        host: String,
        port: Option<u16>,
    },
    Image(String),
    /// A taint `key=value:effect` or `key`.
    Taint(String),
    /// A resource name: `cpu`, `memory`, `ephemeral-storage`.
    Resource(String),
    /// A setting (environment variable, config key) and the value quoted, if any.
    Setting {
        key: String,
        value: Option<String>,
    },
    /// A node.
    Node(String),
}

/// Where a message was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A container's waiting or terminated state.
    Status,
    /// A Kubernetes event.
    Event,
    /// The scheduler's condition on a pending pod.
    Scheduler,
    /// An application log.
    Log,
}

/// One message's reading.
#[derive(Debug, Clone)]
pub struct Clue {
    pub cause: Cause,
    pub subject: Subject,
    /// The message, cut to a readable length.
    pub text: String,
    /// The object the message is about (a pod, a node, a claim).
    pub source: ResourceRef,
    pub origin: Origin,
    pub at: Option<DateTime<Utc>>,
    /// How directly the message names the cause (0–1): a kubelet saying a Secret is
    /// missing is 1.0; an application timing out is lower.
    pub specificity: f32,
}

type Extract = fn(&Captures, Option<&str>) -> Subject;

struct Pattern {
    re: Regex,
    cause: Cause,
    specificity: f32,
    subject: Extract,
}

fn none(_: &Captures, _: Option<&str>) -> Subject {
    Subject::None
}

fn group(c: &Captures, i: usize) -> String {
    c.get(i).map_or(String::new(), |m| m.as_str().to_string())
}

fn object(kind: &'static str, c: &Captures, ns: Option<&str>, name: usize, key: usize) -> Subject {
    let raw = group(c, name);
    // `ns/name` in kubelet messages.
    let (ns, name) = match raw.split_once('/') {
        Some((n, rest)) => (Some(n.to_string()), rest.to_string()),
        None => (ns.map(str::to_string), raw),
    };
    Subject::Object {
        kind,
        namespace: ns,
        name,
        key: (key > 0).then(|| group(c, key)).filter(|k| !k.is_empty()),
    }
}

fn host(c: &Captures, _: Option<&str>) -> Subject {
    let h = group(c, 1);
    let (host, port) = match h.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h.to_string(), p.parse().ok()),
        _ => (h, c.get(2).and_then(|m| m.as_str().parse().ok())),
    };
    Subject::Host {
        host: host.trim_matches(['[', ']', '"', '\'']).to_string(),
        port,
    }
}

fn p(re: &str, cause: Cause, specificity: f32, subject: Extract) -> Option<Pattern> {
    Some(Pattern {
        re: Regex::new(re).ok()?,
        cause,
        specificity,
        subject,
    })
}

use Cause::*;

static PATTERNS: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    [
        // Kubelet: configuration the container needs.
        p(r#"couldn't find key "?([A-Za-z0-9_.-]+)"? in ConfigMap ([a-z0-9.-]+/[a-z0-9.-]+)"#, MissingConfig, 1.0,
            |c, ns| object("ConfigMap", c, ns, 2, 1)),
        p(r#"couldn't find key "?([A-Za-z0-9_.-]+)"? in Secret ([a-z0-9.-]+/[a-z0-9.-]+)"#, MissingConfig, 1.0,
            |c, ns| object("Secret", c, ns, 2, 1)),
        p(r#"(?i)configmaps? "([a-z0-9.-]+)" not found"#, MissingConfig, 1.0, |c, ns| object("ConfigMap", c, ns, 1, 0)),
        p(r#"(?i)secrets? "([a-z0-9.-]+)" not found"#, MissingConfig, 1.0, |c, ns| object("Secret", c, ns, 1, 0)),
        p(r#"(?i)serviceaccounts? "([a-z0-9.-]+)" not found"#, ServiceAccountMissing, 1.0,
            |c, ns| object("ServiceAccount", c, ns, 1, 0)),
        p(r#"(?i)persistentvolumeclaims? "([a-z0-9.-]+)" not found"#, UnboundVolume, 1.0,
            |c, ns| object("PersistentVolumeClaim", c, ns, 1, 0)),
        // Images.
        p(r#"(?i)(?:failed to pull|pulling|pull) image "([^"]+)".{0,200}?(?:not found|manifest unknown|does not exist|name unknown)"#,
            ImageNotFound, 1.0, |c, _| Subject::Image(group(c, 1))),
        p(r#"(?i)image "?([^"\s]+)"?.{0,120}?(?:not found|manifest unknown)"#, ImageNotFound, 0.9,
            |c, _| Subject::Image(group(c, 1))),
        p(r#"(?i)(?:failed to pull|pull) image "([^"]+)".{0,600}?(?:unauthorized|authentication required|pull access denied|403 forbidden|denied: |no basic auth credentials|requested access to the resource is denied|failed to authorize)"#,
            ImageAuth, 1.0, |c, _| Subject::Image(group(c, 1))),
        p(r#"(?i)(?:failed to pull|pull) image "([^"]+)".{0,240}?(?:i/o timeout|no such host|connection refused|tls handshake timeout|dial tcp)"#,
            RegistryUnreachable, 0.9, |c, _| Subject::Image(group(c, 1))),
        p(r"(?i)InvalidImageName|couldn't parse image reference", ImageNotFound, 0.8, none),
        p(r#"(?i)(?:failed to pull|pull) image "([^"]+)".{0,240}?(?:toomanyrequests|pull rate limit|429 Too Many Requests)"#,
            RateLimited, 1.0, |c, _| Subject::Image(group(c, 1))),
        // The scheduler.
        p(r"Insufficient ([a-zA-Z0-9./-]*[a-zA-Z0-9])", InsufficientResources, 0.95, |c, _| Subject::Resource(group(c, 1))),
        p(r"(?:untolerated taint|had taint)s? \{([^}]+)\}", UntoleratedTaint, 0.95, |c, _| Subject::Taint(group(c, 1))),
        p(r"didn't match Pod's node affinity(?:/selector)?|node\(s\) didn't match node selector", NodeAffinity, 0.9, none),
        p(r"unbound immediate PersistentVolumeClaims|volume node affinity conflict|didn't find available persistent volumes", UnboundVolume, 0.95, none),
        p(r"node\(s\) were unschedulable", NodesUnschedulable, 0.9, none),
        p(r"Too many pods", InsufficientResources, 0.9, |_, _| Subject::Resource("pods".into())),
        p(r"exceeded quota: ([a-z0-9.-]+)", QuotaExceeded, 1.0, |c, ns| object("ResourceQuota", c, ns, 1, 0)),
        p(r#"admission webhook "([^"]+)" denied the request"#, AdmissionDenied, 0.9, |c, _| Subject::Setting { key: group(c, 1), value: None }),
        // Volumes.
        p(r#"MountVolume\.\w+ failed for volume "[^"]+" : (?:configmap|secret) "([a-z0-9.-]+)" not found"#, MissingConfig, 1.0,
            |c, ns| object("ConfigMap", c, ns, 1, 0)),
        p(r"Multi-Attach error|already (?:exclusively )?attached|AttachVolume\.Attach failed|FailedAttachVolume", VolumeMount, 0.9, none),
        p(r"(?i)Unable to attach or mount volumes|MountVolume\.\w+ failed", VolumeMount, 0.7, none),
        p(r#"storageclass\.storage\.k8s\.io "([a-z0-9.-]+)" not found"#, Provisioning, 1.0,
            |c, _| Subject::Object { kind: "StorageClass", namespace: None, name: group(c, 1), key: None }),
        p(r"(?i)failed to provision volume", Provisioning, 0.8, none),
        p(r"(?i)no space left on device|ENOSPC|disk quota exceeded|database or disk is full|disk full", DiskFull, 0.95, none),
        // Probes.
        p(r#"(Readiness|Liveness|Startup) probe failed: .*?(?:dial tcp [^:]+:(\d+): connect: connection refused|:(\d+)/\S*": dial tcp)"#,
            ProbeFailing, 0.9, |c, _| Subject::Setting { key: format!("{} probe", group(c, 1).to_lowercase()), value: c.get(2).or(c.get(3)).map(|m| m.as_str().to_string()) }),
        p(r"(Readiness|Liveness|Startup) probe failed: HTTP probe failed with statuscode: (\d+)", ProbeFailing, 0.8,
            |c, _| Subject::Setting { key: format!("{} probe", group(c, 1).to_lowercase()), value: Some(format!("HTTP {}", group(c, 2))) }),
        p(r"(Readiness|Liveness|Startup) probe failed", ProbeFailing, 0.6,
            |c, _| Subject::Setting { key: format!("{} probe", group(c, 1).to_lowercase()), value: None }),
        // Resources and nodes.
        p(r"OOMKilled|Out of memory|OutOfMemoryError|Cannot allocate memory|JavaScript heap out of memory|runtime: out of memory|MemoryError", OutOfMemory, 0.9, none),
        // The kubelet's evictions for a pod's own ephemeral-storage limit (not the node's).
        p(r#"(?i)(?:Pod ephemeral local storage usage exceeds the total limit of containers|Container [A-Za-z0-9_.-]+ exceeded its local ephemeral storage limit|Usage of EmptyDir volume "?[A-Za-z0-9_.-]+"? exceeds the limit) "?([0-9.]+[KMGTPE]?i?)?"#, Evicted, 1.0,
            |c, _| Subject::Setting { key: "ephemeral-storage limit".into(), value: c.get(1).map(|m| m.as_str().to_string()) }),
        p(r"(?i)The node was low on resource: \[?([a-z-]+)", Evicted, 1.0, |c, _| Subject::Resource(group(c, 1))),
        p(r"(?i)cpu throttl|CPUThrottling", CpuThrottled, 0.7, |_, _| Subject::Resource("cpu".into())),
        p(r"Kubelet stopped posting node status|NodeNotReady|node is not ready|NodeLost", NodeNotReady, 0.9, none),
        p(r"(DiskPressure|MemoryPressure|PIDPressure)|EvictionThresholdMet|Attempting to reclaim ([a-z-]+)", NodePressure, 0.9,
            |c, _| Subject::Resource(c.get(2).or(c.get(1)).map_or(String::new(), |m| m.as_str().to_string()))),
        // Autoscaling and batch.
        p(r"(?i)desired replica count is more than the maximum|ScalingLimited.*TooManyReplicas|TooManyReplicas", AutoscalerAtMax, 0.9, none),
        p(r"(?i)failed to get (\w+) utilization|missing request for (\w+)|unable to get metrics for resource (\w+)|FailedGetResourceMetric", AutoscalerMetrics, 0.9,
            |c, _| Subject::Resource(c.get(1).or(c.get(2)).or(c.get(3)).map_or(String::new(), |m| m.as_str().to_string()))),
        p(r"BackoffLimitExceeded|reached the specified backoff limit|DeadlineExceeded|active longer than specified deadline", JobFailed, 0.9, none),
        p(r"(?i)too many missed start times?|Cannot determine if job needs to be started|JobAlreadyActive", CronJobNotRunning, 0.9, none),
        // Names and connections, as applications write them.
        p(r"lookup ([A-Za-z0-9.-]+)(?: on [0-9.:\[\]a-f]+)?: (?:i/o timeout|server misbehaving|read udp|dial udp|connection refused)", DnsUnavailable, 0.85, host),
        p(r"(?i)Temporary failure in name resolution|EAI_AGAIN ?([A-Za-z0-9.-]*)|could not resolve host|dns.*timed? ?out", DnsUnavailable, 0.7, host),
        p(r"lookup ([A-Za-z0-9.-]+)(?: on [0-9.:\[\]a-f]+)?: no such host", NameNotFound, 0.85, host),
        p(r"(?i)getaddrinfo ENOTFOUND ([A-Za-z0-9.-]+)|UnknownHostException: ([A-Za-z0-9.-]+)|Name or service not known|NXDOMAIN", NameNotFound, 0.75,
            |c, ns| if c.get(1).is_some() { host(c, ns) } else if let Some(m) = c.get(2) { Subject::Host { host: m.as_str().into(), port: None } } else { Subject::None }),
        p(r"(?:dial tcp|connect to|connecting to|ECONNREFUSED) \[?([A-Za-z0-9.-]+\]?:\d+)\]?:? ?(?:connect: )?connection refused", ConnectionRefused, 0.8, host),
        p(r"ECONNREFUSED ([A-Za-z0-9.-]+:\d+)", ConnectionRefused, 0.8, host),
        p(r#"(?i)(?:connection to|could not connect to server|connect to) .{0,40}?"?([A-Za-z0-9.-]+)"?.{0,40}?(?:port (\d+))?.{0,20}connection refused"#, ConnectionRefused, 0.7, host),
        p(r"(?i)connection refused", ConnectionRefused, 0.5, none),
        p(r"dial tcp \[?([A-Za-z0-9.-]+\]?:\d+)\]?: (?:i/o timeout|connect: connection timed out)", ConnectionTimeout, 0.75, host),
        p(r#"(?i)(?:timeout|timed out) (?:connecting to|while connecting to|calling|waiting for) "?(?:https?://)?([A-Za-z0-9-]+(?:[.:][A-Za-z0-9-]+)+)"#, ConnectionTimeout, 0.65, host),
        p(r#"(?i)(?:Get|Post|Put|Delete|Patch) \\?"?https?://([A-Za-z0-9.-]+(?::\d+)?)[^"\s\\]*\\?"?: (?:context deadline exceeded|net/http: request canceled|dial tcp[^:]*: i/o timeout)"#, ConnectionTimeout, 0.7, host),
        p(r"(?i)ETIMEDOUT|context deadline exceeded|deadline exceeded|Read timed out|connect timed out|upstream request timeout", ConnectionTimeout, 0.4, none),
        p(r#"(?i)upstream connect error|no healthy upstream|503 Service Unavailable|502 Bad Gateway|504 Gateway Time-?out"#, UpstreamErrors, 0.5, none),
        p(r"(?i)x509: certificate has expired|certificate has expired|CERT_HAS_EXPIRED|certificate expired", Certificate, 0.95, none),
        p(r"(?i)x509: certificate signed by unknown authority|x509: certificate is valid for|certificate verify failed|unable to verify the first certificate|tls: failed to verify", Certificate, 0.85, none),
        // The identity the cloud refused, when the message names it: an AWS role
        // (`assumed-role/<role>/<session> is not authorized`).
        p(r"(?i)(?:assumed-role|:role)/([A-Za-z0-9+=,.@_-]+)(?:/\S*)? is not authorized to perform", CloudPermission, 0.95,
            |c, _| Subject::Object { kind: "IAMRole", namespace: None, name: group(c, 1), key: None }),
        p(r"(?i)AccessDenied|is not authorized to perform: ([A-Za-z0-9:*]+)|UnauthorizedOperation|WebIdentityErr|InvalidIdentityToken|NoCredentialProviders|ExpiredToken|PERMISSION_DENIED|AuthorizationFailed", CloudPermission, 0.9,
            |c, _| c.get(1).map_or(Subject::None, |m| Subject::Setting { key: m.as_str().into(), value: None })),
        p(r#"(?i)password authentication failed for user (?:\\?")?([A-Za-z0-9_.-]+)|Access denied for user '?([A-Za-z0-9_.-]+)|WRONGPASS|NOAUTH|invalid (?:username or )?password|401 Unauthorized"#, Credentials, 0.85, none),
        p(r"(?i)lock wait timeout|deadlock detected|due to lock timeout|could not obtain lock|waiting for (?:a )?lock", UpstreamErrors, 0.6, none),
        p(r"(?i)too many (?:clients|connections)|remaining connection slots are reserved|connection pool (?:exhausted|timeout)|max_connections", TooManyConnections, 0.8, none),
        p(r"(?i)429 Too Many Requests|rate limit(?:ed| exceeded)|Throttling(?:Exception)?:|SlowDown", RateLimited, 0.75, none),
        p(r"(?i)address already in use|missing port in address|listen tcp[^:]*: address ([^ :]+)", ListenAddress, 0.9, none),
        // Settings the application could not use.
        p(r#"strconv\.\w+: parsing "([^"]*)": invalid syntax"#, BadConfigValue, 0.8, |c, _| Subject::Setting { key: String::new(), value: Some(group(c, 1)) }),
        p(r#"(?i)invalid (?:value|duration|number)(?: for)? "?([^"\s]*)"?.{0,20}?(?:for|of|in) (?:env(?:ironment)? (?:variable )?)?([A-Z][A-Z0-9_]{2,})"#, BadConfigValue, 0.8,
            |c, _| Subject::Setting { key: group(c, 2), value: Some(group(c, 1)).filter(|v| !v.is_empty()) }),
        p(r#"(?i)(?:required|missing) (?:env(?:ironment)? (?:variable|var)|setting|config(?:uration)? (?:key|value)?)[: ]+"?([A-Z][A-Z0-9_]{2,})"#, MissingConfig, 0.8,
            |c, _| Subject::Setting { key: group(c, 1), value: None }),
        p(r#"\b([A-Z][A-Z0-9_]{2,}) (?:is|must be) (?:not set|required|set|empty)"#, MissingConfig, 0.7,
            |c, _| Subject::Setting { key: group(c, 1), value: None }),
        p(r#"(?i)KeyError: '([A-Za-z0-9_]+)'"#, MissingConfig, 0.6, |c, _| Subject::Setting { key: group(c, 1), value: None }),
        p(r#"(?i)(?:invalid literal for int\(\) with base 10|NumberFormatException: For input string|cannot parse|could not parse|failed to parse)[: ]+'?"?([^'"\n]{1,40})"#, BadConfigValue, 0.6,
            |c, _| Subject::Setting { key: String::new(), value: Some(group(c, 1)) }),
        p(r#"exec: "([^"]+)": executable file not found|no such file or directory"#, AppCrash, 0.8, none),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// Every clue one message gives. `namespace` resolves names written without one.
pub fn read(
    text: &str,
    source: &ResourceRef,
    origin: Origin,
    at: Option<DateTime<Utc>>,
) -> Vec<Clue> {
    let mut out: Vec<Clue> = Vec::new();
    let ns = source.namespace.as_deref();
    for pat in PATTERNS.iter() {
        let Some(c) = pat.re.captures(text) else {
            continue;
        };
        // One clue per cause and subject: the first (most specific) pattern wins.
        let subject = (pat.subject)(&c, ns);
        if out
            .iter()
            .any(|o| o.cause == pat.cause && (o.subject == subject || subject == Subject::None))
        {
            continue;
        }
        out.push(Clue {
            cause: pat.cause,
            subject,
            text: cut(text, 300),
            source: source.clone(),
            origin,
            at,
            specificity: pat.specificity,
        });
    }
    // A refusal that names the refused identity needs no vaguer reading.
    if out
        .iter()
        .any(|c| c.cause == CloudPermission && matches!(c.subject, Subject::Object { .. }))
    {
        out.retain(|c| c.cause != CloudPermission || matches!(c.subject, Subject::Object { .. }));
    }
    // A registry refusing a pull (`401 Unauthorized` from its manifest endpoint) is the
    // image's credentials, not a dependency rejecting the application's.
    if out.iter().any(|c| c.cause == ImageAuth) {
        out.retain(|c| c.cause != Credentials);
    }
    // A failed probe is the kubelet's connection to the pod itself, not a dependency.
    if out.iter().any(|c| c.cause == ProbeFailing) {
        out.retain(|c| !is_connection(c.cause));
    }
    out
}

/// Causes read from a failed connection to some peer.
fn is_connection(cause: Cause) -> bool {
    matches!(
        cause,
        ConnectionRefused | ConnectionTimeout | UpstreamErrors | DnsUnavailable | NameNotFound
    )
}

/// A message cut to `max` characters on one line.
pub fn cut(s: &str, max: usize) -> String {
    let flat = s.replace('\n', " ");
    let flat = flat.trim();
    if flat.chars().count() > max {
        format!("{}…", flat.chars().take(max).collect::<String>())
    } else {
        flat.to_string()
    }
}

/// A log line without its timestamp and level, cut to a readable length.
pub(crate) fn log_message(line: &str) -> String {
    // Structured (JSON) logs: the message and the error.
    if line.trim_start().starts_with('{')
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim())
    {
        let field = |keys: &[&str]| keys.iter().find_map(|k| v[*k].as_str()).map(str::to_string);
        let msg = field(&["msg", "message", "event"]);
        let err = field(&["error", "err", "exception"]);
        let text = match (msg, err) {
            (Some(m), Some(e)) => format!("{m}: {e}"),
            (Some(m), None) => m,
            (None, Some(e)) => e,
            (None, None) => line.trim().to_string(),
        };
        return text.chars().take(140).collect();
    }
    let mut rest = line.trim();
    // Leading timestamp (2025-06-01T11:58:29.122Z, 11:58:29, …) and level.
    if let Some((first, tail)) = rest.split_once(' ')
        && first.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        rest = tail.trim_start();
    }
    for level in ["ERROR", "FATAL", "WARN", "error", "fatal", "level=error"] {
        if let Some(tail) = rest.strip_prefix(level) {
            rest = tail.trim_start_matches([':', ' ']);
        }
    }
    rest.chars().take(140).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod() -> ResourceRef {
        ResourceRef::new("Pod", Some("shop"), "web-1")
    }

    fn first(text: &str) -> Clue {
        read(text, &pod(), Origin::Status, None)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no clue in {text:?}"))
    }

    #[test]
    fn kubelet_messages_name_the_missing_object_and_key() {
        let c = first("couldn't find key PAYMENTS_URL in ConfigMap shop/checkout-config");
        assert_eq!(c.cause, Cause::MissingConfig);
        assert_eq!(
            c.subject,
            Subject::Object {
                kind: "ConfigMap",
                namespace: Some("shop".into()),
                name: "checkout-config".into(),
                key: Some("PAYMENTS_URL".into())
            }
        );
        let c = first("secret \"db-credentials\" not found");
        assert!(
            matches!(c.subject, Subject::Object { kind: "Secret", ref name, .. } if name == "db-credentials")
        );
    }

    #[test]
    fn scheduler_messages_tell_room_from_taints_from_volumes() {
        let c = first(
            "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available",
        );
        assert_eq!(
            (c.cause, c.subject),
            (
                Cause::InsufficientResources,
                Subject::Resource("memory".into())
            )
        );
        let c =
            first("0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: batch}.");
        assert_eq!(c.cause, Cause::UntoleratedTaint);
        let c = first("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.");
        assert_eq!(c.cause, Cause::UnboundVolume);
    }

    #[test]
    fn application_errors_name_the_host() {
        let c = first("ERROR charge failed: dial tcp 10.43.12.7:8080: connect: connection refused");
        assert_eq!(c.cause, Cause::ConnectionRefused);
        assert_eq!(
            c.subject,
            Subject::Host {
                host: "10.43.12.7".into(),
                port: Some(8080)
            }
        );
        let c = first(
            "dial tcp: lookup payments.shop.svc.cluster.local on 10.96.0.10:53: read udp 10.42.0.5:36622->10.96.0.10:53: i/o timeout",
        );
        assert_eq!(c.cause, Cause::DnsUnavailable);
        assert!(
            matches!(c.subject, Subject::Host { ref host, .. } if host == "payments.shop.svc.cluster.local")
        );
        let c = first("lookup orders-db on 10.96.0.10:53: no such host");
        assert_eq!(c.cause, Cause::NameNotFound);
        let c = first(
            "Get \"https://api.stripe.com/v1/charges\": x509: certificate has expired or is not yet valid",
        );
        assert_eq!(c.cause, Cause::Certificate);
        let c = first(
            "AccessDenied: User: arn:aws:sts::1:assumed-role/x is not authorized to perform: s3:PutObject on resource",
        );
        assert_eq!(c.cause, Cause::CloudPermission);
        let all = read(
            "could not create volume in EC2: api error UnauthorizedOperation: User: arn:aws:sts::1:assumed-role/csi-role/17509 is not authorized to perform: ec2:CreateVolume",
            &ResourceRef::new("PersistentVolumeClaim", Some("data"), "d"),
            Origin::Event,
            None,
        );
        assert_eq!(all.len(), 1, "{all:?}");
        assert!(
            matches!(&all[0].subject, Subject::Object { kind: "IAMRole", name, .. } if name == "csi-role"),
            "{all:?}"
        );
    }

    #[test]
    fn evictions_for_a_pods_own_limit_are_not_the_nodes() {
        let c = first(
            "Evicted Pod ephemeral local storage usage exceeds the total limit of containers 2Gi. ",
        );
        assert_eq!(c.cause, Cause::Evicted);
        assert_eq!(
            c.subject,
            Subject::Setting {
                key: "ephemeral-storage limit".into(),
                value: Some("2Gi".into())
            }
        );
        let c =
            first("Evicted Container render exceeded its local ephemeral storage limit \"1Gi\". ");
        assert!(
            matches!(c.subject, Subject::Setting { ref value, .. } if value.as_deref() == Some("1Gi"))
        );
        let c = first("The node was low on resource: memory. Container web was using 3Gi");
        assert_eq!(c.subject, Subject::Resource("memory".into()));
    }

    #[test]
    fn a_message_without_a_known_shape_gives_no_clue() {
        assert!(read("started worker 3 of 4", &pod(), Origin::Log, None).is_empty());
    }
}
