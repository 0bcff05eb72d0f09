//! General entities declared in the DOCTYPE's internal subset, expanded where they are used,
//! as expat expands them, with the total expansion bounded (`--max-entity-expansion`) so that
//! a "billion laughs" document is a one-line error, not a memory blow-up.
//!
//! Supported: `<!ENTITY name "text">` whose text holds character data, character references
//! and references to other entities (declared before use, not recursive). External entities
//! (`SYSTEM`/`PUBLIC`) are not fetched: as in Python's SAX parser by default, a reference to
//! one stands for nothing. Replacement text holding markup (`<`) is refused with a clear error.

use std::collections::HashMap;
use std::rc::Rc;

use quick_xml::escape::resolve_predefined_entity;

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
                Entity::Internal(replace_char_refs(&body[..close])?.into())
            }
            _ if definition.starts_with("SYSTEM") || definition.starts_with("PUBLIC") => {
                Entity::External
            }
            _ => return Err(format!("a malformed declaration of entity {name}")),
        };
        self.declared.entry(name.to_owned()).or_insert(entity);
        Ok(())
    }

    /// Appends what `&name;` stands for to `out`, within `budget` bytes of expansion in the
    /// whole document.
    pub fn expand(&mut self, name: &str, budget: usize, out: &mut String) -> Result<(), String> {
        let mut open = Vec::new();
        self.expand_into(name, budget, out, &mut open)
    }

    fn expand_into(
        &mut self,
        name: &str,
        budget: usize,
        out: &mut String,
        open: &mut Vec<String>,
    ) -> Result<(), String> {
        // Every reference costs at least its own length, so expanding empty entities a
        // billion times is refused too.
        self.append("", name.len() + 2, budget, out)?;
        if let Some(value) = resolve_predefined_entity(name) {
            return self.append(value, 0, budget, out);
        }
        let value = match self.declared.get(name) {
            None => return Err(format!("undefined entity &{name};")),
            Some(Entity::External) => return Ok(()),
            Some(Entity::Internal(v)) => Rc::clone(v),
        };
        if open.iter().any(|n| n == name) {
            return Err(format!("recursive entity reference &{name};"));
        }
        if open.len() >= MAX_NESTING {
            return Err(format!("entities nested deeper than {MAX_NESTING} levels"));
        }
        if value.contains('<') {
            return Err(format!(
                "entity &{name}; holds markup, which co-xml does not expand"
            ));
        }
        open.push(name.to_owned());
        let result = self.expand_value(name, &value, budget, out, open);
        open.pop();
        result
    }

    fn expand_value(
        &mut self,
        name: &str,
        value: &str,
        budget: usize,
        out: &mut String,
        open: &mut Vec<String>,
    ) -> Result<(), String> {
        let mut rest = value;
        while let Some(amp) = rest.find('&') {
            self.append(&rest[..amp], 0, budget, out)?;
            let semi = rest[amp..]
                .find(';')
                .ok_or_else(|| format!("a malformed reference in entity &{name};"))?;
            self.expand_into(&rest[amp + 1..amp + semi], budget, out, open)?;
            rest = &rest[amp + semi + 1..];
        }
        self.append(rest, 0, budget, out)
    }

    /// Appends `text`, charging its length and `extra` against `budget`.
    fn append(
        &mut self,
        text: &str,
        extra: usize,
        budget: usize,
        out: &mut String,
    ) -> Result<(), String> {
        self.expanded += text.len() + extra;
        if self.expanded > budget {
            return Err(format!(
                "entity expansion over {budget} bytes (raise it with --max-entity-expansion)"
            ));
        }
        out.push_str(text);
        Ok(())
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
