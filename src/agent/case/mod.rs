//! The case an investigation builds: the alert as parsed, everything the walk read, what
//! is observably wrong and what the messages say, the candidate causes, the change
//! timeline and the confidence. Plain data and the analysis over it: nothing here runs a
//! tool, so the executor can carry the planner's state ([`state::PlannerState`]) and the
//! planner, which drives the executor, can build on it without either importing the other
//! back.

pub mod alert;
pub mod autoscalers;
pub mod certs;
pub mod clues;
pub mod confidence;
pub mod deps;
pub mod diagnosis;
pub mod edge;
pub mod hypotheses;
pub mod objects;
pub mod refusal;
pub mod routes;
pub mod schedule;
pub mod state;
pub mod statefulsets;
pub mod statement;
pub mod symptoms;
pub mod target;
pub mod timeline;
pub mod world;
