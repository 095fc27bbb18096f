//! The commands layer: the clap types ([`args`]) and one file per command. Nothing below
//! this layer sees a clap type; each command turns its arguments into plain values.

pub mod args;
pub mod kube;
pub mod memory;
