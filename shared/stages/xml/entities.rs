//! General entities declared in the DOCTYPE's internal subset, expanded where they are used,
//! as expat expands them, with the total expansion bounded (`--max-entity-expansion`) so that
//! a "billion laughs" document is a one-line error, not a memory blow-up.
//!
//! Supported: `<!ENTITY name "text">` whose replacement text is content: character data,
//! character references, references to other entities (declared before use, not recursive),
//! elements, CDATA sections, comments and processing instructions, parsed where the entity is
//! used (see `expansion.rs`). External entities (`SYSTEM`/`PUBLIC`) are not fetched: as in
//! Python's SAX parser by default, a reference to one stands for nothing.

use std::collections::HashMap;
use std::rc::Rc;

use super::checks::is_xml_char;

/// How deep references inside entity values may nest.
const MAX_NESTING: usize = 64;

/// One declared entity.
enum Entity {
    /// The literal value, character references already replaced.
    Internal(Rc<str>),
    /// Declared with SYSTEM or PUBLIC: not fetched.
    External,
}

/// The general entities of one document, and what their expansion has cost so far.
#[derive(Default)]
pub struct Entities {
    declared: HashMap<String, Entity>,
    expanded: usize,
    /// The entities being expanded, outermost first (a reference to one of them is
    /// recursive).
    open: Vec<Box<str>>,
}

impl Entities {
    /// Reads the `<!ENTITY ...>` declarations of a DOCTYPE's content (`root [ ... ]`).
    /// The first declaration of a name wins, as XML says.
    pub fn declare_from_doctype(&mut self, doctype: &str) -> Result<(), String> {
        let Some(open) = doctype.find('[') else {
            return Ok(());
        };
        let mut rest = &doctype[open + 1..];
        while let Some(at) = rest.find("<!ENTITY") {
            rest = &rest[at + "<!ENTITY".len()..];
            let (declaration, after) = split_declaration(rest)?;
            rest = after;
            self.declare(declaration)?;
        }
        Ok(())
    }

    fn declare(&mut self, declaration: &str) -> Result<(), String> {
        let d = declaration.trim_start();
        if d.starts_with('%') {
            return Ok(()); // A parameter entity: not a general one.
        }
        let end = d.find(|c: char| c.is_ascii_whitespace()).unwrap_or(d.len());
        let (name, definition) = (&d[..end], d[end..].trim());
        if name.is_empty() {
            return Err("an entity declaration without a name".into());
        }
        let entity = match definition.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &definition[1..];
                let close = body
                    .find(q)
                    .ok_or("an entity value without its closing quote")?;
                // Line ends in the literal are normalised as everywhere in the document;
                // a `&#13;` then puts a carriage return into the replacement text.
                let mut literal = String::with_capacity(close);
                super::push_normalized(&mut literal, &body[..close]);
                check_references(name, &literal)?;
                Entity::Internal(replace_char_refs(&literal)?.into())
            }
            _ if definition.starts_with("SYSTEM") || definition.starts_with("PUBLIC") => {
                Entity::External
            }
            _ => return Err(format!("a malformed declaration of entity {name}")),
        };
        self.declared.entry(name.to_owned()).or_insert(entity);
        Ok(())
    }

    /// Starts expanding `&name;` (not a predefined entity), charging the reference and its
    /// replacement text against `budget` bytes of expansion in the whole document: returns
    /// the replacement text (`None` for an external entity, which stands for nothing), to be
    /// parsed as content and then [`leave`](Self::leave)n. Refuses an undefined entity, a
    /// recursive reference and nesting deeper than [`MAX_NESTING`].
    pub fn enter(&mut self, name: &str, budget: usize) -> Result<Option<Rc<str>>, String> {
        let value = match self.declared.get(name) {
            None => return Err(format!("undefined entity &{name};")),
            Some(Entity::External) => return Ok(None),
            Some(Entity::Internal(v)) => Rc::clone(v),
        };
        if self.open.iter().any(|n| &**n == name) {
            return Err(format!("recursive entity reference &{name};"));
        }
        if self.open.len() >= MAX_NESTING {
            return Err(format!("entities nested deeper than {MAX_NESTING} levels"));
        }
        // Every reference costs at least its own length, so expanding empty entities a
        // billion times is refused too; the text costs its length whatever it holds, so the
        // events an expansion makes are bounded by the budget as well.
        if !self.charge(name.len() + 2 + value.len(), budget) {
            return Err(format!(
                "entity expansion over {budget} bytes (raise it with --max-entity-expansion)"
            ));
        }
        self.open.push(name.into());
        Ok(Some(value))
    }

    /// Ends the expansion of the innermost entity [`enter`](Self::enter) started.
    pub fn leave(&mut self) {
        self.open.pop();
    }

    /// Bytes of expansion so far.
    pub fn expanded(&self) -> usize {
        self.expanded
    }

    /// Counts `len` bytes of expansion done elsewhere (attribute values) against `budget`.
    pub fn charge(&mut self, len: usize, budget: usize) -> bool {
        self.expanded += len;
        self.expanded <= budget
    }

    /// The value of an internal entity, for attribute values (quick-xml expands the rest).
    pub fn value(&self, name: &str) -> Option<&str> {
        match self.declared.get(name)? {
            Entity::Internal(v) => Some(v),
            Entity::External => Some(""),
        }
    }
}

/// Splits `<!ENTITY` declaration text at its closing `>` (outside quotes).
fn split_declaration(rest: &str) -> Result<(&str, &str), String> {
    let mut quote = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Ok((&rest[..i], &rest[i + 1..])),
            _ => {}
        }
    }
    Err("an entity declaration without its closing '>'".into())
}

/// Refuses a literal whose `&` does not start a reference (expat does so at the declaration,
/// even for an entity never used).
fn check_references(name: &str, literal: &str) -> Result<(), String> {
    for (at, _) in literal.match_indices('&') {
        let rest = &literal[at + 1..];
        if rest.starts_with('#') {
            continue; // Character references are checked as they are replaced.
        }
        let well_formed = rest
            .find(';')
            .is_some_and(|semi| super::checks::bad_name(&rest[..semi]).is_none());
        if !well_formed {
            return Err(format!(
                "a malformed reference in the value of entity {name}"
            ));
        }
    }
    Ok(())
}

/// Replaces `&#N;` and `&#xH;` in an entity value (XML does so when it reads the declaration).
fn replace_char_refs(value: &str) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let semi = rest[at..]
            .find(';')
            .ok_or("a malformed character reference in an entity value")?;
        let digits = &rest[at + 2..at + semi];
        let code = match digits.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => digits.parse(),
        };
        match code
            .ok()
            .and_then(char::from_u32)
            .filter(|&c| is_xml_char(c))
        {
            Some(c) => out.push(c),
            None => return Err(format!("invalid character reference &#{digits};")),
        }
        rest = &rest[at + semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
