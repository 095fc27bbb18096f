//! Shell words the classifier and the runner both read: operators outside quotes and
//! leading variable assignments.

/// The first operator outside quotes that chains commands, redirects, or substitutes
/// one command's output into another.
pub(super) fn shell_operator(command: &str) -> Option<&'static str> {
    let mut chars = command.chars().peekable();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        if single {
            single = c != '\'';
            continue;
        }
        match c {
            '\\' => {
                chars.next();
            }
            '\'' if !double => single = true,
            '"' => double = !double,
            '`' => return Some("`"),
            '$' if chars.peek() == Some(&'(') => return Some("$("),
            _ if double => {}
            ';' => return Some(";"),
            '\n' => return Some("newline"),
            '&' if chars.peek() == Some(&'&') => return Some("&&"),
            '&' => return Some("&"),
            '|' if chars.peek() == Some(&'|') => return Some("||"),
            '|' => return Some("|"),
            '>' => return Some(">"),
            '<' => return Some("<"),
            _ => {}
        }
    }
    None
}

pub(super) fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit()
    })
}
