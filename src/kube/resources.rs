//! The resource types triage reads: one table shared by the client (what to list), the
//! snapshot format (the keys of `objects`) and the replay server (discovery and routing).

/// One Kubernetes resource type, as discovery describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// API group; empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// Lower-case plural, as in URLs (`pods`).
    pub plural: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
}

impl ResourceType {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The snapshot key: `v1/pods`, `apps/v1/deployments`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.api_version(), self.plural)
    }

    /// `/api/v1` or `/apis/apps/v1`.
    pub fn group_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection URL, in one namespace or across all of them (and for cluster-scoped
    /// types, always the cluster-wide one).
    pub fn list_path(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => {
                format!("{}/namespaces/{}/{}", self.group_path(), ns, self.plural)
            }
            _ => format!("{}/{}", self.group_path(), self.plural),
        }
    }

    /// The URL of one object.
    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.list_path(namespace), name)
    }

    /// Resource name as kubectl prints it in commands: `deployment`, `pod`.
    pub fn kubectl_name(&self) -> &'static str {
        self.singular
    }
}

const fn rt(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        group,
        version,
        plural,
        singular,
        kind,
        namespaced,
        short_names,
    }
}

pub const NAMESPACES: ResourceType = rt(
    "",
    "v1",
    "namespaces",
    "namespace",
    "Namespace",
    false,
    &["ns"],
);
pub const NODES: ResourceType = rt("", "v1", "nodes", "node", "Node", false, &["no"]);
pub const PODS: ResourceType = rt("", "v1", "pods", "pod", "Pod", true, &["po"]);
pub const SERVICES: ResourceType = rt("", "v1", "services", "service", "Service", true, &["svc"]);
pub const CONFIGMAPS: ResourceType = rt(
    "",
    "v1",
    "configmaps",
    "configmap",
    "ConfigMap",
    true,
    &["cm"],
);
pub const SECRETS: ResourceType = rt("", "v1", "secrets", "secret", "Secret", true, &[]);
pub const PVCS: ResourceType = rt(
    "",
    "v1",
    "persistentvolumeclaims",
    "persistentvolumeclaim",
    "PersistentVolumeClaim",
    true,
    &["pvc"],
);
pub const SERVICEACCOUNTS: ResourceType = rt(
    "",
    "v1",
    "serviceaccounts",
    "serviceaccount",
    "ServiceAccount",
    true,
    &["sa"],
);
pub const PVS: ResourceType = rt(
    "",
    "v1",
    "persistentvolumes",
    "persistentvolume",
    "PersistentVolume",
    false,
    &["pv"],
);
pub const STORAGECLASSES: ResourceType = rt(
    "storage.k8s.io",
    "v1",
    "storageclasses",
    "storageclass",
    "StorageClass",
    false,
    &["sc"],
);
pub const NETWORKPOLICIES: ResourceType = rt(
    "networking.k8s.io",
    "v1",
    "networkpolicies",
    "networkpolicy",
    "NetworkPolicy",
    true,
    &["netpol"],
);
pub const EVENTS: ResourceType = rt("", "v1", "events", "event", "Event", true, &["ev"]);
pub const DEPLOYMENTS: ResourceType = rt(
    "apps",
    "v1",
    "deployments",
    "deployment",
    "Deployment",
    true,
    &["deploy"],
);
pub const STATEFULSETS: ResourceType = rt(
    "apps",
    "v1",
    "statefulsets",
    "statefulset",
    "StatefulSet",
    true,
    &["sts"],
);
pub const DAEMONSETS: ResourceType = rt(
    "apps",
    "v1",
    "daemonsets",
    "daemonset",
    "DaemonSet",
    true,
    &["ds"],
);
pub const REPLICASETS: ResourceType = rt(
    "apps",
    "v1",
    "replicasets",
    "replicaset",
    "ReplicaSet",
    true,
    &["rs"],
);
pub const JOBS: ResourceType = rt("batch", "v1", "jobs", "job", "Job", true, &[]);
pub const CRONJOBS: ResourceType = rt(
    "batch",
    "v1",
    "cronjobs",
    "cronjob",
    "CronJob",
    true,
    &["cj"],
);
pub const INGRESSES: ResourceType = rt(
    "networking.k8s.io",
    "v1",
    "ingresses",
    "ingress",
    "Ingress",
    true,
    &["ing"],
);
pub const HPAS: ResourceType = rt(
    "autoscaling",
    "v2",
    "horizontalpodautoscalers",
    "horizontalpodautoscaler",
    "HorizontalPodAutoscaler",
    true,
    &["hpa"],
);
pub const ENDPOINTSLICES: ResourceType = rt(
    "discovery.k8s.io",
    "v1",
    "endpointslices",
    "endpointslice",
    "EndpointSlice",
    true,
    &[],
);

pub const CERTIFICATES: ResourceType = rt(
    "cert-manager.io",
    "v1",
    "certificates",
    "certificate",
    "Certificate",
    true,
    &["cert", "certs"],
);
pub const CERTIFICATEREQUESTS: ResourceType = rt(
    "cert-manager.io",
    "v1",
    "certificaterequests",
    "certificaterequest",
    "CertificateRequest",
    true,
    &["cr", "crs"],
);
pub const ISSUERS: ResourceType = rt(
    "cert-manager.io",
    "v1",
    "issuers",
    "issuer",
    "Issuer",
    true,
    &[],
);
pub const CLUSTERISSUERS: ResourceType = rt(
    "cert-manager.io",
    "v1",
    "clusterissuers",
    "clusterissuer",
    "ClusterIssuer",
    false,
    &[],
);
pub const ORDERS: ResourceType = rt(
    "acme.cert-manager.io",
    "v1",
    "orders",
    "order",
    "Order",
    true,
    &[],
);
pub const CHALLENGES: ResourceType = rt(
    "acme.cert-manager.io",
    "v1",
    "challenges",
    "challenge",
    "Challenge",
    true,
    &[],
);

pub const GATEWAYCLASSES: ResourceType = rt(
    "gateway.networking.k8s.io",
    "v1",
    "gatewayclasses",
    "gatewayclass",
    "GatewayClass",
    false,
    &["gc"],
);
pub const GATEWAYS: ResourceType = rt(
    "gateway.networking.k8s.io",
    "v1",
    "gateways",
    "gateway",
    "Gateway",
    true,
    &["gtw"],
);
pub const HTTPROUTES: ResourceType = rt(
    "gateway.networking.k8s.io",
    "v1",
    "httproutes",
    "httproute",
    "HTTPRoute",
    true,
    &[],
);
pub const INGRESSROUTES: ResourceType = rt(
    "traefik.io",
    "v1alpha1",
    "ingressroutes",
    "ingressroute",
    "IngressRoute",
    true,
    &[],
);
pub const MIDDLEWARES: ResourceType = rt(
    "traefik.io",
    "v1alpha1",
    "middlewares",
    "middleware",
    "Middleware",
    true,
    &[],
);

/// Types a cluster serves only when an add-on installed their CRDs: a cluster without
/// them answers 404 for the whole collection, which means "not installed", not an error.
pub const EXTENSION_TYPES: &[ResourceType] = &[
    CERTIFICATES,
    CERTIFICATEREQUESTS,
    ISSUERS,
    CLUSTERISSUERS,
    ORDERS,
    CHALLENGES,
    GATEWAYCLASSES,
    GATEWAYS,
    HTTPROUTES,
    INGRESSROUTES,
    MIDDLEWARES,
];

/// The add-on that installs an extension type (`cert-manager`, `the Gateway API`,
/// `Traefik`), `None` for built-in types.
pub fn add_on(t: &ResourceType) -> Option<&'static str> {
    if !EXTENSION_TYPES.contains(t) {
        return None;
    }
    Some(match t.group {
        "gateway.networking.k8s.io" => "the Gateway API",
        "traefik.io" => "Traefik",
        _ => "cert-manager",
    })
}

/// What a 404 on an extension type's collection means, in words.
pub fn not_installed(t: &ResourceType) -> String {
    format!(
        "{} is not installed in this cluster: it serves no {}.{} API (no such CRD)",
        add_on(t).unwrap_or("the add-on"),
        t.plural,
        t.group
    )
}

/// Every type kept in a snapshot's `objects` (events have their own field).
pub const OBJECT_TYPES: &[ResourceType] = &[
    NAMESPACES,
    NODES,
    PVS,
    STORAGECLASSES,
    PODS,
    SERVICES,
    CONFIGMAPS,
    SECRETS,
    SERVICEACCOUNTS,
    PVCS,
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
    REPLICASETS,
    JOBS,
    CRONJOBS,
    INGRESSES,
    NETWORKPOLICIES,
    HPAS,
    ENDPOINTSLICES,
    CERTIFICATES,
    CERTIFICATEREQUESTS,
    ISSUERS,
    CLUSTERISSUERS,
    ORDERS,
    CHALLENGES,
    GATEWAYCLASSES,
    GATEWAYS,
    HTTPROUTES,
    INGRESSROUTES,
    MIDDLEWARES,
];

/// Every type the replay server serves.
pub const SERVED_TYPES: &[ResourceType] = &[
    NAMESPACES,
    NODES,
    PVS,
    STORAGECLASSES,
    PODS,
    SERVICES,
    CONFIGMAPS,
    SECRETS,
    SERVICEACCOUNTS,
    PVCS,
    EVENTS,
    DEPLOYMENTS,
    STATEFULSETS,
    DAEMONSETS,
    REPLICASETS,
    JOBS,
    CRONJOBS,
    INGRESSES,
    NETWORKPOLICIES,
    HPAS,
    ENDPOINTSLICES,
    CERTIFICATES,
    CERTIFICATEREQUESTS,
    ISSUERS,
    CLUSTERISSUERS,
    ORDERS,
    CHALLENGES,
    GATEWAYCLASSES,
    GATEWAYS,
    HTTPROUTES,
    INGRESSROUTES,
    MIDDLEWARES,
];

/// The type stored under a snapshot key (`apps/v1/deployments`).
pub fn by_key(key: &str) -> Option<&'static ResourceType> {
    SERVED_TYPES.iter().find(|t| t.key() == key)
}

/// The type served at `group`/`version`/`plural`.
pub fn by_path(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    SERVED_TYPES
        .iter()
        .find(|t| t.group == group && t.version == version && t.plural == plural)
}

/// The type of a `kind` (`Deployment`).
pub fn by_kind(kind: &str) -> Option<&'static ResourceType> {
    SERVED_TYPES.iter().find(|t| t.kind == kind)
}

/// The type a user means: plural, singular, short name or kind, any case
/// (`po`, `pods`, `Deployment`, `deploy`, `hpa`).
pub fn resolve(name: &str) -> Option<&'static ResourceType> {
    let lower = name.to_ascii_lowercase();
    let (lower, group) = match lower.split_once('.') {
        Some((n, g)) => (n.to_string(), Some(g.to_string())),
        None => (lower, None),
    };
    SERVED_TYPES.iter().find(|t| {
        let name_matches = t.plural == lower
            || t.singular == lower
            || t.kind.eq_ignore_ascii_case(&lower)
            || t.short_names.contains(&lower.as_str());
        name_matches
            && group
                .as_deref()
                .is_none_or(|g| t.group == g || t.group.starts_with(g))
    })
}

/// The API groups served, in discovery order: (group, version).
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for t in SERVED_TYPES {
        if !t.group.is_empty() && !out.iter().any(|(g, _)| *g == t.group) {
            out.push((t.group, t.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_keys() {
        assert_eq!(PODS.key(), "v1/pods");
        assert_eq!(DEPLOYMENTS.key(), "apps/v1/deployments");
        assert_eq!(PODS.list_path(Some("shop")), "/api/v1/namespaces/shop/pods");
        assert_eq!(PODS.list_path(None), "/api/v1/pods");
        assert_eq!(NODES.list_path(Some("shop")), "/api/v1/nodes");
        assert_eq!(
            DEPLOYMENTS.object_path(Some("shop"), "web"),
            "/apis/apps/v1/namespaces/shop/deployments/web"
        );
    }

    #[test]
    fn resolves_names_like_kubectl() {
        assert_eq!(resolve("po"), Some(&PODS));
        assert_eq!(resolve("Deployment"), Some(&DEPLOYMENTS));
        assert_eq!(resolve("deploy"), Some(&DEPLOYMENTS));
        assert_eq!(resolve("hpa"), Some(&HPAS));
        assert_eq!(resolve("netpol"), Some(&NETWORKPOLICIES));
        assert_eq!(resolve("sc"), Some(&STORAGECLASSES));
        assert_eq!(by_key("v1/persistentvolumes"), Some(&PVS));
        assert_eq!(resolve("deployments.apps"), Some(&DEPLOYMENTS));
        assert_eq!(resolve("widgets"), None);
        assert_eq!(by_key("batch/v1/cronjobs"), Some(&CRONJOBS));
        assert_eq!(by_path("", "v1", "events"), Some(&EVENTS));
        assert_eq!(resolve("certs"), Some(&CERTIFICATES));
        assert_eq!(resolve("Challenge"), Some(&CHALLENGES));
        assert_eq!(
            by_key("cert-manager.io/v1/clusterissuers"),
            Some(&CLUSTERISSUERS)
        );
    }

    #[test]
    fn extension_types_name_their_add_on() {
        assert_eq!(add_on(&ORDERS), Some("cert-manager"));
        assert_eq!(add_on(&PODS), None);
        assert!(not_installed(&CERTIFICATES).contains("certificates.cert-manager.io"));
        assert_eq!(add_on(&HTTPROUTES), Some("the Gateway API"));
        assert!(not_installed(&INGRESSROUTES).starts_with("Traefik is not installed"));
        assert_eq!(resolve("httproutes"), Some(&HTTPROUTES));
        assert_eq!(by_kind("Middleware"), Some(&MIDDLEWARES));
    }
}
