//! What the DOCTYPE declares, kept as expat keeps it: general entities (expanded where they
//! are used, the total expansion bounded by `--max-entity-expansion` so that a "billion
//! laughs" document is a one-line error), parameter entities (expanded between the
//! declarations of the internal subset), and attribute defaults (`<!ATTLIST>`: reported as
//! attributes of every element that does not specify them).
//!
//! External entities (`SYSTEM`/`PUBLIC`) are not fetched: as in Python's SAX parser by
//! default, a reference to one stands for nothing. As in expat, a DOCTYPE that names an
//! external subset or refers to a parameter entity may declare entities co-xml cannot see,
//! so a reference to an undeclared entity is then skipped, not refused; and after a
//! reference to a parameter entity that is not read (undeclared or external), the
//! declarations that follow are checked but not used (expat's "keep processing" rule).
//!
//! Nothing here recurses on the input: references nest as deep as the declarations go
//! (bounded by the DOCTYPE's size, itself bounded by `--max-token`), each level a few words
//! on an explicit stack.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;

use super::checks::{self, is_xml_char};
use super::dtd::{Decl, DtdError, Scanner};
use crate::event::Attr;

/// Parameter entities within parameter entities (only possible through character
/// references in their values) nest at most this deep.
const MAX_PARAMETER_NESTING: usize = 1000;

/// One declared general entity.
enum Entity {
    /// The replacement text (character references already replaced), and whether it is
    /// being expanded (a reference to it then is recursive).
    Internal { value: Rc<str>, open: Cell<bool> },
    /// Declared with SYSTEM or PUBLIC: not fetched.
    External,
    /// Declared with NDATA: data for an application, never parsed (a reference to it in
    /// content is an error).
    Binary,
}

/// The attributes `<!ATTLIST>` declared for one element: in declaration order, and by name.
#[derive(Default)]
struct Declared {
    list: Vec<AttDecl>,
    index: HashMap<Box<str>, usize>,
}

/// A text being read in an attribute value: the entity it is the replacement text of (none
/// for the value itself), the text, how far it has been read.
type Reading = (Option<Rc<str>>, Rc<str>, usize);

/// An entity whose expansion [`Entities::enter`] started: its name and replacement text.
pub struct Opened {
    pub name: Rc<str>,
    pub value: Rc<str>,
}

/// One attribute declared by `<!ATTLIST>`.
struct AttDecl {
    name: Box<str>,
    /// False for the types whose values are collapsed (all but CDATA).
    cdata: bool,
    default: Option<Box<str>>,
}

/// The declarations of one document, and what their expansion has cost so far.
#[derive(Default)]
pub struct Entities {
    /// Names are shared with the expansions in progress (a level costs no copy of its name).
    declared: HashMap<Rc<str>, Entity>,
    /// Parameter entities: their replacement text, `None` if external.
    parameters: HashMap<Box<str>, Option<Rc<str>>>,
    /// Attributes declared per element name.
    attributes: HashMap<Box<str>, Declared>,
    expanded: usize,
    /// True when the DOCTYPE names an external subset or refers to a parameter entity: a
    /// reference to an undeclared entity is skipped (expat's `hasParamEntityRefs`).
    skip_undeclared: bool,
    /// False after a parameter entity that was not read: declarations are no longer used.
    stopped: bool,
    /// The XML declaration says `standalone="yes"`: nothing is skipped, nothing stops.
    standalone: bool,
    /// The parameter entities being read, outermost first (at most
    /// [`MAX_PARAMETER_NESTING`]).
    open_parameters: Vec<Box<str>>,
}

/// Why an attribute value could not be made, and whether expat reports it where the value
/// starts (an error inside an entity's replacement text) or at `at`.
pub struct ValueError {
    pub at: Option<usize>,
    pub message: String,
}

impl Entities {
    /// Reads the DOCTYPE's text (after `<!DOCTYPE` and its whitespace, up to its closing
    /// `>`): its external identifier, and the declarations of its internal subset, the first
    /// declaration of a name winning, as XML says. An error names a byte of `doctype`.
    pub fn declare_from_doctype(&mut self, doctype: &str, budget: usize) -> Result<(), DtdError> {
        let mut scanner = Scanner::new(doctype);
        let (external, subset) = scanner.header()?;
        self.skip_undeclared |= external;
        if subset {
            scanner.subset(true, &mut |decl| self.declare(decl, budget, 0))?;
            scanner.after_subset()?;
        }
        Ok(())
    }

    /// Keeps one declaration; `nesting`: parameter entities being read around it.
    fn declare(&mut self, decl: Decl<'_>, budget: usize, nesting: usize) -> Result<(), DtdError> {
        match decl {
            Decl::Entity {
                name,
                parameter,
                value,
                binary,
                at,
            } => {
                let value = value.map(|v| entity_value(v, at + 1)).transpose()?;
                if self.stopped {
                    return Ok(());
                }
                if parameter {
                    self.parameters
                        .entry(name.into())
                        .or_insert_with(|| value.map(Into::into));
                } else {
                    let entity = match value {
                        Some(v) => Entity::Internal {
                            value: v.into(),
                            open: Cell::new(false),
                        },
                        None if binary => Entity::Binary,
                        None => Entity::External,
                    };
                    self.declared.entry(name.into()).or_insert(entity);
                }
            }
            Decl::Attribute {
                element,
                name,
                cdata,
                default,
                at,
            } => {
                let default = default
                    .map(|d| self.attribute_value(d, cdata, budget))
                    .transpose()
                    .map_err(|e| DtdError {
                        at: e.at.map_or(at, |i| at + 1 + i),
                        message: e.message,
                    })?;
                if self.stopped {
                    return Ok(());
                }
                let declared = self.attributes.entry(element.into()).or_default();
                if !declared.index.contains_key(name) {
                    declared.index.insert(name.into(), declared.list.len());
                    declared.list.push(AttDecl {
                        name: name.into(),
                        cdata,
                        default: default.map(Into::into),
                    });
                }
            }
            Decl::ParameterRef { name, at } => self.parameter_ref(name, at, budget, nesting)?,
        }
        Ok(())
    }

    /// `%name;` between declarations: its replacement text is read as declarations; any
    /// error in it is reported at the reference, as expat does.
    fn parameter_ref(
        &mut self,
        name: &str,
        at: usize,
        budget: usize,
        nesting: usize,
    ) -> Result<(), DtdError> {
        self.skip_undeclared = true;
        if self.stopped {
            return Ok(());
        }
        let Some(Some(text)) = self.parameters.get(name).cloned() else {
            // Undeclared or external: what it declares is unknown from here on.
            self.stopped = !self.standalone;
            return Ok(());
        };
        // The error inside, at the reference, naming the outermost entity only.
        let at_reference = |e: DtdError| DtdError {
            at,
            message: if nesting == 0 {
                format!("{} (in parameter entity %{name};)", e.message)
            } else {
                e.message
            },
        };
        if self.open_parameters.iter().any(|open| &**open == name) {
            let message = format!("recursive entity reference %{name};");
            return Err(DtdError { at, message });
        }
        if nesting >= MAX_PARAMETER_NESTING {
            let message =
                format!("parameter entities nested deeper than {MAX_PARAMETER_NESTING} levels");
            return Err(DtdError { at, message });
        }
        if !self.charge(name.len() + 2 + text.len(), budget) {
            return Err(DtdError {
                at,
                message: over_budget(budget),
            });
        }
        // A value can refer to a parameter entity only through a character reference
        // (`&#37;p;`), so this nests no deeper than such chains (bounded above).
        self.open_parameters.push(name.into());
        let mut scanner = Scanner::new(&text);
        let outcome = scanner
            .subset(false, &mut |decl| self.declare(decl, budget, nesting + 1))
            .map_err(at_reference);
        self.open_parameters.pop();
        outcome
    }

    /// The XML declaration said `standalone="yes"`: expat then refuses an undeclared
    /// entity whatever the DOCTYPE refers to.
    pub fn set_standalone(&mut self) {
        self.standalone = true;
    }

    /// Starts expanding `&name;` (not a predefined entity), charging the reference and its
    /// replacement text against `budget` bytes of expansion in the whole document: returns
    /// the replacement text (`None` for an entity that stands for nothing: external, or
    /// undeclared where expat skips it), to be parsed as content and then
    /// [`leave`](Self::leave)n. Refuses an undefined entity and a recursive reference.
    pub fn enter(&mut self, name: &str, budget: usize) -> Result<Option<Opened>, String> {
        let (name, value) = match self.declared.get_key_value(name) {
            None if self.skip_undeclared && !self.standalone => return Ok(None),
            None => return Err(format!("undefined entity &{name};")),
            Some((_, Entity::External)) => return Ok(None),
            Some((_, Entity::Binary)) => {
                return Err(format!("reference to binary entity &{name};"))
            }
            Some((key, Entity::Internal { value, open })) => {
                if open.replace(true) {
                    return Err(format!("recursive entity reference &{name};"));
                }
                (Rc::clone(key), Rc::clone(value))
            }
        };
        // Every reference costs at least its own length, so expanding empty entities a
        // billion times is refused too; the text costs its length whatever it holds, so the
        // events an expansion makes are bounded by the budget as well.
        if !self.charge(name.len() + 2 + value.len(), budget) {
            self.leave(&name);
            return Err(over_budget(budget));
        }
        Ok(Some(Opened { name, value }))
    }

    /// Ends the expansion of entity `name`, which [`enter`](Self::enter) started.
    pub fn leave(&mut self, name: &str) {
        if let Some(Entity::Internal { open, .. }) = self.declared.get(name) {
            open.set(false);
        }
    }

    /// Counts `len` bytes of expansion against `budget`.
    fn charge(&mut self, len: usize, budget: usize) -> bool {
        self.expanded = self.expanded.saturating_add(len);
        self.expanded <= budget
    }

    /// True when `<!ATTLIST>` declared attributes of some element.
    pub fn has_attributes(&self) -> bool {
        !self.attributes.is_empty()
    }

    /// Completes a start tag's attributes as expat reports them: the values of attributes
    /// declared with a type other than CDATA collapsed, then the declared defaults of
    /// `element` the tag lacks, in declaration order. Refuses a tag that would then carry
    /// over `max` attributes (the defaults count: a tag's event stays bounded).
    pub fn complete(
        &self,
        element: &str,
        attrs: &mut Vec<Attr<'_>>,
        max: usize,
    ) -> Result<(), String> {
        let Some(declared) = self.attributes.get(element) else {
            return Ok(());
        };
        let mut given = vec![false; declared.list.len()];
        for attr in attrs.iter_mut() {
            if let Some(&i) = declared.index.get(&*attr.name) {
                given[i] = true;
                if !declared.list[i].cdata {
                    attr.value = Cow::Owned(collapse(&attr.value));
                }
            }
        }
        for (d, given) in declared.list.iter().zip(given) {
            let Some(value) = d.default.as_ref().filter(|_| !given) else {
                continue;
            };
            if attrs.len() == max {
                return Err(format!(
                    "a start tag with over {max} attributes, its declared defaults included \
                     (raise it with --max-attributes)"
                ));
            }
            attrs.push(Attr {
                name: Cow::Owned(d.name.to_string()),
                value: Cow::Owned(value.to_string()),
            });
        }
        Ok(())
    }

    /// An attribute value as expat normalises it (XML 1.0, 3.3.3): character references
    /// replaced, references to entities replaced by their normalised replacement text, each
    /// whitespace character written as such a space; for a type other than CDATA, spaces
    /// collapsed and trimmed. Every expansion counts against `budget`. `raw`'s line ends are
    /// already normalised. Nested references are followed on an explicit stack.
    pub fn attribute_value(
        &mut self,
        raw: &str,
        cdata: bool,
        budget: usize,
    ) -> Result<String, ValueError> {
        let mut out = String::with_capacity(raw.len());
        let outcome = self.normalise_into(&mut out, raw, budget);
        // Whatever happened, no entity stays open.
        outcome?;
        Ok(if cdata { out } else { collapse(&out) })
    }

    fn normalise_into(
        &mut self,
        out: &mut String,
        raw: &str,
        budget: usize,
    ) -> Result<(), ValueError> {
        // The texts being read, outermost first: (entity name, text, position).
        let mut stack: Vec<Reading> = vec![(None, raw.into(), 0)];
        let result = self.normalise_stack(out, &mut stack, budget);
        for (name, ..) in stack.into_iter().rev() {
            if let Some(name) = name {
                self.leave(&name);
            }
        }
        result
    }

    fn normalise_stack(
        &mut self,
        out: &mut String,
        stack: &mut Vec<Reading>,
        budget: usize,
    ) -> Result<(), ValueError> {
        while let Some((name, text, pos)) = stack.last_mut() {
            let inside = name.is_some();
            let rest = &text[*pos..];
            let Some(i) = rest.find(['&', '<', '\t', '\n', '\r']) else {
                out.push_str(rest);
                if let Some(name) = name.take() {
                    self.leave(&name);
                }
                stack.pop();
                continue;
            };
            out.push_str(&rest[..i]);
            let at = *pos + i;
            let here = |message: String| ValueError {
                at: (!inside).then_some(at),
                message,
            };
            match rest.as_bytes()[i] {
                b'<' => return Err(here("\"<\" in an attribute value".into())),
                b'&' => {
                    let (reference, len) = reference_at(text, at).map_err(|e| ValueError {
                        at: (!inside).then_some(e.at),
                        message: e.message,
                    })?;
                    *pos = at + len;
                    match reference {
                        Reference::Char(c) => out.push(c),
                        Reference::Name(name) => {
                            if let Some(c) = quick_xml::escape::resolve_predefined_entity(name) {
                                out.push_str(c);
                            } else if let Some(entity) =
                                self.attribute_entity(name, budget, (!inside).then_some(at))?
                            {
                                stack.push((Some(entity.name), entity.value, 0));
                            }
                        }
                    }
                }
                b => {
                    out.push(' ');
                    // A line end written `\r\n` in the document is one space; in replacement
                    // text a `\r` can only come from a character reference, and stays one.
                    let crlf = !inside && b == b'\r' && rest.as_bytes().get(i + 1) == Some(&b'\n');
                    *pos = at + 1 + usize::from(crlf);
                }
            }
        }
        Ok(())
    }

    /// The replacement text of entity `name` referred to in an attribute value, opened.
    /// `at`: where the reference stands in the value, if it is written there (not in
    /// replacement text): expat reports an external entity there, anything else at the tag.
    fn attribute_entity(
        &mut self,
        name: &str,
        budget: usize,
        at: Option<usize>,
    ) -> Result<Option<Opened>, ValueError> {
        if let Some(Entity::External | Entity::Binary) = self.declared.get(name) {
            let message = format!("reference to external entity &{name}; in an attribute value");
            return Err(ValueError { at, message });
        }
        self.enter(name, budget)
            .map_err(|message| ValueError { at: None, message })
    }
}

/// A value of a type other than CDATA: spaces collapsed and trimmed.
fn collapse(value: &str) -> String {
    value
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn over_budget(budget: usize) -> String {
    format!("entity expansion over {budget} bytes (raise it with --max-entity-expansion)")
}

/// What is wrong with a reference in content, `&name;` given its `name`, if anything: the
/// byte (from the `&`) where expat refuses it, and why. (Only called when the reference did
/// not resolve: the copy costs nothing on the common path.)
pub fn bad_reference(name: &str) -> Option<(usize, String)> {
    let text = format!("&{name};");
    reference_at(&text, 0).err().map(|e| (e.at, e.message))
}

/// A well-formed reference in a literal.
enum Reference<'t> {
    Char(char),
    Name(&'t str),
}

/// The reference starting with the `&` at byte `at` of `text`, and its length; errors where
/// expat reports them (at the first character that cannot continue it; at the `&` when the
/// text ends first or the character is not allowed).
fn reference_at(text: &str, at: usize) -> Result<(Reference<'_>, usize), DtdError> {
    let cut = || DtdError {
        at,
        message: "a reference cut by the end of its literal".into(),
    };
    let bad = |i: usize| DtdError {
        at: i,
        message: "not well-formed (invalid token): a malformed reference".into(),
    };
    let bytes = text.as_bytes();
    if bytes.get(at + 1) == Some(&b'#') {
        let hex = bytes.get(at + 2) == Some(&b'x');
        let digits = at + 2 + usize::from(hex);
        let end = digits
            + bytes[digits..]
                .iter()
                .take_while(|b| {
                    if hex {
                        b.is_ascii_hexdigit()
                    } else {
                        b.is_ascii_digit()
                    }
                })
                .count();
        match bytes.get(end) {
            None => return Err(cut()),
            Some(b';') if end > digits => {}
            Some(_) => return Err(bad(end)),
        }
        let code = u32::from_str_radix(&text[digits..end], if hex { 16 } else { 10 });
        return match code
            .ok()
            .and_then(char::from_u32)
            .filter(|&c| is_xml_char(c))
        {
            Some(c) => Ok((Reference::Char(c), end + 1 - at)),
            None => Err(DtdError {
                at,
                message: format!("reference to invalid character number {}", &text[at..=end]),
            }),
        };
    }
    let name =
        name_after(text, at + 1).map_err(|e| if e == text.len() { cut() } else { bad(e) })?;
    Ok((Reference::Name(&text[at + 1..name]), name + 1 - at))
}

/// The end of the name starting at byte `start` of `text`, which a `;` must follow; else the
/// byte where that goes wrong (`text.len()` if the text ends first).
fn name_after(text: &str, start: usize) -> Result<usize, usize> {
    let rest = &text[start..];
    let Some(first) = rest.chars().next() else {
        return Err(start);
    };
    let mut buf = [0; 4];
    if checks::bad_name(first.encode_utf8(&mut buf)).is_some() {
        return Err(start);
    }
    let end = start
        + rest
            .find(|c: char| !checks::is_name_char(c))
            .unwrap_or(rest.len());
    match text.as_bytes().get(end) {
        Some(b';') => Ok(end),
        _ => Err(end),
    }
}

/// The replacement text of an entity literal `raw` (which starts at byte `base` of the
/// DOCTYPE's text): line ends normalised and character references replaced; references to
/// general entities are kept (they are expanded where the entity is used), a reference to
/// a parameter entity is refused (the internal subset allows none in a literal).
fn entity_value(raw: &str, base: usize) -> Result<String, DtdError> {
    let at_doc = |e: DtdError| DtdError {
        at: base + e.at,
        message: e.message,
    };
    let mut out = String::with_capacity(raw.len());
    let mut rest = 0;
    for (at, c) in raw.match_indices(['&', '%']) {
        if at < rest {
            continue;
        }
        super::push_normalized(&mut out, &raw[rest..at]);
        if c == "%" {
            name_after(raw, at + 1).map_err(|e| {
                let message = if e == raw.len() {
                    "a reference cut by the end of its literal"
                } else {
                    "not well-formed (invalid token): a malformed reference"
                };
                at_doc(DtdError {
                    at: if e == raw.len() { at } else { e },
                    message: message.into(),
                })
            })?;
            return Err(at_doc(DtdError {
                at,
                message: "illegal parameter entity reference in an entity value".into(),
            }));
        }
        let (reference, len) = reference_at(raw, at).map_err(at_doc)?;
        match reference {
            Reference::Char(c) => out.push(c),
            Reference::Name(_) => out.push_str(&raw[at..at + len]),
        }
        rest = at + len;
    }
    super::push_normalized(&mut out, &raw[rest..]);
    Ok(out)
}

/// Where expat refuses a DOCTYPE that never ends (`raw` from its `<!DOCTYPE` to the end of
/// the input), if its text tells: an unclosed literal, comment or PI, or a token that cannot
/// stand where it does.
pub fn doctype_error_at(raw: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(raw).ok()?.strip_prefix("<!DOCTYPE")?;
    let content = text.trim_start_matches([' ', '\t', '\r', '\n']);
    let skipped = raw.len() - content.len();
    let mut entities = Entities::default();
    let e = entities.declare_from_doctype(content, usize::MAX).err()?;
    Some(skipped + e.at)
}
