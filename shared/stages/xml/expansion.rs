//! References to general entities, expanded where the document uses them, as expat expands
//! them: the replacement text is parsed as content (character data, references, elements,
//! CDATA sections, comments, processing instructions), so `<!ENTITY e "<b>bold</b> &amp;
//! more">` then `<r>&e;</r>` gives start b, text, end b, text, in document order, the text
//! joined with what surrounds the reference.
//!
//! What expat requires, co-xml requires, and says where expat does (at the outermost
//! reference in the document, whatever the depth of the error in nested entities):
//!
//! * an entity is balanced: an element it starts ends in it, and it ends no element it did
//!   not start ("asynchronous entity" in expat);
//! * no XML declaration or DOCTYPE in replacement text;
//! * no recursion, and every expansion (text and markup alike) counts against
//!   `--max-entity-expansion`, so a "billion laughs" made of elements is refused in time
//!   and memory linear in the budget, like one made of text.
//!
//! Line ends in an entity's literal were normalised when it was declared; the replacement
//! text is taken as it is (a `&#13;` in the literal stays a carriage return, as in expat).
//!
//! References nest as deep as the declarations go: each level is a [`Frame`] on an explicit
//! stack (a few words), never a recursive call, so 10,000 levels cost 10,000 frames, not the
//! thread's stack.
//!
//! Documents without references never come here: the parse loop pays nothing for it.

use std::rc::Rc;

use quick_xml::errors::SyntaxError;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;

use super::{checks, xml_error, EventHandler};
use crate::error::{Error, Result};
use crate::event::XmlEvent;
use crate::sink::Sink;

/// One entity being expanded: a few words, whatever the depth.
struct Frame {
    name: Rc<str>,
    value: Rc<str>,
    /// How far its replacement text has been parsed.
    pos: usize,
    /// The element depth where it started (it must end at the same).
    depth: usize,
}

impl EventHandler {
    /// Expands `&name;`, a reference to a general entity that is not predefined, sending the
    /// events of its replacement text. Any error inside is reported at the reference.
    #[inline(never)]
    pub(super) fn expand_entity<S>(&mut self, name: &str, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        let reference = self.mark;
        let mut stack = Vec::new();
        let outcome = self
            .open_entity(name, &mut stack)
            .and_then(|()| self.run_frames(&mut stack, target));
        // After an error, no entity stays open.
        for frame in stack.iter().rev() {
            self.entities.leave(&frame.name);
        }
        outcome.map_err(|e| match e {
            Error::Xml { message, .. } => xml_error(reference, message),
            other => other,
        })
    }

    /// Starts expanding entity `name`: plain text at once (the common case: no parser
    /// needed), markup and references on the stack.
    fn open_entity(&mut self, name: &str, stack: &mut Vec<Frame>) -> Result<()> {
        let budget = self.limits.max_entity_expansion;
        let (name, value) = match self.entities.enter(name, budget) {
            Err(why) => return Err(self.error_at_mark(&why)),
            Ok(None) => return Ok(()),
            Ok(Some(opened)) => (opened.name, opened.value),
        };
        if value.contains(['<', '&']) {
            stack.push(Frame {
                name,
                value,
                pos: 0,
                depth: self.depth,
            });
        } else {
            let outcome = self.entity_text(&value);
            self.entities.leave(&name);
            outcome?;
        }
        Ok(())
    }

    /// Parses the replacement texts on `stack` as content, an event at a time, the innermost
    /// first: a reference pushes its entity, the end of a text pops it.
    fn run_frames<S>(&mut self, stack: &mut Vec<Frame>, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        while let Some(frame) = stack.last() {
            let (value, at, depth) = (Rc::clone(&frame.value), frame.pos, frame.depth);
            let mut reader = Reader::from_str(&value[at..]);
            let config = reader.config_mut();
            config.trim_text(false);
            // End tags are matched by the handler, against the elements open in the document.
            config.check_end_names = false;
            config.allow_unmatched_ends = true;
            let event = reader.read_event();
            let end = at + usize::try_from(reader.buffer_position()).unwrap_or(value.len());
            if let Some(frame) = stack.last_mut() {
                frame.pos = end;
            }
            let name = |stack: &[Frame]| {
                stack
                    .last()
                    .map_or_else(String::new, |f| f.name.to_string())
            };
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    if let quick_xml::Error::Syntax(SyntaxError::UnclosedCData) = e {
                        // Expat hands over what the unclosed section holds before it fails.
                        let open = value.get(at..).and_then(|v| v.strip_prefix("<![CDATA["));
                        self.text.push_str(open.unwrap_or_default());
                    }
                    let name = name(stack);
                    return Err(self.error_at_mark(&format!("{e} (in entity &{name};)")));
                }
            };
            match event {
                Event::Eof => {
                    if self.depth != depth {
                        return Err(asynchronous(self, &name(stack)));
                    }
                    if let Some(frame) = stack.pop() {
                        self.entities.leave(&frame.name);
                    }
                }
                Event::Text(text) => self.entity_text(&text)?,
                Event::CData(cdata) => self.entity_text_unchecked(&cdata)?,
                Event::GeneralRef(reference) => {
                    self.nested_reference(&reference, stack)?;
                    self.check_text_size()?;
                }
                Event::End(_) if self.depth == depth => {
                    return Err(asynchronous(self, &name(stack)))
                }
                Event::Decl(_) | Event::DocType(_) => {
                    let what = if matches!(event, Event::Decl(_)) {
                        "an XML declaration"
                    } else {
                        "a DOCTYPE"
                    };
                    let name = name(stack);
                    return Err(self.error_at_mark(&format!("{what} inside entity &{name};")));
                }
                event => {
                    self.handle(event, target)?;
                }
            }
        }
        Ok(())
    }

    /// A reference in replacement text: a character or predefined entity joins the text, a
    /// declared entity goes on the stack.
    fn nested_reference(&mut self, reference: &BytesRef<'_>, stack: &mut Vec<Frame>) -> Result<()> {
        let name: &str = reference;
        if reference.is_char_ref() {
            match reference.resolve_char_ref() {
                Ok(Some(c)) if checks::is_xml_char(c) => self.text.push(c),
                _ => {
                    let message = format!("invalid character reference &{name};");
                    return Err(self.error_at_mark(&message));
                }
            }
        } else if let Some(value) = resolve_predefined_entity(name) {
            self.text.push_str(value);
        } else {
            self.open_entity(name, stack)?;
        }
        Ok(())
    }

    /// Character data of replacement text: as it is (line ends were normalised in the
    /// declaration), but never `]]>`.
    fn entity_text(&mut self, text: &str) -> Result<()> {
        if checks::cdata_end_in_text(text.as_bytes()).is_some() {
            return Err(self.error_at_mark("\"]]>\" in character data"));
        }
        self.entity_text_unchecked(text)
    }

    /// The content of a CDATA section of replacement text, or checked character data.
    fn entity_text_unchecked(&mut self, text: &str) -> Result<()> {
        self.text.push_str(text);
        self.check_text_size()
    }
}

/// An element that starts in an entity and ends outside it, or the other way round.
fn asynchronous(handler: &EventHandler, name: &str) -> Error {
    handler.error_at_mark(&format!(
        "asynchronous entity: an element starts or ends in entity &{name}; but not both"
    ))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use crate::stages::printer::Printer;
    use crate::stages::xml::{xml_events, xml_events_within, XmlLimits};

    /// Hands out at most `step` bytes per read.
    struct Trickle<'d>(&'d [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn events(doc: impl Read) -> Result<String, String> {
        let mut printer = Printer::new(Vec::new());
        xml_events(doc, &mut printer).map_err(|e| e.to_string())?;
        Ok(String::from_utf8(printer.into_inner()).unwrap())
    }

    const DOC: &str = "<!DOCTYPE r [<!ENTITY e \"<b k='&v;'>bold</b> &amp; <![CDATA[<&#38;>]]>\">\
        <!ENTITY v \"1 &#38;#60; 2\"><!ENTITY w \"x&e;y\">]>\n<r>a&w;b<c/>&e;</r>";

    #[test]
    fn markup_in_entities_comes_out_in_document_order() {
        let got = events(DOC.as_bytes()).unwrap();
        let want = "('start', ('r', {}))\n('text', 'ax')\n('start', ('b', {'k': '1 < 2'}))\n\
            ('text', 'bold')\n('end', 'b')\n('text', ' & <&>yb')\n('start', ('c', {}))\n\
            ('end', 'c')\n('start', ('b', {'k': '1 < 2'}))\n('text', 'bold')\n('end', 'b')\n\
            ('text', ' & <&>')\n('end', 'r')\n";
        assert_eq!(got, want);
        for step in 1..7 {
            assert_eq!(events(Trickle(DOC.as_bytes(), step)).unwrap(), want);
        }
    }

    #[test]
    fn unbalanced_entities_fail_at_the_reference() {
        let doc = "<!DOCTYPE r [<!ENTITY e \"<b>\"><!ENTITY f \"x&e;\">]>\n<r>\n  &f;</b></r>";
        let e = events(doc.as_bytes()).unwrap_err();
        assert!(
            e.contains("at 3:3") && e.contains("asynchronous entity"),
            "{e}"
        );
        let doc = "<!DOCTYPE r [<!ENTITY e \"</b>\">]><r><b>&e;</r>";
        let e = events(doc.as_bytes()).unwrap_err();
        assert!(e.contains("asynchronous entity"), "{e}");
    }

    #[test]
    fn expansions_of_markup_count_against_the_bound() {
        let doc = "<!DOCTYPE r [<!ENTITY a \"<x/><x/><x/><x/>\"><!ENTITY b \"&a;&a;&a;&a;\">\
            <!ENTITY c \"&b;&b;&b;&b;\">]><r>&c;</r>";
        assert_eq!(events(doc.as_bytes()).unwrap().lines().count(), 2 + 2 * 64);
        let limits = XmlLimits {
            max_entity_expansion: 300,
            ..XmlLimits::default()
        };
        let mut printer = Printer::new(Vec::new());
        let e = xml_events_within(doc.as_bytes(), limits, &mut printer).unwrap_err();
        assert!(e.to_string().contains("--max-entity-expansion"), "{e}");
    }
}
