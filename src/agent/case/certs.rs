//! cert-manager's objects as the walk read them (Certificate, CertificateRequest, Order,
//! Challenge, Issuer, ClusterIssuer), typed from their JSON, and what their status says
//! about a certificate that is not ready or does not renew: the issuer not Ready, an
//! ACME order or challenge pending or failed with its reason, an HTTP-01 solver whose
//! ingress class no controller serves, the expiry against the alert's time, and the
//! Secret `spec.secretName` names (its name only: values are never read).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// The kinds cert-manager serves.
pub const KINDS: &[&str] = &[
    "Certificate",
    "CertificateRequest",
    "Order",
    "Challenge",
    "Issuer",
    "ClusterIssuer",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    #[serde(default)]
    pub name: String,
    pub namespace: Option<String>,
    #[serde(default)]
    pub owner_references: Vec<Owner>,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerRef {
    #[serde(default)]
    pub name: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertSpec {
    pub secret_name: Option<String>,
    #[serde(default)]
    pub dns_names: Vec<String>,
    #[serde(default)]
    pub issuer_ref: IssuerRef,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    pub not_after: Option<DateTime<Utc>>,
    pub renewal_time: Option<DateTime<Utc>>,
    pub failed_issuance_attempts: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Certificate {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: CertSpec,
    #[serde(default)]
    pub status: CertStatus,
}

/// A CertificateRequest, an Issuer or a ClusterIssuer: what matters is the Ready condition.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Conditioned {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: Value,
    #[serde(default)]
    pub status: ConditionsOnly,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConditionsOnly {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// An ACME Order or Challenge: its state and reason.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Acme {
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub spec: Value,
    #[serde(default)]
    pub status: AcmeStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AcmeStatus {
    pub state: Option<String>,
    pub reason: Option<String>,
}

/// One of cert-manager's objects, typed (`None` for another kind or JSON of another shape).
pub fn typed<T: DeserializeOwned>(o: &KubeObject, kind: &str) -> Option<T> {
    match o {
        KubeObject::Other { kind: k, value } if k == kind => {
            serde_json::from_value(value.clone()).ok()
        }
        _ => None,
    }
}

fn ready(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == "Ready")
}

/// `reason: message` of a condition.
fn says(c: &Condition) -> String {
    match (c.reason.as_deref(), c.message.as_deref()) {
        (Some(r), Some(m)) if !m.is_empty() => format!("{r}: {m}"),
        (Some(r), _) => r.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => String::new(),
    }
}

/// What is wrong on the way to a certificate, worst (deepest) first.
#[derive(Debug, Clone, PartialEq)]
pub struct Trouble {
    /// The object at fault (the issuer when its configuration is, else the Certificate).
    pub culprit: ResourceRef,
    /// What it says, in a few words.
    pub detail: String,
    /// The objects the chain passes through, with what each says.
    pub chain: Vec<(ResourceRef, String)>,
    /// How directly the status names the cause (0–1).
    pub specificity: f32,
}

/// The issuer a Certificate names: a ClusterIssuer, or an Issuer of its namespace.
pub fn issuer_of(cert: &Certificate) -> ResourceRef {
    let r = &cert.spec.issuer_ref;
    match r.kind.as_deref() {
        Some("ClusterIssuer") => ResourceRef::new("ClusterIssuer", None, &r.name),
        _ => ResourceRef::new("Issuer", cert.metadata.namespace.as_deref(), &r.name),
    }
}

fn owned_by(m: &Meta, kind: &str, name: &str) -> bool {
    m.owner_references
        .iter()
        .any(|o| o.kind == kind && o.name == name)
}

fn all<'w, T: DeserializeOwned + 'w>(
    w: &'w World,
    kind: &'w str,
    ns: Option<&'w str>,
) -> impl Iterator<Item = T> + 'w {
    w.of_kind(kind, ns).filter_map(move |o| typed(o, kind))
}

/// The Certificate read as `ns/name`.
pub fn certificate(w: &World, ns: Option<&str>, name: &str) -> Option<Certificate> {
    w.get("Certificate", ns, name)
        .and_then(|o| typed(o, "Certificate"))
}

/// Why the certificate `ns/name` is not ready or does not renew, from its own status, its
/// requests, their orders and challenges, and its issuer; empty when nothing says.
pub fn troubles(w: &World, ns: Option<&str>, name: &str, at: DateTime<Utc>) -> Vec<Trouble> {
    let Some(cert) = certificate(w, ns, name) else {
        return Vec::new();
    };
    let cert_ref = ResourceRef::new("Certificate", ns, name);
    let mut chain = vec![(cert_ref.clone(), cert_state(&cert, at))];
    if let Some(secret) = cert.spec.secret_name.as_deref()
        && w.is_missing("Secret", ns, secret)
    {
        chain.push((
            ResourceRef::new("Secret", ns, secret),
            format!("Secret {secret} (spec.secretName) does not exist"),
        ));
    }
    let issuer = issuer_of(&cert);
    let mut out = Vec::new();
    if let Some(t) = issuer_trouble(w, &issuer) {
        chain.push((issuer.clone(), t.clone()));
        out.push(Trouble {
            culprit: issuer.clone(),
            detail: format!(
                "{} {} is not Ready ({t}), so {name} cannot be issued or renewed",
                issuer.kind, issuer.name
            ),
            chain: chain.clone(),
            specificity: 0.85,
        });
    }
    let requests: Vec<Conditioned> = all::<Conditioned>(w, "CertificateRequest", ns)
        .filter(|r| {
            owned_by(&r.metadata, "Certificate", name)
                || r.metadata
                    .annotations
                    .get("cert-manager.io/certificate-name")
                    == Some(&name.to_string())
        })
        .collect();
    for r in &requests {
        let Some(c) = ready(&r.status.conditions).filter(|c| c.status != "True") else {
            continue;
        };
        let r_ref = ResourceRef::new("CertificateRequest", ns, &r.metadata.name);
        chain.push((r_ref, format!("not Ready: {}", says(c))));
        for order in all::<Acme>(w, "Order", ns)
            .filter(|o| owned_by(&o.metadata, "CertificateRequest", &r.metadata.name))
        {
            if let Some(t) = acme_trouble(w, &order, ns, name, &issuer, &chain) {
                out.push(t);
            }
        }
        if out.is_empty() && c.reason.as_deref() != Some("Pending") {
            out.push(Trouble {
                culprit: cert_ref.clone(),
                detail: format!("request {} failed: {}", r.metadata.name, says(c)),
                chain: chain.clone(),
                specificity: 0.7,
            });
        }
    }
    if out.is_empty()
        && let Some(c) = ready(&cert.status.conditions).filter(|c| c.status != "True")
    {
        out.push(Trouble {
            culprit: cert_ref,
            detail: format!("{name} is not Ready: {}", says(c)),
            chain,
            specificity: 0.6,
        });
    }
    out
}

/// Whether a certificate is in trouble at `at`: not Ready, expired, its renewal
/// overdue, or failing its issuance attempts.
pub fn in_trouble(cert: &Certificate, at: DateTime<Utc>) -> bool {
    let st = &cert.status;
    ready(&st.conditions).is_none_or(|c| c.status != "True")
        || st.not_after.is_some_and(|end| end <= at)
        || st.renewal_time.is_some_and(|r| r < at)
        || st.failed_issuance_attempts.is_some_and(|n| n > 0)
}

/// The certificate's own state: Ready or not, when it expires against `at`, whether its
/// renewal is overdue.
pub fn cert_state(cert: &Certificate, at: DateTime<Utc>) -> String {
    let mut parts = Vec::new();
    match ready(&cert.status.conditions) {
        Some(c) if c.status == "True" => parts.push("Ready".to_string()),
        Some(c) => parts.push(format!("not Ready ({})", says(c))),
        None => parts.push("no Ready condition".to_string()),
    }
    if let Some(end) = cert.status.not_after {
        let left = end - at;
        if left.num_seconds() <= 0 {
            parts.push(format!("expired {}", end.format("%Y-%m-%d %H:%M UTC")));
        } else {
            parts.push(format!(
                "expires {} ({} days after the alert)",
                end.format("%Y-%m-%d %H:%M UTC"),
                left.num_days()
            ));
        }
    }
    if let Some(renew) = cert.status.renewal_time.filter(|r| *r < at) {
        parts.push(format!(
            "renewal due since {} not done",
            renew.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if let Some(n) = cert.status.failed_issuance_attempts.filter(|n| *n > 0) {
        parts.push(format!("{n} failed issuance attempts"));
    }
    parts.join(", ")
}

/// Why an issuer is not Ready, from its condition or, when it was not read, its warnings.
fn issuer_trouble(w: &World, issuer: &ResourceRef) -> Option<String> {
    let obj = w.get(&issuer.kind, issuer.namespace.as_deref(), &issuer.name);
    if let Some(i) = obj.and_then(|o| typed::<Conditioned>(o, &issuer.kind)) {
        return ready(&i.status.conditions)
            .filter(|c| c.status != "True")
            .map(says);
    }
    if w.is_missing(&issuer.kind, issuer.namespace.as_deref(), &issuer.name) {
        return Some(format!("{} {} does not exist", issuer.kind, issuer.name));
    }
    w.events_about(&issuer.kind, &issuer.name)
        .find(|e| e.type_ == "Warning")
        .map(|e| format!("{}: {}", e.reason, e.message))
}

/// An Order that is not valid, through its challenges: which one is stuck, its reason,
/// and for HTTP-01 through an Ingress, whether any controller serves the solver's class.
fn acme_trouble(
    w: &World,
    order: &Acme,
    ns: Option<&str>,
    cert: &str,
    issuer: &ResourceRef,
    chain: &[(ResourceRef, String)],
) -> Option<Trouble> {
    let state = order.status.state.as_deref().unwrap_or("unknown");
    if state == "valid" {
        return None;
    }
    let mut chain = chain.to_vec();
    let o_ref = ResourceRef::new("Order", ns, &order.metadata.name);
    let reason = order.status.reason.clone().unwrap_or_default();
    chain.push((
        o_ref.clone(),
        format!("state {state} {reason}").trim().to_string(),
    ));
    let challenge = all::<Acme>(w, "Challenge", ns).find(|c| {
        owned_by(&c.metadata, "Order", &order.metadata.name)
            && c.status.state.as_deref() != Some("valid")
    });
    let Some(ch) = challenge else {
        return Some(Trouble {
            culprit: ResourceRef::new("Certificate", ns, cert),
            detail: format!("ACME order {} is {state}: {reason}", order.metadata.name),
            chain,
            specificity: 0.65,
        });
    };
    let kind = ch
        .spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ACME");
    let dns = ch
        .spec
        .get("dnsName")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let ch_state = ch.status.state.as_deref().unwrap_or("pending");
    let ch_reason = ch.status.reason.clone().unwrap_or_default();
    chain.push((
        ResourceRef::new("Challenge", ns, &ch.metadata.name),
        format!("{kind} challenge for {dns} {ch_state}: {ch_reason}"),
    ));
    let mut detail = format!("the {kind} challenge for {dns} is {ch_state}: {ch_reason}");
    let mut culprit = ResourceRef::new("Certificate", ns, cert);
    let mut specificity = 0.7;
    if let Some(class) = solver_class(&ch.spec)
        && let Some(unserved) = unserved_class(w, &class)
    {
        detail.push_str(&format!(
            "; its solver makes Ingresses of class {class}, {unserved}"
        ));
        // The solver's settings live in the issuer: that is what to change.
        culprit = issuer.clone();
        specificity = 0.85;
    }
    Some(Trouble {
        culprit,
        detail,
        chain,
        specificity,
    })
}

/// The ingress class an HTTP-01 solver creates its Ingresses with.
fn solver_class(spec: &Value) -> Option<String> {
    let ing = spec.pointer("/solver/http01/ingress")?;
    ing.get("ingressClassName")
        .or_else(|| ing.get("class"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Whether no controller serves `class`, in words: no Ingress of that class has an
/// address while Ingresses of another class do.
fn unserved_class(w: &World, class: &str) -> Option<String> {
    let mut served_other: Vec<String> = Vec::new();
    let mut of_class = 0;
    for o in w.of_kind("Ingress", None) {
        let KubeObject::Ingress(i) = o else { continue };
        let c = i
            .spec
            .as_ref()
            .and_then(|s| s.ingress_class_name.clone())
            .or_else(|| {
                i.metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("kubernetes.io/ingress.class").cloned())
            })
            .unwrap_or_default();
        let addressed = i
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.as_ref())
            .is_some_and(|v| !v.is_empty());
        if c == class {
            of_class += 1;
            if addressed {
                return None;
            }
        } else if addressed && !c.is_empty() && !served_other.contains(&c) {
            served_other.push(c);
        }
    }
    if of_class == 0 || served_other.is_empty() {
        return None;
    }
    Some(format!(
        "which no ingress controller serves: no Ingress of class {class} has an address, while Ingresses of class {} do",
        served_other.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn other(kind: &str, v: Value) -> KubeObject {
        KubeObject::parse(kind, v)
    }

    #[test]
    fn a_certificate_reads_its_state_against_the_alert() {
        let c: Certificate = typed(
            &other(
                "Certificate",
                json!({"metadata": {"name": "api", "namespace": "web"},
                   "spec": {"secretName": "api-tls", "issuerRef": {"kind": "ClusterIssuer", "name": "le"}},
                   "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}],
                              "notAfter": "2025-07-27T03:12:44Z", "renewalTime": "2025-06-27T03:12:44Z"}}),
            ),
            "Certificate",
        )
        .unwrap();
        let at = "2025-07-06T03:12:44Z".parse().unwrap();
        let s = cert_state(&c, at);
        assert!(s.contains("expires 2025-07-27 03:12 UTC (21 days"), "{s}");
        assert!(s.contains("renewal due since 2025-06-27"), "{s}");
        assert_eq!(issuer_of(&c), ResourceRef::new("ClusterIssuer", None, "le"));
        // Another kind's JSON is not a Certificate.
        assert!(typed::<Certificate>(&other("Order", json!({})), "Certificate").is_none());
    }
}
