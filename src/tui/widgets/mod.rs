//! Building blocks shared by panes and dialogs.

pub mod highlight;
pub mod markdown;
pub mod rich;
pub mod text_input;
