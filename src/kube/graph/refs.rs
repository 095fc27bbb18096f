//! What a pod refers to, as edges: ConfigMaps, Secrets and claims through volumes and
//! env, and services named in env values.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Volume};

use super::hosts::{hosts_in, service_for_host};
use super::model::{Edge, Layer, Relation};
use crate::kube::state::ResourceRef;

/// Services by (namespace, name), for host lookups.
pub(super) type Services = HashMap<(String, String), ResourceRef>;

/// What a pod refers to: ConfigMaps, Secrets and claims through volumes and env, and
/// services named in env values.
pub(super) struct PodRefs<'a> {
    pub(super) pod: &'a ResourceRef,
    pub(super) ns: String,
    pub(super) observed: DateTime<Utc>,
    pub(super) services: &'a Services,
}

impl PodRefs<'_> {
    fn uses(&self, kind: &str, name: &str, via: String) -> Edge {
        Edge {
            from: self.pod.clone(),
            to: ResourceRef::new(kind, Some(&self.ns), name),
            relation: Relation::Uses,
            layer: Layer::Certain,
            observed_at: self.observed,
            via: Some(via),
        }
    }

    pub(super) fn volume(&self, v: &Volume) -> Vec<Edge> {
        let via = || format!("volume {}", v.name);
        let mut out = Vec::new();
        if let Some(cm) = &v.config_map {
            out.push(self.uses("ConfigMap", &cm.name, via()));
        }
        if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.as_ref()) {
            out.push(self.uses("Secret", name, via()));
        }
        if let Some(pvc) = &v.persistent_volume_claim {
            out.push(self.uses("PersistentVolumeClaim", &pvc.claim_name, via()));
        }
        for src in v
            .projected
            .as_ref()
            .and_then(|p| p.sources.as_ref())
            .into_iter()
            .flatten()
        {
            if let Some(cm) = &src.config_map {
                out.push(self.uses("ConfigMap", &cm.name, via()));
            }
            if let Some(s) = &src.secret {
                out.push(self.uses("Secret", &s.name, via()));
            }
        }
        out
    }

    pub(super) fn container(&self, c: &Container) -> Vec<Edge> {
        let mut out = Vec::new();
        for ef in c.env_from.iter().flatten() {
            if let Some(cm) = &ef.config_map_ref {
                out.push(self.uses("ConfigMap", &cm.name, format!("envFrom in {}", c.name)));
            }
            if let Some(s) = &ef.secret_ref {
                out.push(self.uses("Secret", &s.name, format!("envFrom in {}", c.name)));
            }
        }
        for e in c.env.iter().flatten() {
            let via = || format!("env {} in {}", e.name, c.name);
            if let Some(src) = &e.value_from {
                if let Some(r) = &src.config_map_key_ref {
                    out.push(self.uses("ConfigMap", &r.name, via()));
                }
                if let Some(r) = &src.secret_key_ref {
                    out.push(self.uses("Secret", &r.name, via()));
                }
            }
            for host in e.value.as_deref().map(hosts_in).unwrap_or_default() {
                if let Some(svc) = service_for_host(&host, &self.ns, self.services) {
                    out.push(Edge {
                        from: self.pod.clone(),
                        to: svc.clone(),
                        relation: Relation::Mentions,
                        layer: Layer::Inferred,
                        observed_at: self.observed,
                        via: Some(via()),
                    });
                }
            }
        }
        out
    }
}
