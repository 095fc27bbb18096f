//! The model layer: the chat client, the embedders and the redactor that scrubs
//! secrets before anything reaches a model. Everything that talks to a model (the
//! agent, the index, memory) uses it; it knows nothing above it.

pub mod chat;
mod compat;
pub mod embed;
pub mod local_model;
pub mod models;
pub mod redact;
pub mod static_embed;
mod stream;
mod wire;
