//! The `:` command palette: type a command (prefix or fuzzy), Tab completes, Enter runs.
//! Commands become [`AppCommand`]s for the launcher; the view itself changes nothing.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::dialog::{hint_line, popup_block, title};
use super::outcome::Outcome;
use crate::tui::event::{AppCommand, UiOutput};
use crate::tui::keymap::{Action, Context};
use crate::tui::panes::Ctx;
use crate::tui::state::{AppState, NoticeLevel};
use crate::tui::widgets::text_input::TextInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaletteCommand {
    pub name: &'static str,
    pub args: &'static str,
    pub desc: &'static str,
}

pub const COMMANDS: &[PaletteCommand] = &[
    PaletteCommand {
        name: "ctx",
        args: "[NAME]",
        desc: "Switch the kube context",
    },
    PaletteCommand {
        name: "ns",
        args: "[NAME]",
        desc: "Switch the namespace",
    },
    PaletteCommand {
        name: "model",
        args: "[NAME|offline]",
        desc: "Switch the model",
    },
    PaletteCommand {
        name: "replay",
        args: "[FILE]",
        desc: "Read the cluster from a recorded snapshot",
    },
    PaletteCommand {
        name: "index",
        args: "",
        desc: "Refresh the repo index",
    },
    PaletteCommand {
        name: "memory",
        args: "[QUERY]",
        desc: "Browse or search memories",
    },
    PaletteCommand {
        name: "forget",
        args: "ID",
        desc: "Delete a memory",
    },
    PaletteCommand {
        name: "sessions",
        args: "",
        desc: "Past sessions",
    },
    PaletteCommand {
        name: "theme",
        args: "[NAME]",
        desc: "Change the theme",
    },
    PaletteCommand {
        name: "quit",
        args: "",
        desc: "Quit triage",
    },
];

/// What running the palette's text gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteResult {
    Command(AppCommand),
    Quit,
    /// Nothing matched; the text is echoed in a notice.
    Unknown(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PaletteOverlay {
    pub input: TextInput,
    pub selected: usize,
}

impl PaletteOverlay {
    pub fn new() -> Self {
        Self {
            input: TextInput::single_line(),
            selected: 0,
        }
    }

    fn word(&self) -> &str {
        self.input
            .text()
            .trim_start()
            .split(' ')
            .next()
            .unwrap_or("")
    }

    /// Commands matching the first word: prefix matches first, then in-order (fuzzy) ones.
    pub fn matches(&self) -> Vec<&'static PaletteCommand> {
        let w = self.word().to_lowercase();
        let typed_args = self.input.text().trim_start().contains(' ');
        let mut prefix: Vec<_> = COMMANDS.iter().filter(|c| c.name.starts_with(&w)).collect();
        if typed_args {
            // Once arguments follow, only an exact name (or a unique prefix) counts.
            if let Some(exact) = COMMANDS.iter().find(|c| c.name == w) {
                return vec![exact];
            }
            return prefix;
        }
        let fuzzy = COMMANDS
            .iter()
            .filter(|c| !c.name.starts_with(&w) && is_subsequence(&w, c.name));
        prefix.extend(fuzzy);
        prefix
    }

    pub fn select_next(&mut self) {
        let n = self.matches().len();
        if n > 0 {
            self.selected = (self.selected + 1) % n;
        }
    }

    pub fn select_prev(&mut self) {
        let n = self.matches().len();
        if n > 0 {
            self.selected = (self.selected + n - 1) % n;
        }
    }

    /// Tab: replace the first word with the selected command's name.
    pub fn complete(&mut self) {
        let matches = self.matches();
        if let Some(c) = matches.get(self.selected.min(matches.len().saturating_sub(1))) {
            let rest = self
                .input
                .text()
                .trim_start()
                .split_once(' ')
                .map(|(_, r)| r.to_string())
                .unwrap_or_default();
            self.input.set(&format!("{} {rest}", c.name));
            self.selected = 0;
        }
    }

    /// Called after the text changed: keep the selection in range.
    pub fn edited(&mut self) {
        self.selected = 0;
    }

    /// Enter: the command for the typed text (or the selected match).
    pub fn run(&self) -> PaletteResult {
        let text = self.input.text().trim();
        let (word, arg) = match text.split_once(' ') {
            Some((w, a)) => (w, Some(a.trim().to_string()).filter(|a| !a.is_empty())),
            None => (text, None),
        };
        let matches = self.matches();
        let cmd = COMMANDS
            .iter()
            .find(|c| c.name == word)
            .or_else(|| matches.get(self.selected).copied());
        let Some(cmd) = cmd else {
            return PaletteResult::Unknown(text.to_string());
        };
        PaletteResult::Command(match cmd.name {
            "ctx" => AppCommand::Context { name: arg },
            "ns" => AppCommand::Namespace { name: arg },
            "model" => AppCommand::Model { name: arg },
            "replay" => AppCommand::Replay { file: arg },
            "index" => AppCommand::Index,
            "memory" => AppCommand::Memory { query: arg },
            "forget" => AppCommand::Forget { id: arg },
            "sessions" => AppCommand::Sessions,
            "theme" => AppCommand::Theme { name: arg },
            _ => return PaletteResult::Quit,
        })
    }

    /// A key in the palette: move through the matches, complete, run, or close.
    pub fn handle(&mut self, action: Action, state: &mut AppState) -> Outcome {
        match action {
            Action::SelectNext | Action::HistoryNext => self.select_next(),
            Action::SelectPrev | Action::HistoryPrev => self.select_prev(),
            Action::Complete => self.complete(),
            Action::Close => return Outcome::Close(Vec::new()),
            Action::Submit => {
                return match self.run() {
                    PaletteResult::Command(c @ AppCommand::Memory { .. }) => {
                        Outcome::MemoryBrowser(vec![UiOutput::Command(c)])
                    }
                    PaletteResult::Command(c) => Outcome::Close(vec![UiOutput::Command(c)]),
                    PaletteResult::Quit => Outcome::Close(UiOutput::quit()),
                    PaletteResult::Unknown(text) => {
                        state.notify(
                            NoticeLevel::Warning,
                            format!("no command \"{text}\": try ctx, ns, model, replay, index, memory, forget, sessions, theme, quit"),
                        );
                        Outcome::Close(Vec::new())
                    }
                };
            }
            Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Palette => {}
            _ => return Outcome::Pass,
        }
        Outcome::Stay
    }
}

fn is_subsequence(needle: &str, hay: &str) -> bool {
    let mut it = hay.chars();
    needle.chars().all(|c| it.any(|h| h == c))
}

pub fn render(ctx: &Ctx, ov: &PaletteOverlay, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let matches = ov.matches();
    let width = area.width.saturating_sub(4).clamp(20, 64).min(area.width);
    let list_h = matches.len().max(1) as u16;
    let height = (list_h + 5).min(area.height);
    let x = area.x + (area.width - width) / 2;
    let y = area.y + (area.height.saturating_sub(height)) / 4;
    let rect = Rect::new(x, y, width, height);
    Clear.render(rect, buf);
    let block = popup_block(ctx, title(ctx, "Command".into()));
    let inner = block.inner(rect);
    block.render(rect, buf);
    if inner.height == 0 || inner.width < 3 {
        return None;
    }
    Line::from(Span::styled(":", ctx.style("ui.hint.key")))
        .render(Rect::new(inner.x, inner.y, 1, 1), buf);
    let cursor = ov.input.render(
        Rect::new(inner.x + 1, inner.y, inner.width - 1, 1),
        buf,
        ctx.style("ui.text"),
    );
    let list_top = inner.y + 2;
    let w = ov.word().len();
    if matches.is_empty() && inner.height > 2 {
        Line::from(Span::styled("No such command", ctx.style("ui.text.dim")))
            .render(Rect::new(inner.x, list_top, inner.width, 1), buf);
    }
    for (i, c) in matches.iter().enumerate() {
        let row_y = list_top + i as u16;
        if row_y >= inner.y + inner.height.saturating_sub(1) {
            break;
        }
        let lit = c.name.starts_with(ov.word());
        let (head, tail) = if lit {
            c.name.split_at(w.min(c.name.len()))
        } else {
            ("", c.name)
        };
        let line = Line::from(vec![
            Span::styled(head.to_string(), ctx.style("ui.palette.match")),
            Span::styled(
                format!("{tail:<width$}", width = 9 - head.len().min(9)),
                ctx.style("ui.text"),
            ),
            Span::styled(format!("{:<16}", c.args), ctx.style("ui.text.dim")),
            Span::styled(c.desc, ctx.style("ui.text")),
        ]);
        let row = Rect::new(inner.x, row_y, inner.width, 1);
        line.render(row, buf);
        if i == ov.selected {
            buf.set_style(row, ctx.style("ui.selection"));
        }
    }
    let keys = |a: Action| ctx.keymap.hint(&[Context::Palette], a);
    hint_line(
        ctx,
        &[
            (keys(Action::Submit), "run"),
            (keys(Action::Complete), "complete"),
            (keys(Action::Close), "close"),
        ],
    )
    .render(
        Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1),
        buf,
    );
    cursor
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> PaletteOverlay {
        let mut p = PaletteOverlay::new();
        p.input.set(s);
        p
    }

    #[test]
    fn prefix_then_fuzzy_matches() {
        assert_eq!(typed("m").matches()[0].name, "model");
        assert_eq!(typed("m").matches()[1].name, "memory");
        assert!(typed("ses").matches().iter().any(|c| c.name == "sessions"));
        // Fuzzy: "mmr" is in order in "memory".
        assert_eq!(typed("mmr").matches()[0].name, "memory");
        assert!(typed("zzz").matches().is_empty());
        assert_eq!(typed("").matches().len(), COMMANDS.len());
    }

    #[test]
    fn run_parses_arguments() {
        assert_eq!(
            typed("ns shop").run(),
            PaletteResult::Command(AppCommand::Namespace {
                name: Some("shop".into())
            })
        );
        assert_eq!(
            typed("ctx").run(),
            PaletteResult::Command(AppCommand::Context { name: None })
        );
        assert_eq!(
            typed("the").run(),
            PaletteResult::Command(AppCommand::Theme { name: None })
        );
        assert_eq!(typed("quit").run(), PaletteResult::Quit);
        assert_eq!(
            typed("frobnicate x").run(),
            PaletteResult::Unknown("frobnicate x".into())
        );
    }

    #[test]
    fn tab_completes_the_selected_command() {
        let mut p = typed("rep");
        p.complete();
        assert_eq!(p.input.text(), "replay ");
    }
}
