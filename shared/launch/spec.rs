//! The pipeline description language: what `copipe run SPEC` reads.
//!
//! A spec is a list of statements, one per line (or separated by `;`):
//!
//! ```text
//! # The seed's broadcast: one followed log, three greps, three printers.
//! log = co-follow access-log            # a named stage: `name = command args...`
//! log | co-grep python | co-printer     # a chain: stages joined by `|`
//! log | co-grep ply    | co-printer
//! log | co-grep swig   | co-printer
//! ```
//!
//! * `name = command args...` defines a named stage (one process). A name is letters, digits,
//!   `_`, `-` and `.`, starting with a letter or `_`.
//! * Any other statement is a chain `a | b | c`. An element that is a single defined name is
//!   that stage; anything else is an inline command, a process of its own. A name used in
//!   several chains is still one process: it fans out when it feeds several stages (the
//!   launcher inserts `co-broadcast`) and fans in when several feed it (`co-merge`).
//! * Words split like shell words: `'single'` quotes keep everything, `"double"` quotes allow
//!   `\"` and `\\`, a backslash outside quotes escapes the next character. No shell is ever
//!   run, so `$`, `*` and `>` are plain characters.
//! * `#` at the start of a word starts a comment up to the end of the line.
//! * A line ending with `|` continues on the next line, and so does a line ending with `\`.
//!   `;` separates statements on one line (handy for `copipe run -e`).
//!
//! A file holding one plain chain is just a pipeline:
//! `co-xml examples/data/allroutes.xml | co-buses | co-filter route=22 | co-bus-locations`.
//!
//! Durable links and restarts (issue 14):
//!
//! * `a | nats:SUBJECT | b` puts the link from `a` to `b` on a NATS `JetStream` subject: the
//!   launcher inserts `co-nats-pub SUBJECT` after `a` and `co-nats-sub SUBJECT` before `b`
//!   (the server is `--nats URL` or `COPIPE_NATS`), and checks the kinds across it as across
//!   a pipe.
//! * `restart=on-failure[:N] command args` (first word of an element or of a definition)
//!   restarts the stage when it fails, at most N times (5 by default), with a backoff. It is
//!   allowed only on a stage whose one input and one output are `nats:` links: the stage is
//!   restarted with its two link ends, its input replayed from the start of the subject and
//!   what it already published skipped, so a restart loses and doubles nothing (the stage
//!   must be deterministic, as every copipe stage is).
//!
//! Errors carry the line and column where they were found.

use std::collections::HashMap;
use std::fmt;

/// A place in the spec text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A mistake in the spec, at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub pos: Pos,
    pub message: String,
}

impl SpecError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        SpecError {
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Where a stage's process runs. A new kind of placement is a new variant here, and one arm
/// in [`super::find::Finder::locate`] (finding its program) and one in
/// [`super::find::Located::command`] (starting it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placement {
    /// On this machine, as a child of the launcher.
    #[default]
    Local,
    /// On another host (whatever `ssh` accepts: `user@host`, an alias of `~/.ssh/config`),
    /// started by that host's agent: `name@host = command args` ([`crate::remote`]).
    Remote(String),
}

/// What carries a link's events at run time. A new kind of link is a new variant here and
/// one arm in [`super::spawn`] (making the link's two ends).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Carrier {
    /// An anonymous pipe between two children of the launcher.
    #[default]
    Pipe,
    /// A NATS `JetStream` subject (`nats:SUBJECT`): the launcher inserts `co-nats-pub` and
    /// `co-nats-sub`, joined to the two stages by pipes.
    Nats(String),
}

/// A stage's restart policy: `restart=on-failure[:N]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// How many restarts at most.
    pub max: u32,
}

impl Restart {
    /// The restarts allowed when `restart=on-failure` gives no number.
    pub const DEFAULT_MAX: u32 = 5;

    /// Reads `restart=on-failure[:N]`; `None` for a word that is no restart policy.
    fn parse(word: &Word) -> Option<Result<Restart, SpecError>> {
        let rest = word
            .text
            .strip_prefix("restart=")
            .filter(|_| !word.quoted)?;
        let bad = || {
            SpecError::at(
                word.pos,
                format!(
                    "invalid restart policy {:?}: write restart=on-failure or restart=on-failure:N",
                    word.text
                ),
            )
        };
        Some(match rest.strip_prefix("on-failure") {
            Some("") => Ok(Restart {
                max: Restart::DEFAULT_MAX,
            }),
            Some(n) => n
                .strip_prefix(':')
                .and_then(|n| n.parse().ok())
                .map(|max| Restart { max })
                .ok_or_else(bad),
            None => Err(bad()),
        })
    }
}

/// One stage of the described graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSpec {
    /// The name given with `name = ...`, if any.
    pub name: Option<String>,
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Where the command starts in the text.
    pub pos: Pos,
    /// Where it runs.
    pub placement: Placement,
    /// Its restart policy, if any.
    pub restart: Option<Restart>,
}

/// A link `from | to` between two stages (indices into [`Pipeline::stages`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    pub from: usize,
    pub to: usize,
    /// Where the `|` is.
    pub pos: Pos,
    /// What carries it.
    pub carrier: Carrier,
}

/// A parsed spec: stages in order of first appearance in a chain, and the links between them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    pub stages: Vec<StageSpec>,
    pub links: Vec<LinkSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word; `quoted` when any part of it was quoted or escaped (so `=` or a name in quotes
    /// is taken literally).
    Word {
        text: String,
        quoted: bool,
        pos: Pos,
    },
    Pipe(Pos),
    /// End of a statement: a newline or `;`.
    End,
}

/// Splits the text into words, `|` and statement ends, with positions.
struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    pos: Pos,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.chars().peekable(),
            pos: Pos { line: 1, column: 1 },
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    fn tokens(mut self) -> Result<Vec<Token>, SpecError> {
        let mut tokens = Vec::new();
        while let Some(&c) = self.chars.peek() {
            let at = self.pos;
            match c {
                '\n' | ';' => {
                    self.bump();
                    tokens.push(Token::End);
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                '#' => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.bump();
                    }
                }
                '|' => {
                    self.bump();
                    tokens.push(Token::Pipe(at));
                }
                '\\' if self.continues_line() => {}
                _ => tokens.push(self.word()?),
            }
        }
        tokens.push(Token::End);
        Ok(tokens)
    }

    /// At a backslash: if a newline follows (a line continuation), skips both.
    fn continues_line(&mut self) -> bool {
        let mut ahead = self.chars.clone();
        ahead.next();
        if ahead.peek() == Some(&'\n') {
            self.bump();
            self.bump();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> Result<Token, SpecError> {
        let pos = self.pos;
        let mut text = String::new();
        let mut quoted = false;
        while let Some(&c) = self.chars.peek() {
            match c {
                c if c.is_whitespace() || c == '|' || c == ';' => break,
                '\'' => {
                    quoted = true;
                    let open = self.pos;
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some('\n') | None => {
                                return Err(SpecError::at(open, "unterminated single quote"))
                            }
                            Some(c) => text.push(c),
                        }
                    }
                }
                '"' => {
                    quoted = true;
                    let open = self.pos;
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('"') => break,
                            Some('\\') if matches!(self.chars.peek(), Some('"' | '\\')) => {
                                text.push(self.bump().expect("peeked"));
                            }
                            Some('\n') | None => {
                                return Err(SpecError::at(open, "unterminated double quote"))
                            }
                            Some(c) => text.push(c),
                        }
                    }
                }
                '\\' => {
                    quoted = true;
                    let at = self.pos;
                    self.bump();
                    match self.bump() {
                        Some('\n') => break,
                        Some(c) => text.push(c),
                        None => return Err(SpecError::at(at, "backslash at the end of the text")),
                    }
                }
                _ => {
                    self.bump();
                    text.push(c);
                }
            }
        }
        Ok(Token::Word { text, quoted, pos })
    }
}

/// A word as the parser sees it.
#[derive(Debug, Clone)]
struct Word {
    text: String,
    quoted: bool,
    pos: Pos,
}

/// A statement: a definition or a chain of elements (each a list of words).
enum Statement {
    Define {
        name: Word,
        /// The host after `@` in `name@host = ...`.
        host: Option<String>,
        command: Vec<Word>,
    },
    Chain {
        elements: Vec<Vec<Word>>,
        pipes: Vec<Pos>,
    },
}

fn is_name(word: &Word) -> bool {
    let mut chars = word.text.chars();
    !word.quoted
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn statements(tokens: Vec<Token>) -> Result<Vec<Statement>, SpecError> {
    let mut out = Vec::new();
    let mut elements: Vec<Vec<Word>> = vec![Vec::new()];
    let mut pipes: Vec<Pos> = Vec::new();
    for token in tokens {
        match token {
            Token::Word { text, quoted, pos } => elements
                .last_mut()
                .expect("never empty")
                .push(Word { text, quoted, pos }),
            Token::Pipe(pos) => {
                if elements.last().expect("never empty").is_empty() {
                    return Err(SpecError::at(pos, "missing command before `|`"));
                }
                pipes.push(pos);
                elements.push(Vec::new());
            }
            Token::End => {
                let last_empty = elements.last().expect("never empty").is_empty();
                if last_empty && !pipes.is_empty() {
                    // A line ending with `|` goes on with the next line.
                    continue;
                }
                if !last_empty {
                    out.push(statement(std::mem::take(&mut elements), pipes)?);
                }
                elements = vec![Vec::new()];
                pipes = Vec::new();
            }
        }
    }
    if let Some(&pos) = pipes.last() {
        return Err(SpecError::at(pos, "missing command after `|`"));
    }
    Ok(out)
}

fn statement(mut elements: Vec<Vec<Word>>, pipes: Vec<Pos>) -> Result<Statement, SpecError> {
    let first = &elements[0];
    let is_definition = first.len() >= 2 && !first[1].quoted && first[1].text == "=";
    if !is_definition {
        return Ok(Statement::Chain { elements, pipes });
    }
    let (name_part, host) = split_host(&first[0])?;
    if !is_name(&name_part) {
        return Err(SpecError::at(
            first[0].pos,
            format!(
                "{:?} is not a valid stage name (letters, digits, `_`, `-`, `.`, starting with a letter or `_`; quote a lone `=` argument)",
                first[0].text
            ),
        ));
    }
    if let Some(&pos) = pipes.first() {
        return Err(SpecError::at(
            pos,
            "a definition names one stage; write the chain on a line of its own",
        ));
    }
    let mut words = elements.remove(0);
    let command = words.split_off(2);
    let eq = words.pop().expect("two words");
    words.pop().expect("two words");
    let name = name_part;
    if command.is_empty() {
        return Err(SpecError::at(
            eq.pos,
            format!("missing command after `{} =`", name.text),
        ));
    }
    Ok(Statement::Define {
        name,
        host,
        command,
    })
}

/// `name@host` → (`name`, `Some(host)`); a word without `@` is a name alone. The host is
/// what `ssh` accepts (so `user@host` too: only the first `@` splits); it may not be empty
/// or start with `-` (ssh would read an option).
fn split_host(word: &Word) -> Result<(Word, Option<String>), SpecError> {
    let Some((name, host)) = word.text.split_once('@').filter(|_| !word.quoted) else {
        return Ok((word.clone(), None));
    };
    if host.is_empty() || host.starts_with('-') || host.contains(char::is_whitespace) {
        return Err(SpecError::at(
            word.pos,
            format!(
                "{host:?} is not a host name (write `name@host = command`, host as ssh takes it)"
            ),
        ));
    }
    let name = Word {
        text: name.to_owned(),
        quoted: false,
        pos: word.pos,
    };
    Ok((name, Some(host.to_owned())))
}

fn argv(words: &[Word]) -> Vec<String> {
    words.iter().map(|w| w.text.clone()).collect()
}

/// The subject of a `nats:SUBJECT` element, checked; `None` for any other element.
fn nats_subject(words: &[Word]) -> Result<Option<String>, SpecError> {
    let Some(subject) = (words[0].text.strip_prefix("nats:")).filter(|_| !words[0].quoted) else {
        return Ok(None);
    };
    if let Some(extra) = words.get(1) {
        return Err(SpecError::at(
            extra.pos,
            "a nats:SUBJECT link takes no arguments",
        ));
    }
    crate::nats::check_subject(subject).map_err(|e| SpecError::at(words[0].pos, e.to_string()))?;
    Ok(Some(subject.to_owned()))
}

/// Parses a spec into stages and links; see the module documentation for the syntax.
pub fn parse(text: &str) -> Result<Pipeline, SpecError> {
    let statements = statements(Lexer::new(text).tokens()?)?;
    // Definitions first, so a chain may use a name defined further down.
    let mut builder = Builder::new(definitions(&statements)?);
    for statement in &statements {
        if let Statement::Chain { elements, pipes } = statement {
            builder.chain(elements, pipes)?;
        }
    }
    builder.finish()
}

/// The named stages: name → (the name's word, where it runs, the command's words).
type Definitions = HashMap<String, (Word, Placement, Vec<Word>)>;

fn definitions(statements: &[Statement]) -> Result<Definitions, SpecError> {
    let mut defined = Definitions::new();
    for statement in statements {
        if let Statement::Define {
            name,
            host,
            command,
        } = statement
        {
            if let Some((first, _, _)) = defined.get(&name.text) {
                return Err(SpecError::at(
                    name.pos,
                    format!("stage {:?} is already defined at {}", name.text, first.pos),
                ));
            }
            let placement = host.clone().map_or(Placement::Local, Placement::Remote);
            defined.insert(
                name.text.clone(),
                (name.clone(), placement, command.clone()),
            );
        }
    }
    Ok(defined)
}

/// The pipeline being gathered from the chains, in order.
struct Builder {
    defined: Definitions,
    pipeline: Pipeline,
    /// The stage of each defined name used so far.
    by_name: HashMap<String, usize>,
    /// Where each link was first given.
    link_at: HashMap<(usize, usize), Pos>,
}

impl Builder {
    fn new(defined: Definitions) -> Self {
        Builder {
            defined,
            pipeline: Pipeline::default(),
            by_name: HashMap::new(),
            link_at: HashMap::new(),
        }
    }

    /// Adds a chain: its elements are stages, its `|`s (at `pipes`) links; a `nats:SUBJECT`
    /// element puts the link around it on that subject.
    fn chain(&mut self, elements: &[Vec<Word>], pipes: &[Pos]) -> Result<(), SpecError> {
        let mut previous: Option<usize> = None;
        let mut carrier = Carrier::Pipe;
        for (i, words) in elements.iter().enumerate() {
            if let Some(subject) = nats_subject(words)? {
                if previous.is_none() || i + 1 == elements.len() || carrier != Carrier::Pipe {
                    return Err(SpecError::at(
                        words[0].pos,
                        "a nats:SUBJECT link must stand between two stages (a | nats:SUBJECT | b)",
                    ));
                }
                carrier = Carrier::Nats(subject);
                continue;
            }
            let index = self.element(words)?;
            if let Some(from) = previous {
                let carrier = std::mem::take(&mut carrier);
                self.link(from, index, pipes[i - 1], carrier)?;
            }
            previous = Some(index);
        }
        Ok(())
    }

    /// The stage an element of a chain stands for: a defined name's one stage, or a new one.
    fn element(&mut self, words: &[Word]) -> Result<usize, SpecError> {
        let head = &words[0];
        if !(is_name(head) && self.defined.contains_key(&head.text)) {
            return self.push(None, words);
        }
        if let Some(extra) = words.get(1) {
            return Err(SpecError::at(
                extra.pos,
                format!(
                    "{:?} is a defined stage; a reference to it takes no arguments (quote the name to run a program called that)",
                    head.text
                ),
            ));
        }
        if let Some(&index) = self.by_name.get(&head.text) {
            return Ok(index);
        }
        let (name, placement, command) = self.defined[&head.text].clone();
        let index = self.push(Some(name.text.clone()), &command)?;
        self.pipeline.stages[index].placement = placement;
        self.by_name.insert(name.text, index);
        Ok(index)
    }

    fn push(&mut self, name: Option<String>, command: &[Word]) -> Result<usize, SpecError> {
        let at = command[0].pos;
        let restart = Restart::parse(&command[0]).transpose()?;
        let command = if restart.is_some() {
            &command[1..]
        } else {
            command
        };
        let Some(first) = command.first() else {
            return Err(SpecError::at(
                at,
                "a restart policy needs a command after it",
            ));
        };
        self.pipeline.stages.push(StageSpec {
            name,
            argv: argv(command),
            pos: first.pos,
            placement: Placement::Local,
            restart,
        });
        Ok(self.pipeline.stages.len() - 1)
    }

    fn link(
        &mut self,
        from: usize,
        to: usize,
        pos: Pos,
        carrier: Carrier,
    ) -> Result<(), SpecError> {
        if from == to {
            return Err(SpecError::at(pos, "a stage cannot feed itself"));
        }
        if let Some(first) = self.link_at.insert((from, to), pos) {
            return Err(SpecError::at(
                pos,
                format!("this link is already given at {first}"),
            ));
        }
        self.pipeline.links.push(LinkSpec {
            from,
            to,
            pos,
            carrier,
        });
        Ok(())
    }

    /// The pipeline, unless a defined stage went unused or there is no stage at all.
    fn finish(self) -> Result<Pipeline, SpecError> {
        let unused = (self.defined.values())
            .map(|(name, _, _)| name)
            .filter(|name| !self.by_name.contains_key(&name.text))
            .min_by_key(|w| (w.pos.line, w.pos.column));
        if let Some(name) = unused {
            return Err(SpecError::at(
                name.pos,
                format!("stage {:?} is defined but used in no chain", name.text),
            ));
        }
        if self.pipeline.stages.is_empty() {
            return Err(SpecError::at(
                Pos { line: 1, column: 1 },
                "the spec holds no stage",
            ));
        }
        Ok(self.pipeline)
    }
}

/// Quotes one argument for display, only when it needs it (`'direction=North Bound'`).
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./,:@%+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A command line for display: arguments quoted where needed, joined by spaces.
pub fn command_text(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(p: &Pipeline) -> Vec<Vec<&str>> {
        p.stages
            .iter()
            .map(|s| s.argv.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn a_plain_chain_is_a_pipeline() {
        let p = parse("co-lines log | co-grep python | co-printer\n").unwrap();
        assert_eq!(
            words(&p),
            [
                vec!["co-lines", "log"],
                vec!["co-grep", "python"],
                vec!["co-printer"]
            ]
        );
        let links: Vec<_> = p.links.iter().map(|l| (l.from, l.to)).collect();
        assert_eq!(links, [(0, 1), (1, 2)]);
        assert_eq!(
            p.links[0].pos,
            Pos {
                line: 1,
                column: 14
            }
        );
    }

    #[test]
    fn quotes_escapes_and_comments() {
        let p = parse(
            "co-filter \"direction=North Bound\" 'a|b' c\\ d | # comment | x\nco-printer # end\n",
        )
        .unwrap();
        assert_eq!(
            words(&p),
            [
                vec!["co-filter", "direction=North Bound", "a|b", "c d"],
                vec!["co-printer"]
            ]
        );
    }

    #[test]
    fn named_stages_are_one_process_in_several_chains() {
        let p =
            parse("src = co-lines log\nsrc | co-grep a | p\nsrc | co-grep b | p\np = co-printer")
                .unwrap();
        assert_eq!(p.stages.len(), 4);
        assert_eq!(p.stages[0].name.as_deref(), Some("src"));
        assert_eq!(p.stages[2].name.as_deref(), Some("p"));
        let links: Vec<_> = p.links.iter().map(|l| (l.from, l.to)).collect();
        assert_eq!(links, [(0, 1), (1, 2), (0, 3), (3, 2)]);
    }

    #[test]
    fn continuations_and_semicolons() {
        let p =
            parse("co-lines log |\n  co-grep a \\\n  b; x = co-printer; co-lines y | x").unwrap();
        assert_eq!(
            words(&p),
            [
                vec!["co-lines", "log"],
                vec!["co-grep", "a", "b"],
                vec!["co-lines", "y"],
                vec!["co-printer"]
            ]
        );
    }

    #[test]
    fn nats_links_and_restart_policies() {
        let p = parse("a | nats:logs.web | restart=on-failure:3 b x | nats:out | c").unwrap();
        assert_eq!(words(&p), [vec!["a"], vec!["b", "x"], vec!["c"]]);
        let carriers: Vec<_> = p
            .links
            .iter()
            .map(|l| (l.from, l.to, l.carrier.clone()))
            .collect();
        assert_eq!(
            carriers,
            [
                (0, 1, Carrier::Nats("logs.web".into())),
                (1, 2, Carrier::Nats("out".into()))
            ]
        );
        assert_eq!(p.stages[1].restart, Some(Restart { max: 3 }));
        assert_eq!(p.stages[0].restart, None);
        let p = parse(
            "g = restart=on-failure b
a | nats:i | g | nats:o | c",
        )
        .unwrap();
        assert_eq!(
            p.stages[1].restart,
            Some(Restart {
                max: Restart::DEFAULT_MAX
            })
        );
        // Quoted, the words are plain arguments.
        let p = parse("a 'nats:x' | 'restart=on-failure' b").unwrap();
        assert_eq!(
            words(&p),
            [vec!["a", "nats:x"], vec!["restart=on-failure", "b"]]
        );
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(err("nats:x | b").contains("must stand between two stages"));
        assert!(err("a | nats:x").contains("must stand between two stages"));
        assert!(err("a | nats:x y | b").starts_with("1:12: a nats:SUBJECT link takes no arguments"));
        assert!(err("a | nats:x.* | b").contains("invalid subject"));
        assert!(err("a | restart=on-failure:x b").contains("invalid restart policy"));
        assert!(err("a | restart=on-failure").contains("needs a command after it"));
    }

    #[test]
    fn errors_have_positions() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(err("a | 'b\n"), "1:5: unterminated single quote");
        assert_eq!(err("a |\n| b"), "2:1: missing command before `|`");
        assert_eq!(err("a | b |"), "1:7: missing command after `|`");
        assert_eq!(err("x = \n"), "1:3: missing command after `x =`");
        assert_eq!(
            err("x = a | b"),
            "1:7: a definition names one stage; write the chain on a line of its own"
        );
        assert_eq!(
            err("x = a\nx = b\nx"),
            "2:1: stage \"x\" is already defined at 1:1"
        );
        assert_eq!(
            err("x = a\nb | c"),
            "1:1: stage \"x\" is defined but used in no chain"
        );
        assert_eq!(err("a = b\na | a"), "2:3: a stage cannot feed itself");
        assert_eq!(
            err("a = b\nc = d\na | c\na | c"),
            "4:3: this link is already given at 3:3"
        );
        assert!(err("a = b\na x | c").starts_with("2:3: \"a\" is a defined stage"));
        assert_eq!(err("# nothing\n"), "1:1: the spec holds no stage");
    }

    #[test]
    fn display_quoting() {
        let argv = [
            "co-filter".to_string(),
            "direction=North Bound".into(),
            "it's".into(),
        ];
        assert_eq!(
            command_text(&argv),
            r"co-filter 'direction=North Bound' 'it'\''s'"
        );
    }
}
