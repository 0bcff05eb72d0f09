//! Quoting words for the remote shell.
//!
//! ssh joins its command words with spaces and hands the line to the remote user's shell,
//! so a word reaches the remote side intact only if it is quoted for that shell. Stage words
//! never take this road (they travel inside the agent protocol and are executed without a
//! shell); only the agent's own command line does: the remote `copipe` path (`--remote-dir`
//! may hold spaces or worse) and its fixed arguments.
//!
//! POSIX single quotes keep every byte literally except `'` itself, which is written as
//! `'\''` (close, an escaped quote, reopen). Newlines, `$`, backquotes, `;`, `*`, `\` and
//! `!` (bash only expands `!` in interactive shells) need nothing more.

/// `word` quoted for a POSIX shell: `it's` becomes `'it'\''s'`. A word made only of
/// characters no shell treats specially is left bare, so commands stay readable in logs.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        return word.to_owned();
    }
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('\'');
    for c in word.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// `words` quoted and joined into one line for the remote shell.
pub fn shell_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| shell_quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Every word survives a real `sh -c` exactly (the remote shell's job).
    #[test]
    fn words_survive_a_real_shell() {
        let words = [
            "plain",
            "",
            "two words",
            "it's",
            "''",
            "\"double\"",
            "a;b&c|d",
            "$(touch /nonexistent/x)",
            "`id`",
            "$HOME ${PATH}",
            "*?[a-z]",
            "back\\slash\\",
            "new\nline",
            "tab\there",
            "!bang #hash ~tilde",
            "<in >out 2>&1",
            "(sub) {brace}",
            "ünïcödé ✓",
        ];
        let line = format!("printf '%s\\0' {}", shell_line(&words));
        let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
        assert!(out.status.success(), "{line}");
        let got: Vec<&str> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .split_terminator('\0')
            .collect();
        assert_eq!(got, words);
    }

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(
            shell_quote("/opt/copipe/bin/copipe"),
            "/opt/copipe/bin/copipe"
        );
        assert_eq!(shell_quote("route=22"), "route=22");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote(""), "''");
    }
}
