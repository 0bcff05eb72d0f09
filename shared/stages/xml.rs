//! The seed's SAX `EventHandler`: an XML document in, a stream of XML events out.
//!
//! ```python
//! class EventHandler(xml.sax.ContentHandler):
//!     def startElement(self, name, attrs): self.target.send(('start', (name, attrs._attrs)))
//!     def characters(self, text):          self.target.send(('text', text))
//!     def endElement(self, name):          self.target.send(('end', name))
//! ```
//!
//! [`xml_events`] plays the part of `xml.sax.parse(file, EventHandler(target))` over
//! quick-xml's streaming reader, so memory stays constant whatever the document's size. It
//! gives what a SAX parser gives a content handler:
//!
//! * a start and an end event per element (`<a/>` gives both), names as written;
//! * attribute values with entities decoded and whitespace normalised;
//! * character data with entities and character references decoded, CDATA sections as plain
//!   text, line ends normalised (`\r\n` and a lone `\r` become `\n`), never trimmed. A SAX
//!   parser may cut character data into any number of `characters()` calls (expat cuts at
//!   every line end and entity); this one sends exactly one `Text` event per run of character
//!   data between two tags, which is what every consumer that joins fragments (the seed's
//!   `buses_to_dicts`) sees anyway, and it is far fewer events on the link;
//! * nothing for comments, processing instructions, the XML declaration, the DOCTYPE, or
//!   whitespace outside the root element.
//!
//! A malformed document is an [`Error::Xml`] naming line:column and byte offset, returned
//! *before* the sink is closed: downstream then sees the stream end without an end-of-stream
//! marker and reports the failure instead of taking a partial document for a whole one.

mod limits;
mod position;

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::args::OutputArgs;
use crate::error::{Error, Result};
use crate::event::{Attr, XmlEvent};
use crate::link::endpoint::{self, StopAwareReader};
use crate::link::{SendTo, Xml};
use crate::signals;
use crate::sink::{deliver_then_close, Sink};

pub use limits::XmlLimits;
pub use position::LineCounter;

/// Capacity of the buffered reader under the parser.
const READ_BUFFER: usize = 128 << 10;

/// Parses the XML document read from `input` and sends its events to `target`, then closes
/// `target`: the seed's `xml.sax.parse(input, EventHandler(target))`.
///
/// `target` is flushed whenever the next read may block, so a slow producer's events are
/// not held back. A stop request (SIGINT/SIGTERM, see [`signals`]) ends the parse early and
/// closes `target` normally.
pub fn xml_events<R: Read, S>(input: R, target: &mut S) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    xml_events_within(input, XmlLimits::default(), target)
}

/// [`xml_events`] with bounds other than the defaults.
pub fn xml_events_within<R: Read, S>(input: R, limits: XmlLimits, target: &mut S) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    deliver_then_close(parse(input, limits, target), target)
}

/// The parse loop of [`xml_events`], without the close.
fn parse<R: Read, S>(input: R, limits: XmlLimits, target: &mut S) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let counter = LineCounter::with_capacity(READ_BUFFER, limits.max_token, input);
    let mut handler = EventHandler {
        reader: Reader::from_reader(counter),
        text: String::new(),
        depth: 0,
        open_names: 0,
        root_closed: false,
        limits,
    };
    let config = handler.reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    let mut buf = Vec::with_capacity(4096);
    loop {
        if handler.reader.get_ref().buffer_is_empty() {
            target.flush()?;
        }
        if signals::stop_requested() {
            return Ok(());
        }
        buf.clear();
        handler.reader.get_mut().mark();
        let event = match handler.reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => {
                // Not a syntax error: say where the token that could not be read begins.
                let offset = handler.reader.get_ref().mark_offset();
                return Err(handler.error_at(offset, e.to_string()));
            }
            Err(e) => {
                let offset = handler.reader.error_position();
                return Err(handler.error_at(offset, e.to_string()));
            }
        };
        if !handler.handle(event, target)? {
            return Ok(());
        }
    }
}

/// The parse in progress: the reader, the character data gathered since the last tag, and
/// where we are in the element tree.
struct EventHandler<R: Read> {
    reader: Reader<LineCounter<R>>,
    /// Character data since the last tag, decoded (entities, CDATA, line ends). Reused, so
    /// text costs no allocation once it has grown to the longest run.
    text: String,
    /// Open elements.
    depth: usize,
    /// Bytes of the open elements' names (the parser keeps them to check end tags).
    open_names: usize,
    limits: XmlLimits,
    /// True once the root element has ended: anything but whitespace, comments and
    /// processing instructions after it is an error.
    root_closed: bool,
}

impl<R: Read> EventHandler<R> {
    /// Handles one parser event; returns false at the end of the document.
    fn handle<S>(&mut self, event: Event<'_>, target: &mut S) -> Result<bool>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        match event {
            Event::Start(start) => {
                self.send_text(target)?;
                self.open(start.name().as_ref().len())?;
                self.start(&start, target)?;
            }
            Event::Empty(start) => {
                self.send_text(target)?;
                self.start(&start, target)?;
                let name = Cow::Borrowed(start.name().into_inner());
                self.end(name, target)?;
            }
            Event::End(end) => {
                self.send_text(target)?;
                self.depth -= 1;
                self.open_names -= end.name().as_ref().len();
                self.end(Cow::Borrowed(end.name().into_inner()), target)?;
            }
            Event::Text(text) => {
                if self.depth == 0 {
                    if !text
                        .bytes()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        return Err(self.error_at_mark("text outside the root element"));
                    }
                } else {
                    push_normalized(&mut self.text, &text);
                    self.check_text_size()?;
                }
            }
            Event::CData(cdata) => {
                self.in_root("a CDATA section")?;
                push_normalized(&mut self.text, &cdata);
                self.check_text_size()?;
            }
            Event::GeneralRef(reference) => {
                self.in_root("an entity reference")?;
                self.push_reference(&reference)?;
                self.check_text_size()?;
            }
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
            Event::Eof => {
                if self.depth > 0 {
                    let message = format!(
                        "the document ended inside {} open element{} (no closing tag)",
                        self.depth,
                        if self.depth == 1 { "" } else { "s" }
                    );
                    return Err(self.error_at_mark(&message));
                }
                if !self.root_closed {
                    return Err(self.error_at_mark("no root element: the document is empty"));
                }
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Counts an element opening, within `--max-depth` and `--max-token`.
    fn open(&mut self, name_len: usize) -> Result<()> {
        self.depth += 1;
        self.open_names += name_len;
        if self.depth > self.limits.max_depth {
            let message = format!(
                "elements nested deeper than {} levels (raise it with --max-depth)",
                self.limits.max_depth
            );
            return Err(self.error_at_mark(&message));
        }
        if self.open_names > self.limits.max_token {
            let message = format!(
                "the names of the open elements take over {} bytes (raise it with --max-token)",
                self.limits.max_token
            );
            return Err(self.error_at_mark(&message));
        }
        Ok(())
    }

    /// Sends `('start', (name, attrs))`.
    fn start<S>(&mut self, start: &BytesStart<'_>, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        if self.root_closed {
            return Err(
                self.error_at_mark("a second root element (junk after the document element)")
            );
        }
        let mut attrs = Vec::new();
        for attr in start.attributes() {
            if attrs.len() == self.limits.max_attributes {
                let message = format!(
                    "a start tag with over {} attributes (raise it with --max-attributes)",
                    self.limits.max_attributes
                );
                return Err(self.error_at_mark(&message));
            }
            let attr = attr.map_err(|e| self.error_at_mark(&e.to_string()))?;
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| self.error_at_mark(&e.to_string()))?;
            attrs.push(Attr {
                name: Cow::Borrowed(attr.key.into_inner()),
                value,
            });
        }
        let name = Cow::Borrowed(start.name().into_inner());
        target.send(&XmlEvent::Start { name, attrs })
    }

    /// Sends `('end', name)`, noting when the root element closes.
    fn end<S>(&mut self, name: Cow<'_, str>, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        if self.depth == 0 {
            self.root_closed = true;
        }
        target.send(&XmlEvent::End(name))
    }

    /// Sends the character data gathered since the last tag as one `('text', ...)` event.
    fn send_text<S>(&mut self, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        if self.text.is_empty() {
            return Ok(());
        }
        let result = target.send(&XmlEvent::Text(Cow::Borrowed(&self.text)));
        self.text.clear();
        result
    }

    /// Appends what an entity or character reference stands for.
    fn push_reference(&mut self, reference: &quick_xml::events::BytesRef<'_>) -> Result<()> {
        let name: &str = reference;
        if reference.is_char_ref() {
            if let Ok(Some(c)) = reference.resolve_char_ref() {
                self.text.push(c);
            } else {
                let message = format!("invalid character reference &{name};");
                return Err(self.error_at_mark(&message));
            }
        } else if let Some(value) = resolve_predefined_entity(name) {
            self.text.push_str(value);
        } else {
            let message = format!("undefined entity &{name};");
            return Err(self.error_at_mark(&message));
        }
        Ok(())
    }

    /// Refuses character data that could not travel as one event (pieces joined between
    /// entities can grow without any single token being large).
    fn check_text_size(&self) -> Result<()> {
        if self.text.len() > self.limits.max_token {
            let message = format!(
                "character data longer than {} bytes between two tags (raise it with --max-token)",
                self.limits.max_token
            );
            return Err(self.error_at_mark(&message));
        }
        Ok(())
    }

    /// Refuses character data outside the root element.
    fn in_root(&self, what: &str) -> Result<()> {
        if self.depth == 0 {
            return Err(self.error_at_mark(&format!("{what} outside the root element")));
        }
        Ok(())
    }

    /// An error about the event that starts where the last read began.
    fn error_at_mark(&self, message: &str) -> Error {
        let offset = self.reader.get_ref().mark_offset();
        self.error_at(offset, message.to_owned())
    }

    fn error_at(&self, offset: u64, message: String) -> Error {
        let (line, column) = self.reader.get_ref().line_column(offset);
        Error::Xml {
            line,
            column,
            offset,
            message,
        }
    }
}

/// Appends `text` to `out` with XML 1.0 line-end normalisation (`\r\n` and a lone `\r`
/// become `\n`), as a SAX parser reports character data. Copies without allocating.
fn push_normalized(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = memchr::memchr(b'\r', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if rest.as_bytes().first() == Some(&b'\n') {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
}

/// `co-xml [FILE|-]`: an XML document in, XML events out.
pub fn run_xml(path: Option<&Path>, limits: XmlLimits, output: &OutputArgs) -> Result<()> {
    signals::stop_on_signals();
    let endpoint::Endpoint { file, .. } = endpoint::open_input(path)?;
    let writer = output.open(crate::EventKind::Xml)?;
    let mut sink = SendTo::<Xml, File>::from_writer(writer);
    let is_file = file.metadata().is_ok_and(|m| m.is_file());
    if is_file {
        xml_events_within(file, limits, &mut sink)
    } else {
        // A pipe or terminal can keep the parser waiting: let a stop request end the wait.
        xml_events_within(StopAwareReader::new(file), limits, &mut sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::printer::Printer;

    /// The events of `doc` in the seed's notation, one string each.
    fn events(doc: &str) -> Result<Vec<String>> {
        let mut printer = Printer::new(Vec::new());
        xml_events(doc.as_bytes(), &mut printer)?;
        let text = String::from_utf8(printer.into_inner()).unwrap();
        Ok(text.lines().map(str::to_owned).collect())
    }

    #[test]
    fn entities_join_the_text_around_them() {
        let got = events("<a>Foster &amp; Sheridan</a>").unwrap();
        assert_eq!(
            got,
            [
                "('start', ('a', {}))",
                "('text', 'Foster & Sheridan')",
                "('end', 'a')"
            ]
        );
    }

    #[test]
    fn cdata_comments_and_line_ends() {
        let got = events("<a>x\r\n<![CDATA[<&>]]><!-- c -->y\rz</a>").unwrap();
        assert_eq!(got[1], "('text', 'x\\n<&>y\\nz')");
    }

    #[test]
    fn empty_elements_give_start_and_end() {
        let got = events("<a><b k=\"1 &lt; 2\"/></a>").unwrap();
        assert_eq!(got[1], "('start', ('b', {'k': '1 < 2'}))");
        assert_eq!(got[2], "('end', 'b')");
    }

    #[test]
    fn malformed_documents_name_line_and_column() {
        let err = events("<a>\n  <b></c>\n</a>").unwrap_err().to_string();
        assert!(err.starts_with("malformed XML at 2:"), "{err}");
        let err = events("<a>\n<b>").unwrap_err().to_string();
        assert!(err.contains("ended inside 2 open elements"), "{err}");
        let err = events("<a/><b/>").unwrap_err().to_string();
        assert!(err.contains("second root"), "{err}");
        let err = events("<a>&nope;</a>").unwrap_err().to_string();
        assert!(err.contains("undefined entity &nope;"), "{err}");
        assert!(events("").is_err());
    }
}
