//! The model layer: the chat client, the embedders and the redactor that scrubs
//! secrets before anything reaches a model. Everything that talks to a model (the
//! agent, the index, memory) uses it; it knows nothing above it.

pub mod chat;
pub mod embed;
pub mod redact;
