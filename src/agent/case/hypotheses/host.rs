//! A host the workload cannot reach or use, from a clue that names it: the cluster DNS
//! when names do not resolve, the client's trust bundle when the peer's issuer is
//! unknown, else the Service behind the host and the workload (or TLS Secret) at fault
//! there, or the host itself when it is outside the cluster.

use super::super::clues::{Cause, Clue, Origin};
use super::super::deps;
use super::super::objects;
use super::super::world::World;
use super::candidate::{Candidate, Facts};
use super::lookup::{config_naming, trust_bundle, workload_behind};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

pub(super) fn kind_of(o: Origin) -> EvidenceKind {
    match o {
        Origin::Log => EvidenceKind::Log,
        Origin::Event => EvidenceKind::Event,
        Origin::Status | Origin::Scheduler => EvidenceKind::Resource,
    }
}

/// A host the workload cannot use: the Service behind it and what is wrong there.
pub(super) fn from_host(
    e: &Facts<'_>,
    clue: &Clue,
    symptom: usize,
    owner: &ResourceRef,
    host: &str,
    port: Option<u16>,
) -> Vec<Candidate> {
    let w = e.world;
    let ns = owner.namespace.as_deref();
    let base = |cause: Cause, culprit: ResourceRef, detail: String| {
        Candidate::new(cause, culprit, detail, clue.specificity)
            .because(
                kind_of(clue.origin),
                clue.source.to_string(),
                clue.text.clone(),
            )
            .explaining([symptom])
            .via(owner.clone())
    };
    let hostport = match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let mut out = Vec::new();
    if matches!(clue.cause, Cause::DnsUnavailable) {
        let dns = ResourceRef::new("Deployment", Some("kube-system"), "coredns");
        out.push(
            base(
                Cause::DnsUnavailable,
                dns.clone(),
                format!("names such as {host} do not resolve: the cluster DNS does not answer"),
            )
            .checked_by(Check::PodsShow {
                reason: "kube-dns".into(),
            }),
        );
        return out;
    }
    // An issuer the client does not know: the client's trust bundle lacks the CA that
    // signed the peer's certificate (a rotated CA, a hand-kept copy).
    if clue.cause == Cause::Certificate
        && unknown_authority(&clue.text)
        && let Some(bundle) = trust_bundle(w, owner)
    {
        let detail = format!(
            "the CA bundle {} trusts does not hold the authority that signed {hostport}'s certificate (x509: certificate signed by unknown authority): the trust bundle needs the new CA",
            owner.name
        );
        let check = Check::Present {
            resource: bundle.to_string(),
            key: None,
        };
        out.push(base(Cause::Certificate, bundle, detail).checked_by(check));
        return out;
    }
    match deps::service_for(w, host, ns) {
        Some(svc) => {
            let dep = workload_behind(w, &svc);
            let detail = format!("{} ({hostport}) {}", svc.name, what_fails_in(clue));
            let culprit = match clue.cause {
                Cause::Certificate => tls_secret(w, &svc, dep.as_ref())
                    .or(dep.clone())
                    .unwrap_or(svc.clone()),
                _ => dep.clone().unwrap_or(svc.clone()),
            };
            let cause = match clue.cause {
                Cause::Certificate
                | Cause::Credentials
                | Cause::TooManyConnections
                | Cause::RateLimited
                | Cause::NameNotFound => clue.cause,
                _ => Cause::DependencyDown,
            };
            let mut c = base(cause, culprit, detail).via(svc.clone());
            c.check = dependency_check(e, &svc, dep.as_ref());
            out.push(c);
        }
        None if clue.cause == Cause::Credentials
            && let Some((secret, var)) = credentials_source(w, owner) =>
        {
            // A peer outside the cluster (a managed database) rejects what the
            // workload sends: the credentials live in the Secret its settings come
            // from, the one object here to change (its value is never read).
            let detail = format!(
                "{hostport} rejects the credentials {} sends ({}); they come from {var} of Secret {}, so the value there is stale or wrong (rotated on the other side?)",
                owner.name,
                super::super::clues::cut(credential_words(&clue.text), 90),
                secret.name
            );
            let check = Check::Present {
                resource: secret.to_string(),
                key: None,
            };
            out.push(base(Cause::Credentials, secret, detail).checked_by(check));
        }
        None => {
            // Not a Service of the cluster: a name that does not exist here, or
            // something outside.
            let (cause, culprit) = match (clue.cause, deps::cluster_name(host)) {
                (Cause::NameNotFound | Cause::ConnectionRefused, Some((name, sns))) => (
                    Cause::NameNotFound,
                    config_naming(w, owner, host).unwrap_or_else(|| {
                        ResourceRef::new("Service", sns.as_deref().or(ns), &name)
                    }),
                ),
                (cause, _) => (cause, ResourceRef::new("Host", None, host)),
            };
            let detail = format!("{hostport} {}", what_fails_in(clue));
            let mut c = base(cause, culprit, detail);
            c.specificity *= 0.85;
            out.push(c);
        }
    }
    out
}

/// The TLS Secret a Service's workload serves with: one its pods mount, else one named
/// after the Service.
fn tls_secret(w: &World, svc: &ResourceRef, dep: Option<&ResourceRef>) -> Option<ResourceRef> {
    let ns = svc.namespace.as_deref();
    let is_tls = |name: &str| match w.get("Secret", ns, name) {
        Some(KubeObject::Secret(s)) => s.type_.as_deref() == Some("kubernetes.io/tls"),
        _ => name.contains("tls") || name.contains("cert"),
    };
    let mounted = dep
        .and_then(|d| w.get(&d.kind, d.namespace.as_deref(), &d.name))
        .and_then(objects::template)
        .map(objects::spec_refs)
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.kind == "Secret" && is_tls(&r.name))
        .map(|r| ResourceRef::new("Secret", ns, &r.name));
    mounted.or_else(|| {
        w.of_kind("Secret", ns)
            .find(|o| o.name().contains(&svc.name) && is_tls(o.name()))
            .map(KubeObject::reference)
    })
}

/// A TLS error that says the issuer is not trusted (not that the certificate expired or
/// names another host).
fn unknown_authority(text: &str) -> bool {
    let t = text.to_lowercase();
    t.contains("unknown authority")
        || t.contains("unable to get local issuer")
        || t.contains("self signed certificate in certificate chain")
        || t.contains("unable to verify the first certificate")
}

/// What fails, with the server limit the message reports when it reports one.
fn what_fails_in(clue: &Clue) -> String {
    match (clue.cause, connection_limit(&clue.text)) {
        (Cause::TooManyConnections, Some(l)) => format!("has no connections left: {l} is reached"),
        _ => what_fails(clue.cause).to_string(),
    }
}

/// The server limit a refused connection reports: PostgreSQL's SQLSTATE 53300 (`too many
/// clients`, `remaining connection slots are reserved`) and MySQL's `Too many connections`
/// are max_connections; Redis's `max number of clients reached` is maxclients.
fn connection_limit(d: &str) -> Option<&'static str> {
    let l = d.to_ascii_lowercase();
    if l.contains("max number of clients") {
        Some("Redis maxclients")
    } else if l.contains("53300")
        || l.contains("remaining connection slots")
        || l.contains("too many clients")
    {
        Some("PostgreSQL max_connections")
    } else if l.contains("too many connections") {
        Some("the server's max_connections")
    } else {
        None
    }
}

fn what_fails(cause: Cause) -> &'static str {
    match cause {
        Cause::ConnectionRefused => "refuses connections",
        Cause::ConnectionTimeout => "does not answer in time",
        Cause::UpstreamErrors => "answers with errors",
        Cause::Certificate => "presents a certificate that is expired or not trusted",
        Cause::Credentials => "rejects the credentials",
        Cause::TooManyConnections => "has no connections left",
        Cause::RateLimited => "limits the request rate",
        Cause::NameNotFound => "does not resolve",
        _ => "fails",
    }
}

/// The check of a dependency: a Deployment or StatefulSet is checked where it runs
/// (`namespace/name` outside the target's namespace); other workloads are left unchecked
/// rather than contradicted by a read of a kind that is not there; a Service with no
/// workload read, by its endpoints.
fn dependency_check(e: &Facts<'_>, svc: &ResourceRef, dep: Option<&ResourceRef>) -> Check {
    let here = svc.namespace == e.target.namespace;
    match dep {
        Some(d) if matches!(d.kind.as_str(), "Deployment" | "StatefulSet") => {
            Check::DependencyDown {
                service: match (&d.namespace, here) {
                    (Some(dns), false) => format!("{dns}/{}", d.name),
                    _ => d.name.clone(),
                },
                kind: (d.kind == "StatefulSet").then(|| d.kind.clone()),
            }
        }
        Some(_) => Check::None,
        None if here => Check::ServiceEmpty {
            service: svc.name.clone(),
        },
        None => Check::None,
    }
}

/// Where a workload's credentials for a peer come from: the Secret key behind an
/// environment variable whose name says it carries them (a password, a token, a
/// connection URL or DSN), else the first Secret its environment reads. Returns the
/// Secret and `env VAR (key k)`.
fn credentials_source(w: &World, owner: &ResourceRef) -> Option<(ResourceRef, String)> {
    let spec = w
        .get(&owner.kind, owner.namespace.as_deref(), &owner.name)
        .and_then(objects::template)?;
    let carries = |n: &str| {
        let n = n.to_ascii_uppercase();
        [
            "PASSWORD",
            "PASS",
            "TOKEN",
            "SECRET",
            "CREDENTIAL",
            "DSN",
            "DATABASE_URL",
            "DB_URL",
            "_URI",
            "_URL",
            "AUTH",
        ]
        .iter()
        .any(|w| n.contains(w))
    };
    let refs: Vec<(String, String, String)> = objects::all_containers(spec)
        .flat_map(|c| c.env.iter().flatten())
        .filter_map(|e| {
            let r = e.value_from.as_ref()?.secret_key_ref.as_ref()?;
            Some((e.name.clone(), r.name.clone(), r.key.clone()))
        })
        .collect();
    let (var, secret, key) = refs
        .iter()
        .find(|(v, _, k)| carries(v) || carries(k))
        .or(refs.first())?
        .clone();
    Some((
        ResourceRef::new("Secret", owner.namespace.as_deref(), &secret),
        format!("env {var} (key {key})"),
    ))
}

/// The part of a refusal that says what was refused (`password authentication failed
/// for user "x"`), else the whole message.
fn credential_words(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    [
        "password authentication failed",
        "access denied for user",
        "wrongpass",
        "noauth",
        "invalid password",
        "invalid username",
    ]
    .iter()
    .find_map(|w| lower.find(w))
    .map_or(text, |i| &text[i..])
}

#[cfg(test)]
mod limit_tests {
    use super::connection_limit;

    #[test]
    fn names_the_connection_limit() {
        let pg = "FATAL: remaining connection slots are reserved for roles with the SUPERUSER attribute (SQLSTATE 53300)";
        assert_eq!(connection_limit(pg), Some("PostgreSQL max_connections"));
        assert_eq!(
            connection_limit("ERR max number of clients reached"),
            Some("Redis maxclients")
        );
        assert_eq!(connection_limit("connection pool exhausted"), None);
    }
}
