//! Routes to a host, read from their objects: an Ingress (any controller's), the
//! Gateway API's HTTPRoute (hostnames, rules' backendRefs, the ResolvedRefs condition
//! its controller sets) and Traefik's IngressRoute (`Host(...)` matches, services,
//! middlewares). What is wrong with one is checked against what the walk read of its
//! namespace: a backend Service that does not exist, a port the Service does not serve,
//! a middleware that does not exist, or a controller that says the refs do not resolve.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// The route kinds of other controllers read.
pub const KINDS: &[&str] = &["HTTPRoute", "IngressRoute"];

static HOST: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"Host\(\s*((?:`[^`]+`\s*,?\s*)+)\)").ok());

/// One backend a route sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub service: String,
    /// Another namespace, when the route names one.
    pub namespace: Option<String>,
    /// A port number or name.
    pub port: Option<String>,
}

/// A route, typed.
#[derive(Debug, Clone)]
pub struct Route {
    pub reference: ResourceRef,
    pub hosts: Vec<String>,
    pub backends: Vec<Backend>,
    pub middlewares: Vec<String>,
    /// What its controller says when references do not resolve.
    pub unresolved: Option<String>,
}

fn port_of(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn strs(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// An Ingress as a route: its rules' hosts and backend Services.
fn from_ingress(o: &KubeObject, i: &k8s_openapi::api::networking::v1::Ingress) -> Route {
    let spec = i.spec.as_ref();
    let rules = spec.iter().flat_map(|s| s.rules.iter().flatten());
    Route {
        reference: o.reference(),
        hosts: rules
            .clone()
            .filter_map(|r| r.host.as_deref().map(str::to_ascii_lowercase))
            .collect(),
        backends: rules
            .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
            .map(|p| &p.backend)
            .chain(spec.and_then(|s| s.default_backend.as_ref()))
            .filter_map(|b| b.service.as_ref())
            .map(|b| Backend {
                service: b.name.clone(),
                namespace: None,
                port: b
                    .port
                    .as_ref()
                    .and_then(|p| p.number.map(|n| n.to_string()).or_else(|| p.name.clone())),
            })
            .collect(),
        middlewares: Vec::new(),
        unresolved: None,
    }
}

/// An HTTPRoute, an IngressRoute or an Ingress as a route; `None` for other objects.
pub fn route(o: &KubeObject) -> Option<Route> {
    if let KubeObject::Ingress(i) = o {
        return Some(from_ingress(o, i));
    }
    let KubeObject::Other { kind, value } = o else {
        return None;
    };
    let mut r = Route {
        reference: o.reference(),
        hosts: Vec::new(),
        backends: Vec::new(),
        middlewares: Vec::new(),
        unresolved: None,
    };
    let spec = &value["spec"];
    let service = |b: &Value| -> Option<Backend> {
        let kind = b["kind"].as_str().unwrap_or("Service");
        (kind == "Service").then(|| Backend {
            service: b["name"].as_str().unwrap_or_default().to_string(),
            namespace: b["namespace"].as_str().map(str::to_string),
            port: port_of(&b["port"]),
        })
    };
    match kind.as_str() {
        "HTTPRoute" => {
            r.hosts = strs(&spec["hostnames"])
                .filter_map(|h| h.as_str().map(str::to_ascii_lowercase))
                .collect();
            r.backends = strs(&spec["rules"])
                .flat_map(|rule| strs(&rule["backendRefs"]))
                .filter_map(service)
                .collect();
            r.unresolved = strs(&value["status"]["parents"])
                .flat_map(|p| strs(&p["conditions"]))
                .find(|c| c["type"] == "ResolvedRefs" && c["status"] == "False")
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["reason"].as_str().unwrap_or("ResolvedRefs False"),
                        c["message"].as_str().unwrap_or_default()
                    )
                });
        }
        "IngressRoute" => {
            for rt in strs(&spec["routes"]) {
                if let (Some(m), Some(re)) = (rt["match"].as_str(), HOST.as_ref()) {
                    for c in re.captures_iter(m) {
                        r.hosts.extend(
                            c[1].split('`')
                                .map(|h| h.trim().trim_matches(',').trim())
                                .filter(|h| !h.is_empty())
                                .map(str::to_ascii_lowercase),
                        );
                    }
                }
                r.backends.extend(strs(&rt["services"]).filter_map(service));
                r.middlewares.extend(
                    strs(&rt["middlewares"]).filter_map(|m| m["name"].as_str().map(str::to_string)),
                );
            }
        }
        _ => return None,
    }
    Some(r)
}

/// Whether a route's host name (`*.example.com` covers one label) covers `host`.
pub fn covers(name: &str, host: &str) -> bool {
    let name = name.to_ascii_lowercase();
    match name.strip_prefix("*.") {
        Some(domain) => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == domain),
        None => name == host,
    }
}

/// The routes and Ingresses read (any namespace) whose hosts cover `host`.
pub fn serving<'w>(w: &'w World, host: &'w str) -> impl Iterator<Item = Route> + 'w {
    ["Ingress", KINDS[0], KINDS[1]]
        .into_iter()
        .flat_map(move |k| w.of_kind(k, None))
        .filter_map(route)
        .filter(move |r| r.hosts.iter().any(|h| covers(h, host)))
}

/// What keeps a route from reaching its backends, from what was read of its namespace:
/// backend Services that do not exist, ports they do not serve, middlewares that do not
/// exist, and its controller's own word.
pub fn problems(w: &World, r: &Route) -> Vec<String> {
    let ns = r.reference.namespace.as_deref();
    let mut out = Vec::new();
    let services_read = w.of_kind("Service", ns).next().is_some();
    for b in &r.backends {
        let bns = b.namespace.as_deref().or(ns);
        let svc = w.get("Service", bns, &b.service);
        let Some(KubeObject::Service(sv)) = svc else {
            if services_read || w.is_missing("Service", bns, &b.service) {
                out.push(format!("its backend Service {} does not exist", b.service));
            }
            continue;
        };
        let ports: Vec<_> = sv
            .spec
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .collect();
        if let Some(p) = &b.port
            && !ports
                .iter()
                .any(|sp| sp.port.to_string() == *p || sp.name.as_deref() == Some(p.as_str()))
        {
            let have: Vec<String> = ports.iter().map(|sp| sp.port.to_string()).collect();
            out.push(format!(
                "it sends to port {p} of Service {}, which serves {}",
                b.service,
                have.join(", ")
            ));
        }
    }
    let middlewares_read = w.of_kind("Middleware", ns).next().is_some();
    for m in &r.middlewares {
        if w.get("Middleware", ns, m).is_none()
            && (middlewares_read || w.is_missing("Middleware", ns, m))
        {
            out.push(format!("its middleware {m} does not exist"));
        }
    }
    if let Some(u) = &r.unresolved
        && out.is_empty()
    {
        out.push(format!("its controller cannot resolve its backends ({u})"));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn world() -> World {
        let mut w = World::new(chrono::Utc::now(), Some("ledger".into()));
        w.absorb_objects(
            "Service",
            vec![json!({"metadata": {"name": "ledger-ui", "namespace": "ledger"},
                "spec": {"selector": {"app": "ledger-ui"}, "ports": [{"name": "http", "port": 80}]}})],
        );
        w
    }

    #[test]
    fn an_ingressroute_reads_its_hosts_services_and_middlewares() {
        let mut w = world();
        w.absorb_objects(
            "IngressRoute",
            vec![json!({"metadata": {"name": "ledger-ui-web", "namespace": "ledger"},
                "spec": {"routes": [{"match": "Host(`ledger.acme-pay.com`) && PathPrefix(`/`)", "kind": "Rule",
                    "services": [{"name": "ledger-ui", "port": 8080}], "middlewares": [{"name": "auth"}]}]}})],
        );
        let r: Vec<Route> = serving(&w, "ledger.acme-pay.com").collect();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].backends[0].port.as_deref(), Some("8080"));
        let p = problems(&w, &r[0]);
        assert!(
            p[0].contains("port 8080 of Service ledger-ui, which serves 80"),
            "{p:?}"
        );
        // Middlewares were not read: nothing said about them.
        assert_eq!(p.len(), 1);
        assert_eq!(serving(&w, "other.acme-pay.com").count(), 0);
    }

    #[test]
    fn an_httproute_to_a_missing_service_and_its_controllers_word() {
        let mut w = world();
        w.absorb_objects(
            "HTTPRoute",
            vec![json!({"metadata": {"name": "checkout-route", "namespace": "ledger"},
                "spec": {"hostnames": ["*.acme-pay.com"], "rules": [{"backendRefs": [{"name": "checkout-web", "port": 8080}]},
                    {"backendRefs": [{"name": "ledger-ui", "port": 80}]}]},
                "status": {"parents": [{"conditions": [{"type": "ResolvedRefs", "status": "False", "reason": "BackendNotFound",
                    "message": "Service \"checkout-web\" not found"}]}]}})],
        );
        let r: Vec<Route> = serving(&w, "checkout.acme-pay.com").collect();
        assert_eq!(r.len(), 1);
        assert!(
            r[0].unresolved
                .as_deref()
                .unwrap()
                .contains("BackendNotFound")
        );
        assert_eq!(
            problems(&w, &r[0]),
            ["its backend Service checkout-web does not exist"]
        );
        assert!(!covers("*.acme-pay.com", "acme-pay.com"));
    }
}
