//! Certificates cert-manager manages, in the planner: which Certificate an alert names
//! (cert-manager's metrics label it `name`, with the application's namespace in
//! `exported_namespace`), and the reads that follow one: its requests, ACME orders and
//! challenges, its issuer and the Secret it writes (metadata only). An alert about
//! certificates that names no Certificate but probes a host (a blackbox URL) is scoped
//! to the Certificate whose DNS names cover that host, when that one is in trouble.

use serde_json::json;

use crate::agent::case::alert::{Alert, AlertSymptom};
use crate::agent::case::certs;
use crate::agent::case::target::Target;
use crate::agent::case::world::{Read, World};
use crate::agent::exec::{Exec, Stop};
use crate::agent::tools::ToolData;

/// The certificate name an alert's labels give: a `certificate` label, or the `name`
/// label of an alert about certificates.
fn certificate_named(alert: &Alert) -> Option<&str> {
    if let Some(v) = alert.labels.get("certificate") {
        return Some(v);
    }
    let about_certs = alert.symptom == AlertSymptom::Expiry
        || alert
            .name
            .as_deref()
            .is_some_and(|n| n.to_ascii_lowercase().contains("cert"));
    about_certs
        .then(|| alert.labels.get("name"))
        .flatten()
        .map(String::as_str)
}

/// The Certificate the alert names, read once in the alert's namespace. `None` when the
/// alert names none, the Certificate does not exist or cert-manager is not installed
/// (the read's error says which).
pub(super) async fn scope(
    exec: &mut Exec<'_>,
    alert: &Alert,
) -> Result<Option<(Target, String)>, Stop> {
    let Some(name) = certificate_named(alert).map(str::to_string) else {
        return by_host(exec, alert).await;
    };
    let ns = alert.namespace().map(str::to_string);
    let r = exec
        .tool(
            "kube_get",
            json!({"resource": "certificates", "namespace": ns, "name": name}),
        )
        .await?;
    let Ok(out) = r.output else { return Ok(None) };
    let ToolData::Objects(items) = out.data else {
        return Ok(None);
    };
    let Some(obj) = items.first() else {
        return Ok(None);
    };
    let named = obj.reference();
    let why = format!("the alert's labels name {named}");
    Ok(Some((certificate_target(named), why)))
}

/// A Certificate as the target, named by the alert.
fn certificate_target(named: crate::kube::state::ResourceRef) -> Target {
    Target {
        kind: "Certificate".into(),
        namespace: named.namespace.clone(),
        name: named.name.clone(),
        named_in_request: true,
        alerted: Some(named),
        ..Target::default()
    }
}

/// Host names in an alert's labels (a probed URL's host, a `host` or `domain` label).
pub(super) fn hosts(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in alert.labels.values() {
        let v = v.trim();
        let rest = v.split_once("://").map_or(v, |(_, r)| r);
        let host = rest
            .split(['/', ':', '?'])
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let labels: Vec<&str> = host.split('.').collect();
        let is_host = labels.len() >= 2
            && labels
                .iter()
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            && labels
                .last()
                .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
        if is_host && !out.contains(&host) {
            out.push(host);
        }
    }
    out
}

/// The cert-manager Certificate whose DNS names cover a host an alert about
/// certificates probes, when it is in trouble (not Ready, expired or its renewal
/// overdue at the alert's start): found by the host, not by a label. A healthy one is
/// not what the host serves trouble from, so the alert is scoped as before.
async fn by_host(exec: &mut Exec<'_>, alert: &Alert) -> Result<Option<(Target, String)>, Stop> {
    let about_certs = alert.symptom == AlertSymptom::Expiry;
    let hosts = hosts(alert);
    if !about_certs || hosts.is_empty() {
        return Ok(None);
    }
    let r = exec
        .tool(
            "kube_get",
            json!({"resource": "certificates", "all_namespaces": true}),
        )
        .await?;
    let Ok(out) = r.output else { return Ok(None) };
    let ToolData::Objects(items) = out.data else {
        return Ok(None);
    };
    let at = alert.starts_at.unwrap_or_else(chrono::Utc::now);
    let found = items.iter().find_map(|o| {
        let c: certs::Certificate = certs::typed(o, "Certificate")?;
        let host = hosts.iter().find(|h| {
            c.spec
                .dns_names
                .iter()
                .any(|n| crate::agent::case::routes::covers(n, h))
        })?;
        certs::in_trouble(&c, at).then(|| (o.reference(), host.clone()))
    });
    let Some((named, host)) = found else {
        return Ok(None);
    };
    let why = format!("the alert probes host {host}, which {named} covers");
    Ok(Some((certificate_target(named), why)))
}

/// For a Certificate: the requests, orders and challenges of its namespace, its issuer and
/// the Secret it writes.
pub(super) fn reads(w: &World, t: &Target, out: &mut Vec<Read>) {
    if t.kind != "Certificate" {
        return;
    }
    let ns = t.namespace.clone();
    for resource in ["certificaterequests", "orders", "challenges"] {
        out.push(Read::List {
            resource,
            namespace: ns.clone(),
            selector: None,
        });
    }
    let Some(cert) = certs::certificate(w, ns.as_deref(), &t.name) else {
        return;
    };
    let issuer = certs::issuer_of(&cert);
    if let Some(resource) = crate::agent::case::world::resource_of(&issuer.kind) {
        out.push(Read::Get {
            resource,
            namespace: issuer.namespace.clone(),
            name: issuer.name.clone(),
        });
    }
    if let Some(secret) = cert.spec.secret_name {
        out.push(Read::Get {
            resource: "secrets",
            namespace: ns,
            name: secret,
        });
    }
}
