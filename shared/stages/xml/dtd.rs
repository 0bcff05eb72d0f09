//! The DOCTYPE, read as expat reads it: the tokens of its prolog grammar (names, literals,
//! `<!ENTITY`, `%name;`, brackets...) and the roles each may play (the declarations of
//! XML 1.0's internal subset), so that a malformed declaration is refused where expat
//! refuses it, not at the start of the DOCTYPE.
//!
//! Where expat points, per kind of error (found by feeding it variants of each):
//!
//! * a token that may not stand where it does ("syntax error"): at the token's start;
//! * a character no token may hold ("invalid token"): at that character (a name followed
//!   by `"` or `]`, a `&` or `%` not followed by a name, a `<` in an attribute value);
//! * a literal, comment or PI that does not end: at its start ("unclosed token");
//! * a reference cut by the end of a literal: at its `&` or `%`;
//! * a character reference to a character XML does not allow: at its `&`.
//!
//! The scanner only reports what it reads ([`Decl`]); `entities.rs` keeps the declarations.
//! It works on byte indices of the DOCTYPE's text, which the caller turns into stream
//! offsets (and those into line:column) only when an error needs it.

use super::checks;

/// An error at byte `at` of the text scanned.
#[derive(Debug)]
pub struct DtdError {
    pub at: usize,
    pub message: String,
}

fn error<T>(at: usize, message: impl Into<String>) -> Result<T, DtdError> {
    Err(DtdError {
        at,
        message: message.into(),
    })
}

fn syntax<T>(at: usize) -> Result<T, DtdError> {
    error(at, "syntax error in the DOCTYPE")
}

fn invalid<T>(at: usize) -> Result<T, DtdError> {
    error(at, "not well-formed (invalid token) in the DOCTYPE")
}

/// What a declaration of the internal subset says, as the scanner reads it.
pub enum Decl<'t> {
    /// `<!ENTITY name "value">` or `<!ENTITY % name "value">`; `value` is `None` for an
    /// external entity, which is `binary` if it names a notation (NDATA). `at` is where the
    /// literal starts.
    Entity {
        name: &'t str,
        parameter: bool,
        value: Option<&'t str>,
        binary: bool,
        at: usize,
    },
    /// One attribute of `<!ATTLIST element ...>`, with its default value if it has one (a
    /// literal, `at` where it starts); `cdata` is false for the types whose values expat
    /// collapses.
    Attribute {
        element: &'t str,
        name: &'t str,
        cdata: bool,
        default: Option<&'t str>,
        at: usize,
    },
    /// `%name;` between declarations.
    ParameterRef { name: &'t str, at: usize },
}

/// The tokens of the prolog grammar.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Space,
    /// `<!` and a name.
    DeclOpen,
    Comment,
    Pi,
    /// `%name;`
    PeRef,
    /// `%` before whitespace.
    Percent,
    /// A quoted literal.
    Literal,
    Name,
    NmToken,
    /// A name followed by `*`, `?` or `+`.
    NameSuffixed,
    OpenBracket,
    CloseBracket,
    Gt,
    OpenParen,
    CloseParen,
    Or,
    Comma,
    /// `#` and a name.
    PoundName,
    End,
}

/// A scanner over the text of a DOCTYPE (or the replacement text of a parameter entity).
pub struct Scanner<'t> {
    text: &'t str,
    pos: usize,
}

fn name_start(c: char) -> bool {
    let mut buf = [0; 4];
    checks::bad_name(c.encode_utf8(&mut buf)).is_none()
}

/// A character a public identifier may hold (XML 1.0, `PubidChar`).
fn is_pubid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " \r\n-'()+,./:=?;!*#@$_%".contains(c)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl<'t> Scanner<'t> {
    pub fn new(text: &'t str) -> Self {
        Scanner { text, pos: 0 }
    }

    fn peek(&self, at: usize) -> Option<char> {
        self.text.get(at..)?.chars().next()
    }

    /// The end of the name starting at `at` (as many name characters as there are).
    fn name_end(&self, at: usize) -> usize {
        let rest = &self.text[at..];
        at + rest
            .find(|c: char| !checks::is_name_char(c))
            .unwrap_or(rest.len())
    }

    /// The next token: its kind, start and end (not skipping whitespace: a token of its own).
    #[allow(clippy::too_many_lines)]
    fn next(&mut self) -> Result<(Tok, usize, usize), DtdError> {
        let start = self.pos;
        let Some(c) = self.peek(start) else {
            return Ok((Tok::End, start, start));
        };
        let rest = &self.text[start..];
        let (tok, end) = match c {
            c if is_space(c) => {
                let n = rest.find(|c| !is_space(c)).unwrap_or(rest.len());
                (Tok::Space, start + n)
            }
            '<' => return self.markup(start),
            '%' => match self.peek(start + 1) {
                Some(c) if is_space(c) => (Tok::Percent, start + 1),
                Some(c) if name_start(c) => {
                    let end = self.name_end(start + 1);
                    match self.peek(end) {
                        Some(';') => (Tok::PeRef, end + 1),
                        Some(_) => return invalid(end),
                        None => return error(start, "unclosed token in the DOCTYPE"),
                    }
                }
                Some(_) => return invalid(start + 1),
                None => return error(start, "unclosed token in the DOCTYPE"),
            },
            '"' | '\'' => {
                let Some(close) = rest[1..].find(c) else {
                    return error(start, "unclosed token in the DOCTYPE");
                };
                let end = start + 1 + close + 1;
                match self.peek(end) {
                    None | Some(' ' | '\t' | '\r' | '\n' | '>' | '%' | '[') => (Tok::Literal, end),
                    Some(_) => return invalid(end),
                }
            }
            '[' => (Tok::OpenBracket, start + 1),
            ']' => (Tok::CloseBracket, start + 1),
            '>' => (Tok::Gt, start + 1),
            '(' => (Tok::OpenParen, start + 1),
            ')' => {
                let suffixed = matches!(self.peek(start + 1), Some('*' | '?' | '+'));
                (Tok::CloseParen, start + 1 + usize::from(suffixed))
            }
            '|' => (Tok::Or, start + 1),
            ',' => (Tok::Comma, start + 1),
            '#' => match self.peek(start + 1) {
                Some(c) if name_start(c) => (Tok::PoundName, self.name_end(start + 1)),
                _ => return invalid(start + 1),
            },
            c if checks::is_name_char(c) => {
                let tok = if name_start(c) {
                    Tok::Name
                } else {
                    Tok::NmToken
                };
                let end = self.name_end(start);
                match self.peek(end) {
                    None | Some(' ' | '\t' | '\r' | '\n' | '>' | ')' | ',' | '|' | '[' | '%') => {
                        (tok, end)
                    }
                    Some('*' | '?' | '+') if tok == Tok::Name => (Tok::NameSuffixed, end + 1),
                    Some(_) => return invalid(end),
                }
            }
            _ => return invalid(start),
        };
        self.pos = end;
        Ok((tok, start, end))
    }

    /// `<!NAME`, `<!--...-->` or `<?...?>`.
    fn markup(&mut self, start: usize) -> Result<(Tok, usize, usize), DtdError> {
        let rest = &self.text[start..];
        let (tok, end) = if let Some(body) = rest.strip_prefix("<!--") {
            let Some(close) = body.find("-->") else {
                return error(start, "unclosed token in the DOCTYPE");
            };
            if let Some(i) = checks::bad_comment(&body.as_bytes()[..close]) {
                // After the `--`, as in content.
                return invalid(start + 4 + i + 2);
            }
            (Tok::Comment, start + 4 + close + 3)
        } else if let Some(body) = rest.strip_prefix("<?") {
            let Some(close) = body.find("?>") else {
                return error(start, "unclosed token in the DOCTYPE");
            };
            if let Some((why, target)) = checks::bad_pi(&body.as_bytes()[..close]) {
                let at = if target == 0 { start + 2 } else { start };
                return error(at, format!("{why} (in the DOCTYPE)"));
            }
            (Tok::Pi, start + 2 + close + 2)
        } else if rest.starts_with("<![") {
            // A conditional section: only the external subset may hold one.
            return syntax(start);
        } else if let Some(keyword) = rest.strip_prefix("<!") {
            // `<!` and ASCII letters, then whitespace or a `%` that starts a reference.
            let letters = keyword.bytes().take_while(u8::is_ascii_alphabetic).count();
            let end = start + 2 + letters;
            let bytes = self.text.as_bytes();
            match (letters, bytes.get(end), bytes.get(end + 1)) {
                (0, ..) => return invalid(start + 2),
                (_, Some(b'%'), Some(b' ' | b'\t' | b'\r' | b'\n' | b'%')) => return invalid(end),
                (_, Some(b' ' | b'\t' | b'\r' | b'\n' | b'%'), _) => (Tok::DeclOpen, end),
                (_, None, _) => return error(start, "unclosed token in the DOCTYPE"),
                _ => return invalid(end),
            }
        } else {
            return invalid(start);
        };
        self.pos = end;
        Ok((tok, start, end))
    }

    /// The next token that is not whitespace, between declarations.
    fn between(&mut self) -> Result<(Tok, usize, usize), DtdError> {
        loop {
            let t = self.next()?;
            if t.0 != Tok::Space {
                return Ok(t);
            }
        }
    }

    /// The next token that is not whitespace, inside a declaration (where the internal
    /// subset allows no parameter entity reference).
    fn token(&mut self) -> Result<(Tok, usize, usize), DtdError> {
        let t = self.between()?;
        if t.0 == Tok::PeRef {
            return error(t.1, "illegal parameter entity reference in the DOCTYPE");
        }
        Ok(t)
    }

    fn slice(&self, start: usize, end: usize) -> &'t str {
        &self.text[start..end]
    }

    /// The part of the DOCTYPE before its internal subset: `name (SYSTEM lit | PUBLIC lit
    /// lit)?`, then `[` or the end. Returns whether an external subset is named and whether
    /// an internal subset follows.
    pub fn header(&mut self) -> Result<(bool, bool), DtdError> {
        let (tok, at, _) = self.token()?;
        if tok != Tok::Name {
            return syntax(at);
        }
        let (mut tok, mut at, end) = self.token()?;
        let mut external = false;
        if tok == Tok::Name {
            self.external_id(self.slice(at, end), at, false)?;
            external = true;
            (tok, at, _) = self.token()?;
        }
        match tok {
            Tok::OpenBracket => Ok((external, true)),
            Tok::End => Ok((external, false)),
            _ => syntax(at),
        }
    }

    /// After the internal subset's `]`: only whitespace may follow.
    pub fn after_subset(&mut self) -> Result<(), DtdError> {
        match self.token()? {
            (Tok::End, ..) => Ok(()),
            (_, at, _) => syntax(at),
        }
    }

    /// `SYSTEM "lit"` or `PUBLIC "lit" "lit"` starting with the keyword `word` at `at`;
    /// `public_alone`: a NOTATION may name only a public literal.
    fn external_id(&mut self, word: &str, at: usize, public_alone: bool) -> Result<(), DtdError> {
        let literals = match word {
            "SYSTEM" => 1,
            "PUBLIC" => 2,
            _ => return syntax(at),
        };
        for i in 0..literals {
            let (tok, at, end) = self.token()?;
            if tok == Tok::Gt && public_alone && i == 1 {
                self.pos = at;
                return Ok(());
            }
            if tok != Tok::Literal {
                return syntax(at);
            }
            if literals == 2 && i == 0 {
                let id = self.slice(at + 1, end - 1);
                if let Some(bad) = id.find(|c: char| !is_pubid_char(c)) {
                    return error(at + 1 + bad, "illegal character(s) in public id");
                }
            }
        }
        Ok(())
    }

    /// The declarations of an internal subset, up to its `]` (or the end of the text, for
    /// the replacement text of a parameter entity: `subset` false). Each is handed to `on`.
    pub fn subset(
        &mut self,
        subset: bool,
        on: &mut dyn FnMut(Decl<'t>) -> Result<(), DtdError>,
    ) -> Result<(), DtdError> {
        loop {
            let (tok, at, end) = self.between()?;
            match tok {
                Tok::CloseBracket if subset => return Ok(()),
                Tok::End if !subset => return Ok(()),
                Tok::Comment | Tok::Pi => {}
                Tok::PeRef => on(Decl::ParameterRef {
                    name: self.slice(at + 1, end - 1),
                    at,
                })?,
                Tok::DeclOpen => match self.slice(at + 2, end) {
                    "ENTITY" => self.entity(on)?,
                    "ATTLIST" => self.attlist(on)?,
                    "ELEMENT" => self.element()?,
                    "NOTATION" => self.notation()?,
                    _ => return syntax(at),
                },
                _ => return syntax(at),
            }
        }
    }

    /// The rest of `<!ENTITY`.
    fn entity(
        &mut self,
        on: &mut dyn FnMut(Decl<'t>) -> Result<(), DtdError>,
    ) -> Result<(), DtdError> {
        let (mut tok, mut at, mut end) = self.token()?;
        let parameter = tok == Tok::Percent;
        if parameter {
            (tok, at, end) = self.token()?;
        }
        if tok != Tok::Name {
            return syntax(at);
        }
        let name = self.slice(at, end);
        let (tok, at, end) = self.token()?;
        match tok {
            Tok::Literal => {
                let value = self.slice(at + 1, end - 1);
                on(Decl::Entity {
                    name,
                    parameter,
                    value: Some(value),
                    binary: false,
                    at,
                })?;
            }
            Tok::Name => {
                self.external_id(self.slice(at, end), at, false)?;
                let (tok, next, end) = self.token()?;
                let binary = match tok {
                    Tok::Gt => false,
                    Tok::Name if !parameter && self.slice(next, end) == "NDATA" => {
                        let (tok, at, _) = self.token()?;
                        if tok != Tok::Name {
                            return syntax(at);
                        }
                        true
                    }
                    _ => return syntax(next),
                };
                on(Decl::Entity {
                    name,
                    parameter,
                    value: None,
                    binary,
                    at,
                })?;
                if tok == Tok::Gt {
                    return Ok(());
                }
            }
            _ => return syntax(at),
        }
        self.close()
    }

    /// The `>` that ends a declaration.
    fn close(&mut self) -> Result<(), DtdError> {
        match self.token()? {
            (Tok::Gt, ..) => Ok(()),
            (_, at, _) => syntax(at),
        }
    }

    /// The rest of `<!ATTLIST`: an element name, then (name, type, default) triples.
    fn attlist(
        &mut self,
        on: &mut dyn FnMut(Decl<'t>) -> Result<(), DtdError>,
    ) -> Result<(), DtdError> {
        let (tok, at, end) = self.token()?;
        if tok != Tok::Name {
            return syntax(at);
        }
        let element = self.slice(at, end);
        loop {
            let (tok, at, end) = self.token()?;
            match tok {
                Tok::Gt => return Ok(()),
                Tok::Name => {}
                _ => return syntax(at),
            }
            let name = self.slice(at, end);
            let cdata = self.attribute_type()?;
            let (mut tok, mut at, mut end) = self.token()?;
            if tok == Tok::PoundName {
                match self.slice(at, end) {
                    "#IMPLIED" | "#REQUIRED" => {
                        on(Decl::Attribute {
                            element,
                            name,
                            cdata,
                            default: None,
                            at,
                        })?;
                        continue;
                    }
                    "#FIXED" => (tok, at, end) = self.token()?,
                    _ => return syntax(at),
                }
            }
            if tok != Tok::Literal {
                return syntax(at);
            }
            let default = Some(self.slice(at + 1, end - 1));
            on(Decl::Attribute {
                element,
                name,
                cdata,
                default,
                at,
            })?;
        }
    }

    /// An attribute type; true for CDATA.
    fn attribute_type(&mut self) -> Result<bool, DtdError> {
        let (tok, at, end) = self.token()?;
        match (tok, self.slice(at, end)) {
            (Tok::Name, "CDATA") => Ok(true),
            (
                Tok::Name,
                "ID" | "IDREF" | "IDREFS" | "ENTITY" | "ENTITIES" | "NMTOKEN" | "NMTOKENS",
            ) => Ok(false),
            (Tok::Name, "NOTATION") => {
                let (tok, at, _) = self.token()?;
                if tok != Tok::OpenParen {
                    return syntax(at);
                }
                self.enumeration(false)?;
                Ok(false)
            }
            (Tok::OpenParen, _) => {
                self.enumeration(true)?;
                Ok(false)
            }
            _ => syntax(at),
        }
    }

    /// `a | b | c)` after a `(`: names (`nmtokens`: or name tokens).
    fn enumeration(&mut self, nmtokens: bool) -> Result<(), DtdError> {
        loop {
            let (tok, at, _) = self.token()?;
            if !(tok == Tok::Name || nmtokens && tok == Tok::NmToken) {
                return syntax(at);
            }
            match self.token()? {
                (Tok::Or, ..) => {}
                (Tok::CloseParen, at, end) if end == at + 1 => return Ok(()),
                (_, at, _) => return syntax(at),
            }
        }
    }

    /// The rest of `<!ELEMENT`: a name and a content model (`EMPTY`, `ANY`, or a group of
    /// names, `#PCDATA`, `|`, `,` and suffixes, its parentheses balanced).
    fn element(&mut self) -> Result<(), DtdError> {
        let (tok, at, _) = self.token()?;
        if tok != Tok::Name {
            return syntax(at);
        }
        let (tok, at, end) = self.token()?;
        match (tok, self.slice(at, end)) {
            (Tok::Name, "EMPTY" | "ANY") => return self.close(),
            (Tok::OpenParen, _) => {}
            _ => return syntax(at),
        }
        let after_paren = self.pos;
        if let (Tok::PoundName, at, end) = self.token()? {
            return if self.slice(at, end) == "#PCDATA" {
                self.mixed()
            } else {
                syntax(at)
            };
        }
        self.pos = after_paren;
        self.children()?;
        self.close()
    }

    /// A mixed content model after `(#PCDATA`: `)`, `)*`, or `|a|b)*`.
    fn mixed(&mut self) -> Result<(), DtdError> {
        let mut names = false;
        loop {
            match self.token()? {
                (Tok::CloseParen, at, end)
                    if end == at + 2 && &self.text[at + 1..end] == "*"
                        || !names && end == at + 1 =>
                {
                    return self.close();
                }
                (Tok::Or, ..) => {
                    let (tok, at, _) = self.token()?;
                    if tok != Tok::Name {
                        return syntax(at);
                    }
                    names = true;
                }
                (_, at, _) => return syntax(at),
            }
        }
    }

    /// A children content model after its first `(`: groups of names, each group joined
    /// by one kind of connector (`,` or `|`), its parentheses balanced.
    fn children(&mut self) -> Result<(), DtdError> {
        // The connector of each open group (0 until it has one).
        let mut groups: Vec<u8> = Vec::new();
        // Whether the next token must be an item (a name or a group).
        let mut item = true;
        groups.push(0);
        while let Some(&connector) = groups.last() {
            let (tok, at, _) = self.token()?;
            match tok {
                Tok::OpenParen if item => groups.push(0),
                Tok::Name | Tok::NameSuffixed if item => item = false,
                Tok::Or | Tok::Comma if !item => {
                    let c = if tok == Tok::Or { b'|' } else { b',' };
                    if connector != 0 && connector != c {
                        return syntax(at);
                    }
                    if let Some(last) = groups.last_mut() {
                        *last = c;
                    }
                    item = true;
                }
                Tok::CloseParen if !item => {
                    groups.pop();
                }
                _ => return syntax(at),
            }
        }
        Ok(())
    }

    /// The rest of `<!NOTATION`: a name and `SYSTEM "lit"`, `PUBLIC "lit" "lit"?`.
    fn notation(&mut self) -> Result<(), DtdError> {
        let (tok, at, _) = self.token()?;
        if tok != Tok::Name {
            return syntax(at);
        }
        let (tok, at, end) = self.token()?;
        if tok != Tok::Name {
            return syntax(at);
        }
        let word = self.slice(at, end);
        self.external_id(word, at, word == "PUBLIC")?;
        self.close()
    }
}
