//! Certificates cert-manager manages, in the planner: which Certificate an alert names
//! (cert-manager's metrics label it `name`, with the application's namespace in
//! `exported_namespace`), and the reads that follow one: its requests, ACME orders and
//! challenges, its issuer and the Secret it writes (metadata only).

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
        return Ok(None);
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
    let t = Target {
        kind: "Certificate".into(),
        namespace: named.namespace.clone(),
        name: named.name.clone(),
        named_in_request: true,
        alerted: Some(named.clone()),
        ..Target::default()
    };
    Ok(Some((t, format!("the alert's labels name {named}"))))
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
