//! A dependency that answers but refuses the work, in its protocol's own words (a Redis
//! at `maxmemory` under `noeviction`, a RabbitMQ broker blocking publishers, a Postgres in
//! recovery, an Elasticsearch index made read-only): such replies name no host, so the
//! dependency is found by the protocol, through the settings the workload reaches it
//! with (`REDIS_ADDR`, `AMQP_URL`, `postgres://…`) or the one Service that speaks it.

use super::deps::{self, Peer};
use super::objects;
use super::target::Target;
use super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// A protocol: the words that name it (in a setting's name, a URL's scheme, a port's
/// name, a log line), its usual ports, and the replies its servers refuse work with.
#[derive(Debug)]
pub struct Protocol {
    pub names: &'static [&'static str],
    pub ports: &'static [i32],
    pub refusals: &'static [&'static str],
}

/// The servers' own wording of a refusal, lower-case.
pub static PROTOCOLS: [Protocol; 8] = [
    Protocol {
        names: &["redis"],
        ports: &[6379],
        refusals: &[
            "oom command not allowed",
            "readonly you can't write",
            "misconf",
            "loading redis is loading",
            "clusterdown",
            "busy redis is busy",
            "max number of clients reached",
        ],
    },
    Protocol {
        names: &["amqp", "rabbit"],
        ports: &[5672, 5671],
        refusals: &[
            "connection blocked",
            "connection.blocked",
            "blocked by server",
            "access_refused",
            "resource_locked",
            "resource-error",
        ],
    },
    Protocol {
        names: &["postgres", "psql"],
        ports: &[5432],
        refusals: &[
            "cannot execute insert in a read-only transaction",
            "cannot execute update in a read-only transaction",
            "the database system is in recovery mode",
            "the database system is shutting down",
            "could not extend file",
        ],
    },
    Protocol {
        names: &["mysql", "mariadb"],
        ports: &[3306],
        refusals: &[
            "is running with the --read-only option",
            "the table is full",
            "got error 28 from storage engine",
        ],
    },
    Protocol {
        names: &["kafka"],
        ports: &[9092, 9093],
        refusals: &[
            "not_enough_replicas",
            "notenoughreplicas",
            "kafka_storage_error",
            "kafkastorageexception",
            "message_too_large",
            "recordtoolargeexception",
        ],
    },
    Protocol {
        names: &["mongo"],
        ports: &[27017],
        refusals: &["notwritableprimary", "not master", "quota exceeded"],
    },
    Protocol {
        names: &["elasticsearch", "opensearch", "elastic"],
        ports: &[9200],
        refusals: &[
            "cluster_block_exception",
            "read-only-allow-delete",
            "es_rejected_execution_exception",
            "circuit_breaking_exception",
        ],
    },
    Protocol {
        names: &["memcache"],
        ports: &[11211],
        refusals: &["server_error out of memory"],
    },
];

/// The protocol whose refusal a line quotes, if any.
pub fn refusal(line: &str) -> Option<&'static Protocol> {
    let lower = line.to_lowercase();
    PROTOCOLS
        .iter()
        .find(|p| p.refusals.iter().any(|r| lower.contains(r)))
}

/// Whether `text` names the protocol (`REDIS_ADDR`, `amqp://`, `tcp-redis`).
fn names(p: &Protocol, text: &str) -> bool {
    let lower = text.to_lowercase();
    p.names.iter().any(|n| lower.contains(n))
}

/// The settings of the target's pod template (name, value) whose values can be read:
/// plain values and ConfigMap keys (Secrets' values are never read).
fn settings(w: &World, t: &Target) -> Vec<(String, String)> {
    let ns = t.namespace.as_deref();
    let Some(spec) = w.get(&t.kind, ns, &t.name).and_then(objects::template) else {
        return Vec::new();
    };
    let data = |name: &str| match w.get("ConfigMap", ns, name) {
        Some(KubeObject::ConfigMap(cm)) => cm.data.clone().unwrap_or_default(),
        _ => Default::default(),
    };
    let mut out = Vec::new();
    for c in objects::all_containers(spec) {
        for e in c.env.iter().flatten() {
            let from_map = e
                .value_from
                .as_ref()
                .and_then(|f| f.config_map_key_ref.as_ref());
            match (&e.value, from_map) {
                (Some(v), _) => out.push((e.name.clone(), v.clone())),
                (None, Some(r)) => {
                    if let Some(v) = data(&r.name).get(&r.key) {
                        out.push((e.name.clone(), v.clone()));
                    }
                }
                _ => {}
            }
        }
        for r in c
            .env_from
            .iter()
            .flatten()
            .filter_map(|e| e.config_map_ref.as_ref())
        {
            out.extend(data(&r.name));
        }
    }
    out
}

/// The hosts the target is configured to reach `p` at: settings whose name or value
/// names the protocol, or whose port is one of its ports.
pub fn configured(w: &World, t: &Target, p: &Protocol) -> Vec<(String, Peer)> {
    let mut out: Vec<(String, Peer)> = Vec::new();
    for (name, value) in settings(w, t) {
        let by_name = names(p, &name) || names(p, &value);
        for peer in deps::peers(&value) {
            let by_port = peer
                .port
                .is_some_and(|port| p.ports.contains(&i32::from(port)));
            if (by_name || by_port) && !out.iter().any(|(_, q)| *q == peer) {
                out.push((name.clone(), peer));
            }
        }
    }
    out
}

/// The Service read that speaks `p` (a port of its name or number), in any namespace:
/// the only one, leaving out headless twins of a Service with a cluster IP; among
/// several, the only one whose name shares a word with the Secrets the target reaches
/// that protocol through (`rabbitmq-credentials` feeding `AMQP_URL` → `rabbitmq`).
pub fn speaker(w: &World, t: &Target, p: &Protocol) -> Option<ResourceRef> {
    let speaking: Vec<(ResourceRef, bool)> = w
        .of_kind("Service", None)
        .filter_map(|o| {
            let KubeObject::Service(s) = o else {
                return None;
            };
            let spec = s.spec.as_ref()?;
            let speaks = spec.ports.iter().flatten().any(|port| {
                p.ports.contains(&port.port) || port.name.as_deref().is_some_and(|n| names(p, n))
            });
            let headless = spec.cluster_ip.as_deref() == Some("None");
            speaks.then(|| (o.reference(), headless))
        })
        .collect();
    let mut found: Vec<&ResourceRef> = speaking
        .iter()
        .filter(|(_, h)| !h)
        .map(|(r, _)| r)
        .collect();
    if found.is_empty() {
        found = speaking.iter().map(|(r, _)| r).collect();
    }
    if let [one] = found.as_slice() {
        return Some((*one).clone());
    }
    let words = secret_words(w, t, p);
    let mut named = found
        .into_iter()
        .filter(|r| words.iter().any(|word| r.name.contains(word.as_str())));
    let one = named.next()?;
    named.next().is_none().then(|| one.clone())
}

/// Generic words of Secret names that say nothing about which server they reach.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "credentials",
    "creds",
    "password",
    "config",
    "connection",
    "auth",
];

/// The words of the names of the Secrets whose keys feed the target's settings that name
/// `p` (`AMQP_URL` from `rabbitmq-credentials`): the Secret's name and the setting's name
/// only, never its value.
pub fn secret_words(w: &World, t: &Target, p: &Protocol) -> Vec<String> {
    let ns = t.namespace.as_deref();
    let Some(spec) = w.get(&t.kind, ns, &t.name).and_then(objects::template) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for r in objects::spec_refs(spec)
        .into_iter()
        .filter(|r| r.kind == "Secret")
    {
        let setting = r.via.trim_start_matches("env ");
        if !(names(p, setting)
            || names(p, &r.name)
            || r.key.as_deref().is_some_and(|k| names(p, k)))
        {
            continue;
        }
        for word in r.name.to_lowercase().split(['-', '_', '.']) {
            if word.len() >= 4 && !SECRET_WORDS.contains(&word) && !out.iter().any(|x| x == word) {
                out.push(word.to_string());
            }
        }
    }
    out
}

/// A refusal the target's log quotes, and the dependency it comes from.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub protocol: &'static Protocol,
    /// The line, and the pod whose log holds it.
    pub line: String,
    pub pod: String,
    /// The setting the host came from, when it came from one.
    pub setting: Option<String>,
    pub host: String,
}

/// Every protocol's first refusal in the target's logs (newest line first), resolved to
/// the host the target reaches that protocol at. A line that names a host is left to the
/// clues that read hosts.
pub fn refusals(w: &World, t: &Target) -> Vec<Refusal> {
    let mut out: Vec<Refusal> = Vec::new();
    for tail in w
        .logs
        .iter()
        .filter(|l| objects::named_for(&l.pod, &t.name))
    {
        for line in tail.error_lines.iter().rev() {
            let Some(p) = refusal(line) else {
                continue;
            };
            if out.iter().any(|r| std::ptr::eq(r.protocol, p)) || !deps::peers(line).is_empty() {
                continue;
            }
            let (setting, host) = match configured(w, t, p).into_iter().next() {
                Some((name, peer)) => (Some(name), peer.host),
                None => match speaker(w, t, p) {
                    Some(svc) => (
                        None,
                        format!("{}.{}", svc.name, svc.namespace.unwrap_or_default()),
                    ),
                    None => continue,
                },
            };
            out.push(Refusal {
                protocol: p,
                line: line.clone(),
                pod: tail.pod.clone(),
                setting,
                host,
            });
        }
    }
    out
}

/// The hosts the target's logs fail to reach, and those that refuse its work.
pub fn dependency_hosts(w: &World, t: &Target) -> Vec<String> {
    let mut hosts = deps::failing_hosts(w, t);
    for r in refusals(w, t) {
        if !hosts.contains(&r.host) {
            hosts.push(r.host);
        }
    }
    hosts
}

/// The settings of a dependency's containers (`--flag value` arguments, environment
/// variables) whose names share a word with what it refused, as `name value`.
pub fn settings_named(spec: &k8s_openapi::api::core::v1::PodSpec, refused: &str) -> Vec<String> {
    let words: Vec<String> = refused
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 5)
        .map(str::to_string)
        .collect();
    let named = |name: &str| {
        name.to_lowercase()
            .split(['-', '_', '.'])
            .any(|part| words.iter().any(|w| w == part))
    };
    let mut out = Vec::new();
    for c in objects::all_containers(spec) {
        let args: Vec<&String> = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .collect();
        for (i, a) in args.iter().enumerate() {
            let Some(flag) = a.strip_prefix("--") else {
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n, v.to_string()),
                None => (
                    flag,
                    args.get(i + 1)
                        .filter(|v| !v.starts_with('-'))
                        .map_or(String::new(), |v| (*v).clone()),
                ),
            };
            if named(name) {
                out.push(format!("--{name} {value}").trim_end().to_string());
            }
        }
        for e in c.env.iter().flatten().filter(|e| named(&e.name)) {
            out.push(format!("{}={}", e.name, e.value.as_deref().unwrap_or("…")));
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_read_in_their_protocols_words() {
        let line = r#"{"msg":"session save failed","err":"OOM command not allowed when used memory > 'maxmemory'."}"#;
        assert!(refusal(line).is_some_and(|p| p.names.contains(&"redis")));
        let line =
            "publish to transcode.requests: timed out waiting for the broker (connection blocked)";
        assert!(refusal(line).is_some_and(|p| p.names.contains(&"amqp")));
        assert!(refusal("GET /healthz 200").is_none());
        let redis = &PROTOCOLS[0];
        assert!(names(redis, "REDIS_ADDR") && names(redis, "tcp-redis"));
        assert!(!names(redis, "SEARCH_URL"));
    }

    fn service(ns: &str, name: &str, ip: &str, port: (&str, i32)) -> serde_json::Value {
        serde_json::json!({"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": [{"name": port.0, "port": port.1}], "selector": {"app": name}}})
    }

    fn world_of(kind: &str, items: Vec<serde_json::Value>, w: &mut World) {
        use crate::agent::case::world::Read;
        use crate::agent::tools::ToolData;
        let read = Read::ListAll {
            resource: "services",
        };
        let data = ToolData::Objects(
            items
                .into_iter()
                .map(|v| KubeObject::parse(kind, v))
                .collect(),
        );
        w.absorb(&read, Ok(&data));
    }

    #[test]
    fn the_speaker_is_found_in_any_namespace_by_port_and_secret_name() {
        let t = Target {
            kind: "Deployment".into(),
            namespace: Some("media".into()),
            name: "uploader".into(),
            ..Target::default()
        };
        let mut w = World::new(chrono::Utc::now(), Some("media".into()));
        let amqp = &PROTOCOLS[1];
        world_of(
            "Service",
            vec![
                service("data", "rabbitmq", "172.20.19.77", ("amqp", 5672)),
                service("data", "rabbitmq-headless", "None", ("amqp", 5672)),
                service("media", "uploader", "172.20.88.17", ("http", 8080)),
            ],
            &mut w,
        );
        // A headless twin does not make two speakers.
        let found = speaker(&w, &t, amqp).map(|r| r.to_string());
        assert_eq!(found.as_deref(), Some("Service/data/rabbitmq"));
        // Two brokers: the Secret the target reaches AMQP through names one of them.
        world_of(
            "Service",
            vec![service("ci", "ci-broker", "172.20.7.7", ("tcp", 5672))],
            &mut w,
        );
        assert_eq!(speaker(&w, &t, amqp), None);
        let deploy = serde_json::json!({"metadata": {"name": "uploader", "namespace": "media"},
            "spec": {"selector": {"matchLabels": {"app": "uploader"}},
                "template": {"metadata": {"labels": {"app": "uploader"}}, "spec": {"containers": [{"name": "uploader",
                    "env": [{"name": "AMQP_URL", "valueFrom": {"secretKeyRef": {"name": "rabbitmq-credentials", "key": "uri"}}},
                            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "ci-db", "key": "password"}}}]}]}}}});
        world_of("Deployment", vec![deploy], &mut w);
        assert_eq!(secret_words(&w, &t, amqp), ["rabbitmq"]);
        let found = speaker(&w, &t, amqp).map(|r| r.to_string());
        assert_eq!(found.as_deref(), Some("Service/data/rabbitmq"));
    }

    #[test]
    fn a_dependency_s_settings_named_by_its_refusal_are_quoted() {
        let spec: k8s_openapi::api::core::v1::PodSpec = serde_json::from_value(serde_json::json!({
            "containers": [{"name": "redis", "args": ["--maxmemory", "1800mb", "--maxmemory-policy", "noeviction", "--save", ""]}]
        }))
        .unwrap();
        let said = settings_named(
            &spec,
            "OOM command not allowed when used memory > 'maxmemory'.",
        );
        assert_eq!(
            said,
            ["--maxmemory 1800mb", "--maxmemory-policy noeviction"]
        );
        assert!(settings_named(&spec, "connection blocked").is_empty());
    }
}
