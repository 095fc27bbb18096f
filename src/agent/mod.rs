//! The agent: playbooks over real tools, driven by an LLM or by the offline planner.
//! It consumes [`crate::protocol::Op`]s and emits [`crate::protocol::Event`]s; views never
//! touch the repo, the cluster or the model themselves.

pub mod actions;
pub mod alert;
pub mod audit;
pub mod case;
pub mod exec;
pub mod external;
pub mod learn;
pub mod llm_loop;
pub mod open;
pub mod planner;
pub mod playbook;
pub mod session;
pub mod shared;
pub mod tools;
