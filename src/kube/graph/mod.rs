//! The cluster graph: objects as nodes, relations as edges. Each edge carries a layer
//! (owner references, selectors and object references are certain; a ConfigMap value
//! that mentions a service is inferred) and when it was observed.

mod build;
mod hosts;
mod model;
mod pods;
mod refs;

pub use build::{build, template_images};
pub use model::{
    ConfigReference, ContainerInfo, Edge, EventInfo, Graph, GraphNode, Layer, NodeDetail, Relation,
};
pub use pods::{container_info, pod_ready, pod_status_text};
