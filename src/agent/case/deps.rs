//! Dependencies named in text: hosts in environment values, ConfigMap values and log
//! lines, resolved to the Services (and so the pods) of the cluster they reach.

use std::sync::LazyLock;

use regex::Regex;

use super::clues::{self, Origin, Subject};
use super::objects;
use super::target::Target;
use super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?|grpcs?|postgres(?:ql)?|mysql|redis|rediss|amqps?|mongodb(?:\+srv)?|nats|kafka|tcp)://(?:[^@/\s]+@)?([A-Za-z0-9.-]+)(?::(\d{2,5}))?").ok()
});
static HOST_PORT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*):(\d{2,5})\b").ok()
});

/// A network peer named in text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Peer {
    pub host: String,
    pub port: Option<u16>,
}

/// Hosts named in a text: URLs and `host:port` pairs (IPs included).
pub fn peers(text: &str) -> Vec<Peer> {
    let mut out: Vec<Peer> = Vec::new();
    let mut add = |host: &str, port: Option<&str>| {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || host == "localhost" || host.starts_with("127.") || host == "0.0.0.0" {
            return;
        }
        let peer = Peer {
            host,
            port: port.and_then(|p| p.parse().ok()),
        };
        if !out.contains(&peer) {
            out.push(peer);
        }
    };
    if let Some(r) = URL.as_ref() {
        for c in r.captures_iter(text) {
            add(&c[1], c.get(2).map(|m| m.as_str()));
        }
    }
    if let Some(r) = HOST_PORT.as_ref() {
        for c in r.captures_iter(text) {
            // Times (12:30) and ratios are not hosts.
            let host = &c[1];
            if host.chars().all(|ch| ch.is_ascii_digit()) {
                continue;
            }
            add(host, Some(&c[2]));
        }
    }
    out
}

/// The in-cluster Service a host reaches, by DNS name (`name`, `name.ns`, `name.ns.svc`,
/// `name.ns.svc.cluster.local`) or by cluster IP, among the Services read.
pub fn service_for(world: &World, host: &str, default_ns: Option<&str>) -> Option<ResourceRef> {
    let host = host.trim_end_matches('.');
    let trimmed = host
        .trim_end_matches(".cluster.local")
        .trim_end_matches(".svc");
    let mut parts = trimmed.split('.');
    let name = parts.next()?;
    let ns = parts.next().or(default_ns);
    let is_ip = host.chars().all(|c| c.is_ascii_digit() || c == '.');
    world.of_kind("Service", None).find_map(|o| {
        let KubeObject::Service(s) = o else {
            return None;
        };
        let sns = s.metadata.namespace.as_deref();
        let by_name =
            !is_ip && s.metadata.name.as_deref() == Some(name) && (ns.is_none() || sns == ns);
        let by_ip = is_ip
            && s.spec
                .as_ref()
                .and_then(|sp| sp.cluster_ip.as_deref())
                .is_some_and(|ip| ip == host);
        (by_name || by_ip).then(|| o.reference())
    })
}

/// The Service name a host would be, when it looks like an in-cluster name (even if no
/// such Service was read): `payments.shop.svc` → (`payments`, `shop`).
pub fn cluster_name(host: &str) -> Option<(String, Option<String>)> {
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let in_cluster = host.ends_with(".svc")
        || host.ends_with(".svc.cluster.local")
        || !host.contains('.')
        || host.split('.').count() == 2 && !host.ends_with(".com") && !host.ends_with(".io");
    if !in_cluster {
        return None;
    }
    let trimmed = host
        .trim_end_matches(".cluster.local")
        .trim_end_matches(".svc");
    let mut parts = trimmed.split('.');
    let name = parts.next()?.to_string();
    Some((name, parts.next().map(str::to_string)))
}

/// Hosts that the target's logs say it cannot reach.
pub fn failing_hosts(w: &World, t: &Target) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for tail in &w.logs {
        if !objects::named_for(&tail.pod, &t.name) {
            continue;
        }
        let source = ResourceRef::new("Pod", t.namespace.as_deref(), &tail.pod);
        for line in &tail.error_lines {
            for c in clues::read(line, &source, Origin::Log, None) {
                if let Subject::Host { host, .. } = c.subject
                    && !hosts.contains(&host)
                {
                    hosts.push(host);
                }
            }
            // A connection error without a host in its clue: any host on the line.
            if line.to_ascii_lowercase().contains("refused")
                || line.to_ascii_lowercase().contains("timeout")
            {
                for p in peers(line) {
                    if !hosts.contains(&p.host) {
                        hosts.push(p.host);
                    }
                }
            }
        }
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_host_ports_are_peers_but_times_are_not() {
        let p = peers(
            "PAYMENTS_URL=http://payments.shop.svc:8080/v1 at 12:30 via redis://:pw@cache:6379 and 10.0.21.38:5432",
        );
        let hosts: Vec<&str> = p.iter().map(|p| p.host.as_str()).collect();
        assert_eq!(hosts, ["payments.shop.svc", "cache", "10.0.21.38"]);
        assert_eq!(p[0].port, Some(8080));
        assert_eq!(
            cluster_name("payments.shop.svc.cluster.local"),
            Some(("payments".into(), Some("shop".into())))
        );
        assert_eq!(cluster_name("api.stripe.com"), None);
        assert_eq!(cluster_name("orders-db"), Some(("orders-db".into(), None)));
    }
}
