//! Every action a key can run, with the name keymap files use and a default description.

macro_rules! actions {
    ($($variant:ident => $name:literal, $desc:literal;)*) => {
        /// What a key does. Keymap files name these in `run = "…"`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in the order the help screen lists them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in keymap files.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// Used when a user binding has no `desc`.
            pub fn default_desc(self) -> &'static str {
                match self {
                    $(Action::$variant => $desc,)*
                }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

actions! {
    Noop => "noop", "Do nothing (unbinds a bundled key)";
    Quit => "quit", "Quit triage";
    Interrupt => "interrupt", "Cancel the run; quit when idle";
    CancelRun => "cancel_run", "Cancel the run (a checkpoint is kept)";
    ContinueRun => "continue_run", "Continue after a budget stop";
    FocusNext => "focus_next", "Focus the next pane";
    FocusPrev => "focus_prev", "Focus the previous pane";
    FocusComposer => "focus_composer", "Focus the composer";
    FocusTranscript => "focus_transcript", "Focus the transcript";
    FocusTools => "focus_tools", "Focus the tools pane";
    FocusMemory => "focus_memory", "Focus the memory pane";
    FocusCheckpoints => "focus_checkpoints", "Focus the checkpoints pane";
    FocusActions => "focus_actions", "Focus the actions pane";
    Zoom => "zoom", "Zoom the focused pane";
    ScrollUp => "scroll_up", "Scroll up";
    ScrollDown => "scroll_down", "Scroll down";
    PageUp => "page_up", "Page up";
    PageDown => "page_down", "Page down";
    ScrollTop => "scroll_top", "Go to the top";
    ScrollBottom => "scroll_bottom", "Go to the bottom (follow)";
    SelectNext => "select_next", "Select the next row";
    SelectPrev => "select_prev", "Select the previous row";
    Open => "open", "Open the selected row";
    Submit => "submit", "Send (feedback while a run is active)";
    Newline => "newline", "Insert a new line";
    HistoryPrev => "history_prev", "Previous message / line up";
    HistoryNext => "history_next", "Next message / line down";
    CursorLeft => "cursor_left", "Cursor left";
    CursorRight => "cursor_right", "Cursor right";
    WordLeft => "word_left", "Cursor one word left";
    WordRight => "word_right", "Cursor one word right";
    LineStart => "line_start", "Cursor to line start";
    LineEnd => "line_end", "Cursor to line end";
    DeleteBack => "delete_back", "Delete the character before the cursor";
    DeleteForward => "delete_forward", "Delete the character under the cursor";
    DeleteWord => "delete_word", "Delete the word before the cursor";
    ClearLine => "clear_line", "Delete to the start of the line";
    Complete => "complete", "Complete the selected command";
    ApproveOnce => "approve_once", "Approve this action once";
    ApproveSession => "approve_session", "Approve this command for the session";
    Reject => "reject", "Reject, with a reason";
    EditAction => "edit_action", "Edit the command (it is proposed again)";
    Defer => "defer", "Decide later";
    Decide => "decide", "Decide on the oldest pending action";
    Help => "help", "Show key bindings";
    Palette => "palette", "Command palette";
    Filter => "filter", "Filter the focused pane";
    Preview => "preview", "Preview the selected evidence";
    Close => "close", "Close / back";
    ToggleToolOutput => "toggle_tool_output", "Show or hide tool details";
    Rewind => "rewind", "Rewind to the selected checkpoint";
    Fork => "fork", "Fork a new session from the selected checkpoint";
}

impl Action {
    /// Actions that change the world or throw work away. They must never sit on a key that
    /// other tools use for moving around (k9s users lost pods to `<C-d>`).
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            Action::Quit
                | Action::Interrupt
                | Action::CancelRun
                | Action::ApproveOnce
                | Action::ApproveSession
                | Action::Reject
                | Action::Rewind
                | Action::Fork
        )
    }

    /// Action names closest to `name`, for "did you mean" hints.
    pub fn close_matches(name: &str) -> Vec<&'static str> {
        let mut scored: Vec<(usize, &'static str)> = Action::ALL
            .iter()
            .map(|a| a.name())
            .filter_map(|candidate| {
                let d = edit_distance(name, candidate);
                let related = candidate.contains(name) || name.contains(candidate);
                (d <= 3 || (related && name.len() >= 3)).then_some((d, candidate))
            })
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, n)| n).collect()
    }
}

/// Levenshtein distance over chars; names are short so the quadratic cost is nothing.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
        }
    }

    #[test]
    fn close_matches_suggest_the_intended_action() {
        assert_eq!(Action::close_matches("aprove_once")[0], "approve_once");
        assert!(Action::close_matches("zoom_in").contains(&"zoom"));
        assert!(Action::close_matches("xxxxxxxxxxxxxxxx").is_empty());
    }
}
