//! The cluster graph: objects as nodes, relations as edges, built from a parsed snapshot.

mod model;

pub use model::*;
