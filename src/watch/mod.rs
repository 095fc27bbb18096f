//! `triage watch`: on call without being asked. Alertmanager posts alert groups to a
//! loopback receiver; each new group becomes a background investigation (the same
//! session machinery as `ask`, read-only, within a per-investigation and a daily budget,
//! through a queue); the answer is sent (webhooks, a command, the inbox) only when its
//! confidence clears the threshold of the alert's route, and kept quiet otherwise. While
//! it runs, watches keep the cluster picture current.

pub mod alert;
pub mod events;
pub mod groups;
pub mod investigate;
pub mod notify;
pub mod queue;
pub mod receiver;
pub mod routes;
pub mod service;
mod start;

pub use start::{Flags, View, run};
