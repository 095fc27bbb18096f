//! Key bindings, one section per context, yazi style:
//!
//! ```toml
//! [approval]
//! keymap = [
//!   { on = "y", run = "approve_once", desc = "Approve this action once" },
//! ]
//! ```
//!
//! A key resolves in the focused context first, then in the contexts beneath it, then in
//! `global`. A user file `<config_dir>/keymaps/<name>.toml` merges over the bundled one,
//! context by context: its bindings win for the keys it names, and `run = "noop"` unbinds.
//! Bad files are errors that name the file, the context, the key and a fix; nothing is
//! silently replaced by defaults.

mod action;
mod key;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crossterm::event::KeyEvent;
use serde::Deserialize;

pub use action::Action;
pub use key::{KeyParseError, KeySpec};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// Everywhere, after the focused context.
    Global,
    /// The message box at the bottom.
    Composer,
    /// Editing keys shared by every text field (composer, prompts, palette, filter).
    Input,
    /// Transcript and side panes.
    Panes,
    /// The approval dialog for a proposed action.
    Approval,
    /// A one-line question inside a dialog (a rejection reason, an edited command).
    Prompt,
    /// The `:` command palette.
    Palette,
    /// The `/` filter line.
    Filter,
    /// The help screen.
    Help,
    /// The code preview.
    Preview,
}

impl Context {
    pub const ALL: [Context; 10] = [
        Context::Global,
        Context::Composer,
        Context::Input,
        Context::Panes,
        Context::Approval,
        Context::Prompt,
        Context::Palette,
        Context::Filter,
        Context::Help,
        Context::Preview,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Composer => "composer",
            Context::Input => "input",
            Context::Panes => "panes",
            Context::Approval => "approval",
            Context::Prompt => "prompt",
            Context::Palette => "palette",
            Context::Filter => "filter",
            Context::Help => "help",
            Context::Preview => "preview",
        }
    }

    /// Heading on the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Composer => "Composer",
            Context::Input => "Text editing",
            Context::Panes => "Panes",
            Context::Approval => "Approval",
            Context::Prompt => "Prompt",
            Context::Palette => "Command palette",
            Context::Filter => "Filter",
            Context::Help => "Help",
            Context::Preview => "Preview",
        }
    }

    pub fn from_name(name: &str) -> Option<Context> {
        Context::ALL.into_iter().find(|c| c.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub key: KeySpec,
    pub action: Action,
    pub desc: String,
}

/// Resolved bindings for every context.
#[derive(Debug, Clone, Default)]
pub struct Keymap {
    pub name: String,
    contexts: HashMap<Context, Vec<Binding>>,
}

/// Everything that can be wrong with a keymap; each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error("cannot read keymap {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("keymap {file} is not valid TOML: {message}")]
    Syntax { file: String, message: String },
    #[error(
        "keymap {file}: unknown context [{context}]; use one of: {}",
        context_names()
    )]
    UnknownContext { file: String, context: String },
    #[error("keymap {file} [{context}] `{key}`: unknown action \"{action}\"{}; every action is listed in the bundled keymaps/default.toml", suggest(.suggestions))]
    UnknownAction {
        file: String,
        context: &'static str,
        key: String,
        action: String,
        suggestions: Vec<&'static str>,
    },
    #[error(
        "keymap {file} [{context}]: cannot parse key \"{key}\": {reason}; write keys like q, <C-c>, <S-Tab>, <F1>, <Space>"
    )]
    BadKey {
        file: String,
        context: &'static str,
        key: String,
        reason: KeyParseError,
    },
    #[error(
        "keymap {file} [{context}]: `{key}` is bound twice (to {first} and {second}); remove one of the two bindings"
    )]
    Duplicate {
        file: String,
        context: &'static str,
        key: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("keymap {file}: `inherits = \"{parent}\"` names no bundled keymap (or the chain is too deep); bundled keymaps are {}", BUNDLED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    Inherits { file: String, parent: String },
    #[error("no keymap named \"{name}\": bundled keymaps are {}; or create {}", BUNDLED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "), .user_path.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "<config dir>/keymaps/NAME.toml".into()))]
    Unknown {
        name: String,
        user_path: Option<PathBuf>,
    },
}

fn context_names() -> String {
    Context::ALL.map(Context::name).join(", ")
}

fn suggest(s: &[&str]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", s.join(" or "))
    }
}

/// Keymaps shipped inside the binary.
pub const BUNDLED: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

/// A keymap file: an optional bundled parent and one section per context.
#[derive(Deserialize)]
struct KeymapFile {
    inherits: Option<String>,
    #[serde(flatten)]
    sections: BTreeMap<String, FileSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSection {
    keymap: Vec<FileBinding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBinding {
    on: String,
    run: String,
    desc: Option<String>,
}

impl Keymap {
    /// A bundled keymap by name.
    pub fn bundled(name: &str) -> Option<Result<Keymap, KeymapError>> {
        Keymap::bundled_at_depth(name, 0)
    }

    fn bundled_at_depth(name: &str, depth: usize) -> Option<Result<Keymap, KeymapError>> {
        let (n, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
        let file = format!("<bundled>/keymaps/{n}.toml");
        Some(Keymap::parse_with_parent(n, &file, text, depth))
    }

    /// The built-in default keymap. It is checked by a test, so the fallback to an empty
    /// keymap exists only to keep this function infallible.
    pub fn default_bundled() -> Keymap {
        Keymap::bundled("default")
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// The keymap named in `[tui] keymap`: the bundled one of that name (or `default`),
    /// with `<config_dir>/keymaps/<name>.toml` merged over it when that file exists.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Keymap, KeymapError> {
        let user_path = config_dir.map(|d| d.join("keymaps").join(format!("{name}.toml")));
        let user = match &user_path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p).map_err(|source| KeymapError::Read {
                    file: p.clone(),
                    source,
                })?;
                let file = p.display().to_string();
                Some((Keymap::parse_file(&file, &text)?, file))
            }
            _ => None,
        };
        match (user, Keymap::bundled(name)) {
            // The user's file goes over the bundled keymap of the same name.
            (Some(((_, user), _)), Some(base)) => {
                let mut keymap = base?;
                keymap.merge(user);
                Ok(keymap)
            }
            // A new name: over the keymap it inherits, or the default one.
            (Some(((inherits, user), file)), None) => {
                let parent = inherits.unwrap_or_else(|| "default".to_string());
                let mut keymap =
                    Keymap::bundled(&parent).ok_or_else(|| KeymapError::Inherits {
                        file,
                        parent: parent.clone(),
                    })??;
                keymap.name = name.to_string();
                keymap.merge(user);
                Ok(keymap)
            }
            (None, Some(base)) => base,
            (None, None) => Err(KeymapError::Unknown {
                name: name.into(),
                user_path,
            }),
        }
    }

    /// Parse one keymap file on its own (its `inherits` is not applied). `file` is how
    /// errors name it.
    pub fn parse(name: &str, file: &str, text: &str) -> Result<Keymap, KeymapError> {
        let (_, mut keymap) = Keymap::parse_file(file, text)?;
        keymap.name = name.to_string();
        Ok(keymap)
    }

    /// Parse a bundled file and lay it over the bundled keymap it inherits.
    fn parse_with_parent(
        name: &str,
        file: &str,
        text: &str,
        depth: usize,
    ) -> Result<Keymap, KeymapError> {
        let (inherits, own) = Keymap::parse_file(file, text)?;
        let mut keymap =
            match inherits {
                Some(parent) if depth < 4 => Keymap::bundled_at_depth(&parent, depth + 1)
                    .ok_or_else(|| KeymapError::Inherits {
                        file: file.to_string(),
                        parent,
                    })??,
                Some(parent) => {
                    return Err(KeymapError::Inherits {
                        file: file.to_string(),
                        parent,
                    });
                }
                None => Keymap::default(),
            };
        keymap.merge(own);
        keymap.name = name.to_string();
        Ok(keymap)
    }

    fn parse_file(file: &str, text: &str) -> Result<(Option<String>, Keymap), KeymapError> {
        let raw: KeymapFile = toml::from_str(text).map_err(|e| KeymapError::Syntax {
            file: file.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let mut contexts = HashMap::new();
        for (ctx_name, section) in raw.sections {
            let context =
                Context::from_name(&ctx_name).ok_or_else(|| KeymapError::UnknownContext {
                    file: file.to_string(),
                    context: ctx_name.clone(),
                })?;
            let mut bindings: Vec<Binding> = Vec::with_capacity(section.keymap.len());
            for b in section.keymap {
                let key = KeySpec::parse(&b.on).map_err(|reason| KeymapError::BadKey {
                    file: file.to_string(),
                    context: context.name(),
                    key: b.on.clone(),
                    reason,
                })?;
                let action =
                    Action::from_name(&b.run).ok_or_else(|| KeymapError::UnknownAction {
                        file: file.to_string(),
                        context: context.name(),
                        key: b.on.clone(),
                        action: b.run.clone(),
                        suggestions: Action::close_matches(&b.run),
                    })?;
                if let Some(first) = bindings.iter().find(|x| x.key == key) {
                    return Err(KeymapError::Duplicate {
                        file: file.to_string(),
                        context: context.name(),
                        key: b.on,
                        first: first.action.name(),
                        second: action.name(),
                    });
                }
                let desc = b.desc.unwrap_or_else(|| action.default_desc().to_string());
                bindings.push(Binding { key, action, desc });
            }
            contexts.insert(context, bindings);
        }
        Ok((
            raw.inherits,
            Keymap {
                name: String::new(),
                contexts,
            },
        ))
    }

    /// Merge `over` into `self`: per context, its bindings replace ours for the same keys.
    pub fn merge(&mut self, over: Keymap) {
        for (ctx, user) in over.contexts {
            let base = self.contexts.entry(ctx).or_default();
            base.retain(|b| !user.iter().any(|u| u.key == b.key));
            let mut merged = user;
            merged.append(base);
            *base = merged;
        }
        for bindings in self.contexts.values_mut() {
            bindings.retain(|b| b.action != Action::Noop);
        }
    }

    /// The action for `key` in the first of `contexts` that binds it.
    pub fn resolve(&self, contexts: &[Context], key: &KeyEvent) -> Option<Action> {
        let spec = KeySpec::from_event(key);
        contexts
            .iter()
            .find_map(|c| self.lookup(*c, &spec))
            .filter(|a| *a != Action::Noop)
    }

    /// The action `spec` runs in one context alone.
    pub fn lookup(&self, context: Context, spec: &KeySpec) -> Option<Action> {
        self.bindings(context)
            .iter()
            .find(|b| b.key == *spec)
            .map(|b| b.action)
    }

    pub fn bindings(&self, context: Context) -> &[Binding] {
        self.contexts.get(&context).map_or(&[], Vec::as_slice)
    }

    /// The first key that runs `action` in `context`, for hints such as "y approve".
    pub fn key_for(&self, context: Context, action: Action) -> Option<KeySpec> {
        self.bindings(context)
            .iter()
            .find(|b| b.action == action)
            .map(|b| b.key)
    }

    /// Label of the first key that runs `action` in any of `contexts`.
    pub fn hint(&self, contexts: &[Context], action: Action) -> Option<String> {
        contexts
            .iter()
            .find_map(|c| self.key_for(*c, action))
            .map(|k| k.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn key(s: &str) -> KeyEvent {
        let spec = KeySpec::parse(s).unwrap();
        KeyEvent::new(spec.code, spec.mods)
    }

    #[test]
    fn every_shipped_keymap_loads_and_every_binding_has_a_description() {
        for (name, _) in BUNDLED {
            let km = Keymap::bundled(name).unwrap().unwrap();
            for ctx in Context::ALL {
                for b in km.bindings(ctx) {
                    assert!(
                        !b.desc.trim().is_empty(),
                        "{name} [{}] {}",
                        ctx.name(),
                        b.key
                    );
                }
            }
            // The essentials are reachable in every shipped keymap.
            for (ctx, action) in [
                (Context::Global, Action::Help),
                (Context::Global, Action::FocusNext),
                (Context::Composer, Action::Submit),
                (Context::Approval, Action::ApproveOnce),
                (Context::Approval, Action::Reject),
                (Context::Approval, Action::Defer),
                (Context::Prompt, Action::Submit),
                (Context::Palette, Action::Submit),
                (Context::Filter, Action::Submit),
            ] {
                assert!(
                    km.key_for(ctx, action).is_some(),
                    "{name}: {ctx:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn nothing_destructive_sits_on_a_navigation_key() {
        // Keys that other tools (vim, less, k9s, gitui) use to move around, or that are
        // pressed out of habit (Enter, Esc): an approve, reject or cancel there is a
        // 3am accident waiting to happen.
        let nav = [
            "<C-d>",
            "<C-u>",
            "<C-f>",
            "<C-b>",
            "<C-n>",
            "<C-p>",
            "j",
            "k",
            "h",
            "l",
            "g",
            "G",
            "<Up>",
            "<Down>",
            "<Left>",
            "<Right>",
            "<PageUp>",
            "<PageDown>",
            "<Home>",
            "<End>",
            "<Space>",
            "<Enter>",
            "<Esc>",
            "<Tab>",
            "<S-Tab>",
        ]
        .map(|s| KeySpec::parse(s).unwrap());
        for (name, _) in BUNDLED {
            let km = Keymap::bundled(name).unwrap().unwrap();
            for ctx in Context::ALL {
                for b in km.bindings(ctx) {
                    assert!(
                        !(b.action.is_destructive() && nav.contains(&b.key)),
                        "keymaps/{name}.toml [{}]: {} runs {} on a navigation key",
                        ctx.name(),
                        b.key,
                        b.action.name()
                    );
                }
            }
        }
    }

    #[test]
    fn context_bindings_win_over_global() {
        let km = Keymap::parse(
            "t",
            "t.toml",
            r#"
            [global]
            keymap = [{ on = "q", run = "quit", desc = "Quit" }]
            [help]
            keymap = [{ on = "q", run = "close", desc = "Close" }]
            "#,
        )
        .unwrap();
        assert_eq!(
            km.resolve(&[Context::Help, Context::Global], &key("q")),
            Some(Action::Close)
        );
        assert_eq!(
            km.resolve(&[Context::Panes, Context::Global], &key("q")),
            Some(Action::Quit)
        );
        assert_eq!(km.resolve(&[Context::Panes], &key("x")), None);
    }

    #[test]
    fn user_bindings_merge_over_bundled_per_context() {
        let mut km = Keymap::bundled("default").unwrap().unwrap();
        let user = Keymap::parse(
            "default",
            "user.toml",
            r#"
            [panes]
            keymap = [
              { on = "x", run = "zoom" },
              { on = "z", run = "noop" },
            ]
            "#,
        )
        .unwrap();
        km.merge(user);
        assert_eq!(km.resolve(&[Context::Panes], &key("x")), Some(Action::Zoom));
        assert_eq!(km.resolve(&[Context::Panes], &key("z")), None);
        // Other bindings in the context survive.
        assert_eq!(
            km.resolve(&[Context::Panes], &key("?")).is_some(),
            km.key_for(Context::Panes, Action::Help).is_some()
        );
        assert!(km.key_for(Context::Approval, Action::ApproveOnce).is_some());
    }

    #[test]
    fn load_merges_the_user_file_from_the_config_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keymaps")).unwrap();
        std::fs::write(
            dir.path().join("keymaps/default.toml"),
            "[panes]\nkeymap = [{ on = \"Z\", run = \"zoom\", desc = \"Zoom\" }]\n",
        )
        .unwrap();
        let km = Keymap::load("default", Some(dir.path())).unwrap();
        assert_eq!(km.resolve(&[Context::Panes], &key("Z")), Some(Action::Zoom));
        assert!(km.key_for(Context::Composer, Action::Submit).is_some());

        // A user keymap with a new name builds on the default one.
        std::fs::write(
            dir.path().join("keymaps/mine.toml"),
            "[panes]\nkeymap = [{ on = \"w\", run = \"zoom\" }]\n",
        )
        .unwrap();
        let km = Keymap::load("mine", Some(dir.path())).unwrap();
        assert_eq!(km.resolve(&[Context::Panes], &key("w")), Some(Action::Zoom));

        let err = Keymap::load("nope", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nope") && err.contains("default, vim"),
            "{err}"
        );
        assert!(err.contains("keymaps/nope.toml"), "{err}");
    }

    #[test]
    fn errors_name_file_context_key_and_fix() {
        let err = Keymap::parse(
            "t",
            "my.toml",
            "[approval]\nkeymap = [{ on = \"y\", run = \"aprove_once\" }]\n",
        )
        .unwrap_err()
        .to_string();
        for part in [
            "my.toml",
            "[approval]",
            "`y`",
            "aprove_once",
            "approve_once",
        ] {
            assert!(err.contains(part), "{part} missing in: {err}");
        }

        let err = Keymap::parse(
            "t",
            "my.toml",
            "[panes]\nkeymap = [{ on = \"<Ctrl-x>\", run = \"zoom\" }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("my.toml")
                && err.contains("[panes]")
                && err.contains("<Ctrl-x>")
                && err.contains("<C-c>"),
            "{err}"
        );

        let err = Keymap::parse(
            "t",
            "my.toml",
            "[panes]\nkeymap = [{ on = \"z\", run = \"zoom\" }, { on = \"z\", run = \"help\" }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("bound twice")
                && err.contains("zoom")
                && err.contains("help")
                && err.contains("`z`"),
            "{err}"
        );

        let err = Keymap::parse("t", "my.toml", "[pane]\nkeymap = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[pane]") && err.contains("panes"), "{err}");

        let err = Keymap::parse(
            "t",
            "my.toml",
            "[panes]\nkeymap = [{ on = \"z\", run = \"zoom\", descr = \"x\" }]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("my.toml") && err.contains("descr"), "{err}");
    }

    #[test]
    fn shift_tab_resolves_from_a_backtab_event() {
        let km = Keymap::default_bundled();
        let ev = KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(km.resolve(&[Context::Global], &ev), Some(Action::FocusPrev));
    }
}
