//! Routes to a probed host, in the planner: an alert that probes a host no Ingress of the
//! scan serves (the scan may cover only the prober's namespace) is looked up among the
//! Ingresses, the Gateway API's HTTPRoutes and Traefik's IngressRoutes of every namespace
//! (a cluster without the last two answers "not installed"). The route covering the host
//! is the target when it cannot reach its backends (a Service or port that does not
//! exist, a middleware that does not, its controller's ResolvedRefs=False); when it can,
//! the target is the workload behind its first backend Service, reached through the
//! route.

use crate::agent::case::alert::Alert;
use crate::agent::case::target::Target;
use crate::agent::case::world::{Read, World};
use crate::agent::case::{objects, routes};
use crate::agent::exec::{Exec, Stop};
use crate::agent::tools::data::KubeObject;
use crate::kube::graph::{Graph, NodeDetail};
use crate::kube::state::ResourceRef;

/// Make reads into a scratch world (scope runs before the walk's world exists).
async fn read_into(exec: &mut Exec<'_>, w: &mut World, read: Read) -> Result<(), Stop> {
    let (name, args) = read.call();
    let r = exec.tool(name, args).await?;
    match &r.output {
        Ok(out) => w.absorb(&read, Ok(&out.data)),
        Err(e) => w.absorb(&read, Err(e.as_str())),
    }
    Ok(())
}

/// The workload of `ns` whose pod template the Service's selector matches (Deployments
/// and StatefulSets of that namespace, listed once).
async fn workload_behind(
    exec: &mut Exec<'_>,
    w: &mut World,
    svc: &ResourceRef,
) -> Result<Option<ResourceRef>, Stop> {
    let Some(KubeObject::Service(s)) = w.get("Service", svc.namespace.as_deref(), &svc.name) else {
        return Ok(None);
    };
    let Some(selector) = s.spec.as_ref().and_then(|s| s.selector.clone()) else {
        return Ok(None);
    };
    for resource in ["deployments", "statefulsets"] {
        let read = Read::List {
            resource,
            namespace: svc.namespace.clone(),
            selector: None,
        };
        read_into(exec, w, read).await?;
        let kind = if resource == "deployments" {
            "Deployment"
        } else {
            "StatefulSet"
        };
        let found = w.of_kind(kind, svc.namespace.as_deref()).find(|o| {
            objects::template_labels(o)
                .is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
        });
        if let Some(o) = found {
            return Ok(Some(o.reference()));
        }
    }
    Ok(None)
}

/// The target an alert's probed host leads to, when no Ingress of the scan serves that
/// host: the Ingress or route of any namespace that does (the scan may cover only the
/// alert's namespace, a prober's).
pub(super) async fn scope(
    exec: &mut Exec<'_>,
    alert: &Alert,
    graph: Option<&Graph>,
) -> Result<Option<(Target, String)>, Stop> {
    let hosts = super::certs::hosts(alert);
    if hosts.is_empty() {
        return Ok(None);
    }
    let by_ingress = graph.is_some_and(|g| {
        g.nodes.iter().any(|n| match &n.detail {
            NodeDetail::Ingress { hosts: ih, .. } => ih
                .iter()
                .any(|h| hosts.iter().any(|x| routes::covers(h, x))),
            _ => false,
        })
    });
    if by_ingress {
        return Ok(None);
    }
    let mut w = World::new(exec.shared.tools.now(), None);
    for resource in ["ingresses", "httproutes", "ingressroutes"] {
        read_into(exec, &mut w, Read::ListAll { resource }).await?;
    }
    let Some((host, route)) = hosts
        .iter()
        .find_map(|h| routes::serving(&w, h).next().map(|r| (h.clone(), r)))
    else {
        return Ok(None);
    };
    let r = route.reference.clone();
    let ns = r.namespace.clone();
    read_into(
        exec,
        &mut w,
        Read::List {
            resource: "services",
            namespace: ns.clone(),
            selector: None,
        },
    )
    .await?;
    if !route.middlewares.is_empty() {
        read_into(
            exec,
            &mut w,
            Read::List {
                resource: "middlewares",
                namespace: ns.clone(),
                selector: None,
            },
        )
        .await?;
    }
    let broken = !routes::problems(&w, &route).is_empty();
    let behind = match route.backends.first().filter(|_| !broken) {
        Some(b) => {
            let svc = ResourceRef::new(
                "Service",
                b.namespace.as_deref().or(ns.as_deref()),
                &b.service,
            );
            workload_behind(exec, &mut w, &svc).await?
        }
        None => None,
    };
    let (kind, namespace, name) = match behind {
        Some(wl) => (wl.kind, wl.namespace, wl.name),
        None => (r.kind.clone(), r.namespace.clone(), r.name.clone()),
    };
    let t = Target {
        kind,
        namespace,
        name,
        named_in_request: true,
        alerted: Some(r.clone()),
        ..Target::default()
    };
    Ok(Some((
        t,
        format!(
            "the alert probes host {host}, which {} {} routes",
            r.kind, r.name
        ),
    )))
}

/// The route the alert came through, and the middlewares of its namespace when it
/// names some.
pub(super) fn reads(w: &World, t: &Target, out: &mut Vec<Read>) {
    let Some(a) = t
        .alerted
        .as_ref()
        .filter(|a| routes::KINDS.contains(&a.kind.as_str()))
    else {
        return;
    };
    if let Some(resource) = crate::agent::case::world::resource_of(&a.kind) {
        out.push(Read::Get {
            resource,
            namespace: a.namespace.clone(),
            name: a.name.clone(),
        });
        out.push(Read::List {
            resource: "services",
            namespace: a.namespace.clone(),
            selector: None,
        });
    }
    let names_middlewares = w
        .get(&a.kind, a.namespace.as_deref(), &a.name)
        .and_then(routes::route)
        .is_some_and(|r| !r.middlewares.is_empty());
    if names_middlewares {
        out.push(Read::List {
            resource: "middlewares",
            namespace: a.namespace.clone(),
            selector: None,
        });
    }
}
