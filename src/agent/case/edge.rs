//! The edge: the Ingresses that route to the target and what their controller says about
//! them. An ingress controller refuses or gives up on requests by its own limits (a body
//! size, a read timeout) before the backend sees them, so the backend's pods look healthy;
//! only the controller's log (in its own namespace) names the limit, and the Ingress
//! whose host and path the request matched is where the limit is set.

use std::sync::LazyLock;

use k8s_openapi::api::networking::v1::Ingress;
use regex::Regex;

use super::objects;
use super::target::Target;
use super::world::World;
use crate::agent::tools::data::KubeObject;

/// Where an ingress class's controller runs by default, and the labels of its pods.
pub struct Controller {
    pub namespace: &'static str,
    pub selector: &'static str,
    /// Annotation prefix of its per-Ingress settings.
    pub prefix: &'static str,
}

/// Controllers by a word of their class name (`nginx`, `nginx-public`, `traefik`).
const CONTROLLERS: &[(&str, Controller)] = &[
    (
        "nginx",
        Controller {
            namespace: "ingress-nginx",
            selector: "app.kubernetes.io/name=ingress-nginx",
            prefix: "nginx.ingress.kubernetes.io/",
        },
    ),
    (
        "traefik",
        Controller {
            namespace: "traefik",
            selector: "app.kubernetes.io/name=traefik",
            prefix: "traefik.ingress.kubernetes.io/",
        },
    ),
    (
        "haproxy",
        Controller {
            namespace: "haproxy-controller",
            selector: "app.kubernetes.io/name=kubernetes-ingress",
            prefix: "haproxy.org/",
        },
    ),
];

/// The class an Ingress asks for (its field, else the legacy annotation).
pub fn class_of(i: &Ingress) -> Option<&str> {
    i.spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref())
        .or_else(|| {
            i.metadata
                .annotations
                .as_ref()?
                .get("kubernetes.io/ingress.class")
                .map(String::as_str)
        })
}

/// The controller that serves a class, by its name (`nginx` when none is given: the
/// default class of most clusters).
pub fn controller_for(class: Option<&str>) -> Option<&'static Controller> {
    let class = class.unwrap_or("nginx").to_ascii_lowercase();
    CONTROLLERS
        .iter()
        .find(|(word, _)| class.contains(word))
        .map(|(_, c)| c)
}

/// The Ingresses of the target's namespace with a path whose backend Service sends to
/// the target.
pub fn ingresses_to<'w>(w: &'w World, t: &'w Target) -> Vec<&'w KubeObject> {
    let ns = t.namespace.as_deref();
    w.of_kind("Ingress", ns)
        .filter(|o| {
            let KubeObject::Ingress(i) = o else {
                return false;
            };
            routes(i)
                .iter()
                .any(|r| serves_target(w, ns, &r.service, t))
        })
        .collect()
}

/// Whether a Service (by name) sends to the target's pods.
pub fn serves_target(w: &World, ns: Option<&str>, service: &str, t: &Target) -> bool {
    if service == t.name {
        return true;
    }
    let Some(KubeObject::Service(s)) = w.get("Service", ns, service) else {
        return false;
    };
    let Some(sel) = s.spec.as_ref().and_then(|sp| sp.selector.as_ref()) else {
        return false;
    };
    w.pods_of(&t.name, ns)
        .any(|p| crate::kube::selector::map_selects(sel, &objects::labels(&p.metadata)))
}

/// One path of an Ingress: host (empty: any), path prefix, backend Service and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub host: String,
    pub path: String,
    pub service: String,
    pub port: Option<i32>,
}

pub fn routes(i: &Ingress) -> Vec<Route> {
    let mut out = Vec::new();
    for rule in i.spec.iter().flat_map(|s| s.rules.iter().flatten()) {
        let host = rule.host.clone().unwrap_or_default();
        for p in rule.http.iter().flat_map(|h| h.paths.iter()) {
            if let Some(svc) = &p.backend.service {
                out.push(Route {
                    host: host.clone(),
                    path: p.path.clone().unwrap_or_else(|| "/".into()),
                    service: svc.name.clone(),
                    port: svc.port.as_ref().and_then(|p| p.number),
                });
            }
        }
    }
    out
}

/// The Ingress and route a request for `host` and `path` goes to, among the Ingresses
/// given (merged per host, as a controller does; matched per the Ingress spec).
pub fn route_for<'a>(
    ingresses: &[&'a KubeObject],
    host: &str,
    path: &str,
) -> Option<(&'a KubeObject, Route)> {
    let mut owners = Vec::new();
    let mut paths = Vec::new();
    for o in ingresses {
        let KubeObject::Ingress(i) = o else { continue };
        for p in crate::kube::ingress_paths::of(i).paths {
            owners.push(*o);
            paths.push(p);
        }
    }
    let (n, p) = crate::kube::ingress_paths::best(&paths, host, path)?;
    let route = Route {
        host: p.host.clone(),
        path: p.path.clone(),
        service: p.service.clone(),
        port: p.port.as_deref().and_then(|x| x.parse().ok()),
    };
    Some((owners[n], route))
}

/// What a controller refused or gave up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    /// The request body is over the limit (413).
    BodyTooLarge,
    /// The backend did not answer within the read timeout (504).
    ReadTimeout,
    /// The backend could not be connected to in time (504).
    ConnectTimeout,
    /// No backend endpoint to send to (503).
    NoUpstream,
    /// The backend refused the connection (502).
    UpstreamRefused,
    /// The TLS handshake with the backend failed: the controller speaks HTTPS (its
    /// backend-protocol) to a backend that does not (502).
    UpstreamTls,
}

impl Refusal {
    /// The per-Ingress setting that decides it, and the controller's default.
    pub fn setting(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::BodyTooLarge => Some(("proxy-body-size", "1m")),
            Self::ReadTimeout => Some(("proxy-read-timeout", "60")),
            Self::ConnectTimeout => Some(("proxy-connect-timeout", "5")),
            Self::UpstreamTls => Some(("backend-protocol", "HTTP")),
            Self::NoUpstream | Self::UpstreamRefused => None,
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::BodyTooLarge => 413,
            Self::ReadTimeout | Self::ConnectTimeout => 504,
            Self::NoUpstream => 503,
            Self::UpstreamRefused | Self::UpstreamTls => 502,
        }
    }
}

/// One refusal read in a controller's error log: what, for which host and request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub what: Refusal,
    pub host: String,
    pub path: String,
    /// The line, as the controller wrote it.
    pub line: String,
}

static NGINX_ERROR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"\[error\].*?(client intended to send too large body|upstream timed out \(\d+: [^)]*\) while reading response header|upstream timed out \(\d+: [^)]*\) while connecting|no live upstreams|connect\(\) failed \(111: [^)]*\)|SSL_do_handshake\(\) failed .*?while SSL handshaking to upstream).*?request: "[A-Z]+ ([^ "?]+)[^"]*".*?host: "([^"]+)""#,
    )
    .ok()
});

/// The refusals in an nginx controller's error lines (its access lines carry no reason).
pub fn refusals(log: &str) -> Vec<Refused> {
    let Some(re) = NGINX_ERROR.as_ref() else {
        return Vec::new();
    };
    log.lines()
        .filter_map(|l| {
            let c = re.captures(l)?;
            let what = match &c[1] {
                m if m.starts_with("client intended") => Refusal::BodyTooLarge,
                m if m.ends_with("reading response header") => Refusal::ReadTimeout,
                m if m.starts_with("upstream timed out") => Refusal::ConnectTimeout,
                m if m.starts_with("no live") => Refusal::NoUpstream,
                m if m.starts_with("SSL_do_handshake") => Refusal::UpstreamTls,
                _ => Refusal::UpstreamRefused,
            };
            Some(Refused {
                what,
                path: c[2].to_string(),
                host: c[3].to_string(),
                line: l.trim().to_string(),
            })
        })
        .collect()
}

/// An Ingress's own value of a controller setting (`proxy-body-size`), if it sets one.
pub fn setting<'a>(i: &'a Ingress, c: &Controller, key: &str) -> Option<&'a str> {
    i.metadata
        .annotations
        .as_ref()?
        .get(&format!("{}{key}", c.prefix))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ingress(name: &str, ann: serde_json::Value, path: &str, svc: &str) -> KubeObject {
        KubeObject::parse(
            "Ingress",
            json!({"metadata": {"name": name, "namespace": "media", "annotations": ann},
                "spec": {"ingressClassName": "nginx", "rules": [{"host": "api.example.tv", "http": {"paths": [
                    {"path": path, "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 8080}}}}]}}]}}),
        )
    }

    #[test]
    fn the_controller_log_names_the_limit_and_the_request_its_ingress() {
        let log = "2025/06/30 13:44:01 [error] 31#31: *4417211 client intended to send too large body: 180000000 bytes, client: 10.20.33.17, server: api.example.tv, request: \"PUT /upload/v1/parts/ab12?n=1 HTTP/1.1\", host: \"api.example.tv\"\n\
            10.20.33.17 - - [30/Jun/2025:13:44:01 +0000] \"PUT /upload/v1/parts/ab12?n=1 HTTP/1.1\" 413 176 \"-\" \"ua\" 712 0.000 [media-uploader-8080] [] - 0 - - 1f\n\
            2025/07/02 15:20:01 [error] 27#27: *2210417 upstream timed out (110: Operation timed out) while reading response header from upstream, client: 10.20.33.1, server: api.example.tv, request: \"GET /v1/catalog/exports/x?format=csv HTTP/1.1\", upstream: \"http://10.20.33.118:8080/v1/catalog/exports/x\", host: \"api.example.tv\"";
        let r = refusals(log);
        assert_eq!(r.len(), 2, "{r:?}");
        assert_eq!(r[0].what, Refusal::BodyTooLarge);
        assert_eq!(r[0].path, "/upload/v1/parts/ab12");
        assert_eq!(r[0].host, "api.example.tv");
        assert_eq!(r[1].what, Refusal::ReadTimeout);
        assert_eq!(r[1].path, "/v1/catalog/exports/x");

        let web = ingress(
            "media-web",
            json!({"nginx.ingress.kubernetes.io/proxy-body-size": "2g"}),
            "/",
            "media-api",
        );
        let upload = ingress("media-upload", json!({}), "/upload", "uploader");
        let both = [&web, &upload];
        let (o, route) = route_for(&both, "api.example.tv", "/upload/v1/parts/ab12").unwrap();
        assert_eq!(o.name(), "media-upload");
        assert_eq!(route.service, "uploader");
        let (o, _) = route_for(&both, "api.example.tv", "/uploads-old").unwrap();
        assert_eq!(o.name(), "media-web", "a prefix matches whole segments");
        let c = controller_for(Some("nginx-public")).unwrap();
        let KubeObject::Ingress(i) = &web else {
            unreachable!()
        };
        assert_eq!(setting(i, c, "proxy-body-size"), Some("2g"));
        assert_eq!(controller_for(Some("alb")).map(|c| c.namespace), None);
    }

    #[test]
    fn reads_a_failed_tls_handshake_with_the_backend() {
        let log = "2025/08/25 14:31:07 [error] 33#33: *5512231 SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream, client: 10.20.34.12, server: api.example.tv, request: \"GET /v1/videos/v1 HTTP/1.1\", upstream: \"https://10.20.33.87:8080/v1/videos/v1\", host: \"api.example.tv\"";
        let r = refusals(log);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].what, Refusal::UpstreamTls);
        assert_eq!(r[0].path, "/v1/videos/v1");
        assert_eq!(r[0].what.setting(), Some(("backend-protocol", "HTTP")));
    }
}
