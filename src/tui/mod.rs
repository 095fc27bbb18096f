//! The terminal UI: one select! loop over terminal input and agent events; panes are
//! reducers over [`crate::protocol::Event`] plus pure render functions.
