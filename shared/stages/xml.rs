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
//! A malformed document is an [`Error::Xml`] naming line:column and byte offset (the column
//! counts characters from 1, at the place expat reports, whose columns count from 0), returned
//! *before* the sink is closed: downstream then sees the stream end without an end-of-stream
//! marker and reports the failure instead of taking a partial document for a whole one.

mod checks;
mod dtd;
mod encoding;
mod entities;
mod expansion;
mod fast;
mod limits;
mod position;
mod single_byte;

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use quick_xml::errors::{IllFormedError, SyntaxError};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::args::OutputArgs;
use crate::error::{Error, Result};
use crate::event::{Attr, XmlEvent};
use crate::link::endpoint::{self, StopAwareReader};
use crate::link::{SendTo, Xml};
use crate::signals;
use crate::sink::{deliver_then_close, Sink};
use entities::Entities;

pub use limits::XmlLimits;
use position::Window;

/// Capacity of the window the parser reads from (it grows for a larger token).
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
    let outcome = match parse(input, limits, target) {
        // A stop request (a drain) ends a pipe's input where it stands, perhaps mid-token:
        // the events delivered are a well-formed prefix, so this is a clean end, not a
        // malformed document.
        Err(Error::Xml { .. }) if signals::stop_requested() => Ok(()),
        outcome => outcome,
    };
    deliver_then_close(outcome, target)
}

/// The parse loop of [`xml_events`], without the close.
fn parse<R: Read, S>(input: R, limits: XmlLimits, target: &mut S) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    parse_with(input, limits, target, true)
}

/// [`parse`], with the fast path ([`fast`]) on or off: off only in the tests that check it
/// changes nothing.
fn parse_with<R: Read, S>(input: R, limits: XmlLimits, target: &mut S, fast: bool) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let input = encoding::utf8_input(input).map_err(|e| Error::Xml {
        line: 1,
        column: e.column,
        offset: e.offset,
        message: e.message,
    })?;
    let mut window = Window::new(READ_BUFFER, limits.max_token, input);
    let mut handler = EventHandler {
        text: String::new(),
        depth: 0,
        names: String::new(),
        name_starts: Vec::new(),
        root_closed: false,
        limits,
        seen: Seen::Nothing,
        entities: Box::default(),
        mark: 0,
        doc_start: 0,
        window: (0, 0, 0),
    };
    let outcome = drive(&mut window, &mut handler, target, fast);
    if matches!(outcome, Err(Error::Xml { .. })) {
        // Nothing already parsed is lost: the character data gathered before the error goes
        // downstream first, as expat hands it to `characters()` before it fails.
        let _ = handler.send_text(target);
    }
    outcome
}

/// Reads and parses window after window until the end of the document or an error.
fn drive<R: Read, S>(
    window: &mut Window<R>,
    handler: &mut EventHandler,
    target: &mut S,
    fast: bool,
) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let mut keep = 0;
    loop {
        // About to read, which may block: what was produced goes downstream first.
        target.flush()?;
        if signals::stop_requested() {
            return Ok(());
        }
        if let Err(e) = window.refill(keep) {
            // A read that failed (a byte the encoding does not define) is about the end of
            // what was read; a token over --max-token, about where the token starts.
            let offset = if window.read_failed() {
                window.offset(window.bytes().len())
            } else {
                window.offset(0)
            };
            return Err(locate(window, xml_error(offset, e.to_string())));
        }
        // The unfinished event kept by the refill now starts the window.
        match parse_window(window, handler, 0, target, fast) {
            Ok(Some(unfinished)) => keep = unfinished,
            Ok(None) => return Ok(()),
            Err(e) => return Err(locate(window, e)),
        }
    }
}

/// Parses the window from `from` (an index in it), sending every event that is whole;
/// returns where the first unfinished one starts (to parse again once more bytes are read),
/// or `None` at the end of the document.
///
/// The fast path ([`fast`]) takes the common tokens; quick-xml reads the rest, as one
/// borrowed slice, so names and text are never copied. An event is unfinished when the parse
/// ran into the end of what was read (before the end of the input): character data cut there
/// is sent up to a safe point, anything else is parsed again from its start by a fresh
/// reader. Between two events quick-xml keeps no state this driver does not (end tags are
/// matched here), so a fresh reader carries on where the last one, or the fast path, stopped
/// (except that it drops a byte order mark it starts at, which the fast path never leaves it).
fn parse_window<R: Read, S>(
    window: &Window<R>,
    handler: &mut EventHandler,
    mut from: usize,
    target: &mut S,
    fast: bool,
) -> Result<Option<usize>>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let bytes = window.bytes();
    handler.window = (bytes.as_ptr() as usize, bytes.len(), window.offset(0));
    // A byte order mark opens the document; anywhere else it is a U+FEFF in character data,
    // which a fresh reader would drop (it takes it for the mark): say so here.
    while bytes[from..].starts_with(BOM) {
        handler.mark = window.offset(from);
        if handler.mark == 0 {
            handler.doc_start = 3;
        } else {
            handler.text("\u{FEFF}")?;
        }
        from += 3;
    }
    // The fast path looks no further than the first byte that is not UTF-8 and the first
    // character XML does not allow: the tokens there are quick-xml's, errors included.
    let limit = if fast {
        (from + fast::valid_len(&bytes[from..])).min(window.clean_len())
    } else {
        0
    };
    let mut attrs = Vec::new();
    // Character data as it stands in the window, not yet copied (see `EventHandler::text`):
    // sent as it is at the next tag, copied only if anything else comes first.
    let mut run: Option<&str> = None;
    let mut pos = from;
    loop {
        if pos < limit {
            pos = fast::take(window, limit, handler, pos, &mut run, &mut attrs, target)?;
        }
        match parse_slow(window, handler, pos, &mut run, fast, target)? {
            Slow::Handed(at) => pos = at,
            Slow::Done(outcome) => return Ok(outcome),
        }
    }
}

/// Where quick-xml stopped: at an event the fast path may take (`Handed`), or for good.
enum Slow {
    Handed(usize),
    Done(Option<usize>),
}

/// Reads events with quick-xml from `from` on: until the end of the window or the document
/// (`Done`, as [`parse_window`] returns), or, when `hand_back` is set, to the end of the first
/// event after which a fresh reader would read as this one does.
fn parse_slow<'w, R: Read, S>(
    window: &'w Window<R>,
    handler: &mut EventHandler,
    from: usize,
    run: &mut Option<&'w str>,
    hand_back: bool,
    target: &mut S,
) -> Result<Slow>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let bytes = window.bytes();
    let eof = window.at_eof();
    let mut reader = Reader::from_reader(&bytes[from..]);
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    let mut pos = from;
    loop {
        handler.mark = window.offset(pos);
        let event = reader.read_event();
        let end = from + reader.buffer_position() as usize;
        let unfinished = !eof && end >= bytes.len();
        match event {
            Err(e) => {
                handler.keep(run.take());
                // Cut by the end of the window (`<!` needs a few bytes more to say what it is).
                if !eof && (unfinished || bytes.len() - pos < 16) {
                    return Ok(Slow::Done(Some(pos)));
                }
                let offset = error_offset(window, from, pos, reader.error_position(), &e);
                if let quick_xml::Error::Encoding(_) = e {
                    handler.text_before(window, pos, offset)?;
                }
                check_chars(window, offset)?;
                return Err(xml_error(offset, e.to_string()));
            }
            Ok(Event::Eof) if !eof => {
                handler.keep(run.take());
                return Ok(Slow::Done(Some(pos)));
            }
            Ok(Event::Text(text)) if unfinished => {
                // More of this text may follow: send it up to a point where nothing can
                // straddle the cut (`]]>`, `\r\n`), and parse the rest again with more bytes.
                handler.keep(run.take());
                let raw = text.as_bytes();
                let safe = raw.len()
                    - raw
                        .iter()
                        .rev()
                        .take_while(|&&b| b == b']' || b == b'\r')
                        .count();
                handler.check_text_chars(window, pos, &text[..safe])?;
                handler.text(&text[..safe])?;
                return Ok(Slow::Done(Some(pos + safe)));
            }
            Ok(Event::Text(text)) if run.is_none() => {
                handler.check_text_chars(window, pos, &text)?;
                match text.into_inner() {
                    Cow::Borrowed(raw) if handler.as_it_stands(raw) => *run = Some(raw),
                    raw => handler.text(&raw)?,
                }
            }
            Ok(event) => {
                if let Err(e) = check_chars(window, window.offset(end)) {
                    handler.keep(run.take());
                    return Err(e);
                }
                if matches!(event, Event::DocType(_)) && handler.depth == 0 {
                    // quick-xml takes `<!doctype` in any case; expat only in capitals.
                    if !bytes[pos..].starts_with(b"<!DOCTYPE") {
                        handler.keep(run.take());
                        return Err(handler.error_at_mark(
                            "a DOCTYPE declaration must be spelled '<!DOCTYPE', in capitals",
                        ));
                    }
                }
                if let Some(text) = run.take() {
                    if matches!(event, Event::Start(_) | Event::Empty(_) | Event::End(_)) {
                        send_borrowed(target, XmlEvent::Text(Cow::Borrowed(text)))?;
                    } else {
                        handler.keep(Some(text));
                    }
                }
                if !handler.handle(event, target)? {
                    return Ok(Slow::Done(None));
                }
            }
        }
        pos = end;
        if hand_back && !bytes[pos..].starts_with(BOM) {
            return Ok(Slow::Handed(pos));
        }
    }
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The stream offset an error of the parser is about: where expat reports it.
/// `from` is where the reader started in the window, `pos` where the failed event starts,
/// `at` quick-xml's own error position (from `from`).
fn error_offset<R: Read>(
    window: &Window<R>,
    from: usize,
    pos: usize,
    at: u64,
    e: &quick_xml::Error,
) -> u64 {
    let bytes = window.bytes();
    let mut offset = window.offset(from) + at;
    match e {
        quick_xml::Error::Encoding(_) => {
            offset = window.invalid_utf8_from(pos).unwrap_or(offset);
        }
        quick_xml::Error::Syntax(
            SyntaxError::UnclosedDoubleQuotedAttributeValue
            | SyntaxError::UnclosedSingleQuotedAttributeValue,
        ) => {
            // Expat stops at the first `<` in the value, if there is one.
            if let Some(i) = memchr::memchr(b'<', &bytes[pos + 1..]) {
                offset = window.offset(pos + 1 + i);
            }
        }
        quick_xml::Error::Syntax(SyntaxError::UnclosedDoctype) => {
            // Expat points inside the DOCTYPE, at what keeps it from ending.
            if let Some(at) = entities::doctype_error_at(&bytes[pos..]) {
                offset = window.offset(pos + at);
            }
        }
        quick_xml::Error::IllFormed(IllFormedError::UnclosedReference) => {
            // Expat points past the name after the `&`.
            let amp = (offset - window.offset(0)) as usize;
            let name = bytes[amp + 1..]
                .iter()
                .take_while(|&&b| b >= 0x80 || checks::is_name_char(char::from(b)))
                .count();
            offset += 1 + name as u64;
        }
        _ => {}
    }
    offset
}

/// Fails at the first character XML does not allow, if the parse has read past it.
fn check_chars<R: Read>(window: &Window<R>, upto: u64) -> Result<()> {
    match window.bad_char_before(upto) {
        None => Ok(()),
        Some(at) => Err(xml_error(
            at,
            "a character XML does not allow (a control character or U+FFFE/U+FFFF)".into(),
        )),
    }
}

/// An error at stream offset `offset`; [`locate`] fills in its line and column, which only
/// the window can tell.
fn xml_error(offset: u64, message: String) -> Error {
    Error::Xml {
        line: 0,
        column: 0,
        offset,
        message,
    }
}

/// Fills in the line and column of an XML error (its offset is in the window).
fn locate<R: Read>(window: &Window<R>, error: Error) -> Error {
    match error {
        Error::Xml {
            offset, message, ..
        } => {
            let (line, column) = window.line_column(offset);
            Error::Xml {
                line,
                column,
                offset,
                message,
            }
        }
        other => other,
    }
}

/// How far into the document the parse is, for the constraints on where the XML
/// declaration and the DOCTYPE may stand.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Seen {
    Nothing,
    /// Something before the root element (the declaration, comments, whitespace).
    Prolog,
    /// The DOCTYPE.
    Doctype,
    /// The root element has started.
    Root,
}

/// The parse in progress: the character data gathered since the last tag, and where we are
/// in the element tree.
struct EventHandler {
    /// Character data since the last tag, decoded (entities, CDATA, line ends). Reused, so
    /// text costs no allocation once it has grown to the longest run.
    text: String,
    /// Open elements.
    depth: usize,
    /// The names of the open elements, one after the other, to match end tags against
    /// (bounded by `--max-token`), and where each starts.
    names: String,
    name_starts: Vec<usize>,
    limits: XmlLimits,
    seen: Seen,
    /// General entities declared in the DOCTYPE.
    entities: Box<Entities>,
    /// True once the root element has ended: anything but whitespace, comments and
    /// processing instructions after it is an error.
    root_closed: bool,
    /// Stream offset where the event being handled starts.
    mark: u64,
    /// Stream offset where the document starts (after a byte order mark): the only place
    /// for an XML declaration.
    doc_start: u64,
    /// The window being parsed: its address, length and stream offset, so that an error
    /// inside a DOCTYPE can say where (the event is a slice of it).
    window: (usize, usize, u64),
}

impl EventHandler {
    /// Handles one parser event; returns false at the end of the document.
    fn handle<S>(&mut self, event: Event<'_>, target: &mut S) -> Result<bool>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        match event {
            Event::Start(start) => {
                self.send_text(target)?;
                self.open(start.name().into_inner())?;
                self.start(&start, target)?;
            }
            Event::Empty(start) => {
                self.send_text(target)?;
                self.start(&start, target)?;
                self.end(start.name().into_inner(), target)?;
            }
            Event::End(end) => {
                self.send_text(target)?;
                let name = end.name().into_inner();
                self.close(name)?;
                self.end(name, target)?;
            }
            Event::Text(text) => self.text(&text)?,
            Event::CData(cdata) => {
                self.in_root("a CDATA section")?;
                push_normalized(&mut self.text, &cdata);
                self.check_text_size()?;
            }
            Event::GeneralRef(reference) => {
                self.in_root("an entity reference")?;
                self.push_reference(&reference, target)?;
                self.check_text_size()?;
            }
            Event::Comment(comment) => {
                if let Some(i) = checks::bad_comment(comment.as_bytes()) {
                    // Expat points after the `--`; the content starts after `<!--`.
                    let at = self.mark + 4 + i as u64 + 2;
                    return Err(xml_error(at, "\"--\" inside a comment".into()));
                }
                self.seen = self.seen.max(Seen::Prolog);
            }
            Event::PI(pi) => {
                if let Some((why, target_len)) = checks::bad_pi(pi.as_bytes()) {
                    // Expat points after the target; the content starts after `<?`.
                    return Err(xml_error(self.mark + 2 + target_len as u64, why.into()));
                }
                self.seen = self.seen.max(Seen::Prolog);
            }
            Event::Decl(decl) => {
                if self.seen != Seen::Nothing || self.mark != self.doc_start {
                    return Err(self.error_at_mark(
                        "an XML declaration that is not at the start of the document",
                    ));
                }
                self.seen = Seen::Prolog;
                if let Some(Ok(standalone)) = decl.standalone() {
                    if &*standalone == "yes" {
                        self.entities.set_standalone();
                    }
                }
            }
            Event::DocType(doctype) => self.doctype(&doctype)?,
            Event::Eof => {
                self.at_end()?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// True when character data `raw` may be sent as it stands in the window, without
    /// copying it: nothing gathered before it, inside the root, no line end to normalise, no
    /// `>` (which might end a forbidden `]]>`), within --max-token. Anything else goes through
    /// [`text`](Self::text).
    #[inline]
    fn as_it_stands(&self, raw: &str) -> bool {
        self.text.is_empty()
            && self.depth > 0
            && raw.len() <= self.limits.max_token
            && if raw.len() <= checks::SHORT {
                !raw.bytes().any(|b| b == b'\r' || b == b'>')
            } else {
                memchr::memchr2(b'\r', b'>', raw.as_bytes()).is_none()
            }
    }

    /// Fails at the first character XML does not allow in character data `raw` (which starts
    /// at `pos` in the window) or before it, keeping the data before that character, as
    /// expat reports it before it fails.
    fn check_text_chars<R: Read>(
        &mut self,
        window: &Window<R>,
        pos: usize,
        raw: &str,
    ) -> Result<()> {
        let Err(e) = check_chars(window, window.offset(pos + raw.len())) else {
            return Ok(());
        };
        if let Error::Xml { offset, .. } = e {
            let start = window.offset(pos);
            if offset > start {
                let good = usize::try_from(offset - start)
                    .unwrap_or(raw.len())
                    .min(raw.len());
                if raw.is_char_boundary(good) {
                    // A `]]>` before the bad character is an error of its own.
                    self.text(&raw[..good])?;
                }
            }
        }
        Err(e)
    }

    /// Keeps the character data from `pos` in the window up to stream offset `bad`, a byte
    /// the encoding does not allow, if the event that failed there is character data:
    /// expat reports it before it fails.
    fn text_before<R: Read>(&mut self, window: &Window<R>, pos: usize, bad: u64) -> Result<()> {
        let bytes = window.bytes();
        let Some(good) = bad.checked_sub(window.offset(pos)) else {
            return Ok(());
        };
        let good = usize::try_from(good).unwrap_or(usize::MAX);
        if bytes.get(pos) == Some(&b'<') || pos + good > bytes.len() {
            return Ok(());
        }
        match std::str::from_utf8(&bytes[pos..pos + good]) {
            Ok(text) => {
                self.check_text_chars(window, pos, text)?;
                self.text(text)
            }
            Err(_) => Ok(()),
        }
    }

    /// Copies character data that was left standing in the window before the window moves
    /// or anything is joined to it.
    #[inline]
    fn keep(&mut self, run: Option<&str>) {
        if let Some(run) = run {
            self.text.push_str(run);
        }
    }

    /// Character data as written (no references: those are events of their own).
    #[inline]
    fn text(&mut self, raw: &str) -> Result<()> {
        if let Some(i) = checks::cdata_end_in_text(raw.as_bytes()) {
            // Expat still reports the lines before the one that goes wrong (it hands data
            // over a line at a time), not the start of that line.
            if self.depth > 0 {
                if let Some(nl) = memchr::memrchr2(b'\n', b'\r', &raw.as_bytes()[..i]) {
                    push_normalized(&mut self.text, &raw[..=nl]);
                }
            }
            // At the `>`, where expat sees the token go wrong.
            let at = self.mark + i as u64 + 2;
            return Err(xml_error(at, "\"]]>\" in character data".into()));
        }
        if self.depth == 0 {
            if let Some(at) = checks::junk_outside_root(raw, self.seen == Seen::Root) {
                let message = "text outside the root element".into();
                return Err(xml_error(self.mark + at as u64, message));
            }
            self.seen = self.seen.max(Seen::Prolog);
            return Ok(());
        }
        push_normalized(&mut self.text, raw);
        self.check_text_size()
    }

    /// A DOCTYPE: where it may stand, and the entities it declares.
    #[cold]
    #[inline(never)]
    fn doctype(&mut self, doctype: &str) -> Result<()> {
        if self.seen >= Seen::Doctype {
            if self.depth > 0 {
                // Expat reads `<!` in content as a comment or CDATA section that goes wrong
                // at its third character.
                let message = "a DOCTYPE inside the root element".into();
                return Err(xml_error(self.mark + 2, message));
            }
            let what = if self.seen == Seen::Root {
                "a DOCTYPE after the root element"
            } else {
                "a second DOCTYPE"
            };
            return Err(self.error_at_mark(what));
        }
        self.seen = Seen::Doctype;
        let start = self.window_offset_of(doctype);
        self.entities
            .declare_from_doctype(doctype, self.limits.max_entity_expansion)
            .map_err(|e| xml_error(start + e.at as u64, e.message))
    }

    /// The stream offset of `text`, a slice of the window being parsed (the mark if it is
    /// not one).
    fn window_offset_of(&self, text: &str) -> u64 {
        let (base, len, offset) = self.window;
        match (text.as_ptr() as usize).checked_sub(base) {
            Some(i) if i < len => offset + i as u64,
            _ => self.mark,
        }
    }

    /// The end of the input: the document must be whole.
    fn at_end(&self) -> Result<()> {
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
        Ok(())
    }

    /// Matches an end tag against the innermost open element, and closes it.
    #[inline]
    fn close(&mut self, name: &str) -> Result<()> {
        let Some(&start) = self.name_starts.last() else {
            // Expat points after the `<`; at a mismatched name, at the name.
            let e = IllFormedError::UnmatchedEndTag(name.to_owned());
            let message = quick_xml::Error::IllFormed(e).to_string();
            return Err(xml_error(self.mark + 1, message));
        };
        if &self.names[start..] != name {
            let e = IllFormedError::MismatchedEndTag {
                expected: self.names[start..].to_owned(),
                found: name.to_owned(),
            };
            let message = quick_xml::Error::IllFormed(e).to_string();
            return Err(xml_error(self.mark + 2, message));
        }
        self.names.truncate(start);
        self.name_starts.pop();
        self.depth -= 1;
        Ok(())
    }

    /// [`close`](Self::close) for an end tag the fast path has matched against the innermost
    /// open element.
    #[inline]
    fn close_matched(&mut self) {
        if let Some(start) = self.name_starts.pop() {
            self.names.truncate(start);
            self.depth -= 1;
        }
    }

    /// Counts an element opening, within `--max-depth` and `--max-token`.
    #[inline]
    fn open(&mut self, name: &str) -> Result<()> {
        self.depth += 1;
        self.name_starts.push(self.names.len());
        self.names.push_str(name);
        if self.depth > self.limits.max_depth {
            let message = format!(
                "elements nested deeper than {} levels (raise it with --max-depth)",
                self.limits.max_depth
            );
            return Err(self.error_at_mark(&message));
        }
        if self.names.len() > self.limits.max_token {
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
        self.seen = Seen::Root;
        let name = start.name().into_inner();
        if let Some(why) = checks::bad_name(name) {
            return Err(xml_error(self.mark + 1, format!("{why}: <{name}")));
        }
        let mut attrs = Vec::new();
        // Most tags have no attributes: do not start the attribute parser for them.
        let none = start.attributes_raw().bytes().all(checks::is_space);
        for attr in start.attributes().take(if none { 0 } else { usize::MAX }) {
            if attrs.len() == self.limits.max_attributes {
                let message = format!(
                    "a start tag with over {} attributes (raise it with --max-attributes)",
                    self.limits.max_attributes
                );
                return Err(self.error_at_mark(&message));
            }
            let attr = attr.map_err(|e| {
                // quick-xml counts from the byte after `<`.
                let (AttrError::ExpectedEq(at)
                | AttrError::ExpectedValue(at)
                | AttrError::UnquotedValue(at)
                | AttrError::ExpectedQuote(at, _)
                | AttrError::Duplicated(at, _)) = e;
                xml_error(self.mark + 1 + at as u64, e.to_string())
            })?;
            let value = self.attribute_value(start.name().into_inner(), &attr)?;
            attrs.push(Attr {
                name: Cow::Borrowed(attr.key.into_inner()),
                value,
            });
        }
        if self.entities.has_attributes() {
            self.complete_attributes(start.name().into_inner(), &mut attrs)?;
        }
        let name = Cow::Borrowed(start.name().into_inner());
        if attrs.capacity() == 0 {
            // Nothing owned (no attributes): no drop glue to run.
            send_borrowed(target, XmlEvent::Start { name, attrs })
        } else {
            target.send(&XmlEvent::Start { name, attrs })
        }
    }

    /// [`start`](Self::start) for a tag the fast path has read: not after the root element,
    /// an ASCII name, attributes with ASCII names, distinct, within --max-attributes, values
    /// that need no decoding, no attribute declarations. Sends it with the vector `attrs`,
    /// which is given back empty, so tags cost no allocation.
    #[inline]
    fn start_checked<'w, S>(
        &mut self,
        name: &'w str,
        attrs: &mut Vec<Attr<'w>>,
        target: &mut S,
    ) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        debug_assert!(!self.root_closed && checks::bad_name(name).is_none());
        self.seen = Seen::Root;
        let name = Cow::Borrowed(name);
        if attrs.is_empty() {
            return send_borrowed(
                target,
                XmlEvent::Start {
                    name,
                    attrs: Vec::new(),
                },
            );
        }
        let event = XmlEvent::Start {
            name,
            attrs: std::mem::take(attrs),
        };
        let sent = target.send(&event);
        if let XmlEvent::Start {
            attrs: mut kept, ..
        } = event
        {
            kept.clear();
            *attrs = kept;
        }
        sent
    }

    /// An attribute's value as SAX reports it (references replaced, whitespace normalised),
    /// after the checks quick-xml leaves to us.
    fn attribute_value<'v>(
        &mut self,
        tag_name: &str,
        attr: &quick_xml::events::attributes::Attribute<'v>,
    ) -> Result<Cow<'v, str>> {
        let key = attr.key.into_inner();
        if let Some(why) = checks::bad_name(key) {
            // The key is a slice of the tag, which starts one byte after the mark.
            let in_tag = (key.as_ptr() as usize).wrapping_sub(tag_name.as_ptr() as usize);
            let at = self.mark + 1 + in_tag as u64;
            return Err(xml_error(at, format!("{why}: attribute {key}")));
        }
        if let Some(i) = memchr::memchr(b'<', attr.value.as_bytes()) {
            // The value is a slice of the tag, which starts one byte after the mark.
            let in_tag = (attr.value.as_ptr() as usize).wrapping_sub(tag_name.as_ptr() as usize);
            let at = self.mark + 1 + (in_tag + i) as u64;
            let message = format!("\"<\" in the value of attribute {key}");
            return Err(xml_error(at, message));
        }
        if attr.value.contains('&') {
            return self.value_with_references(tag_name, key, &attr.value);
        }
        let value = attr.normalized_value_with(XmlVersion::Implicit1_0, 1, |name| {
            resolve_predefined_entity(name)
        });
        let value = value.map_err(|e| self.error_at_mark(&format!("attribute {key}: {e}")))?;
        if let Cow::Owned(expanded) = &value {
            if let Some(c) = expanded.chars().find(|&c| !checks::is_xml_char(c)) {
                let message = format!(
                    "attribute {key} refers to U+{:04X}, a character XML does not allow",
                    u32::from(c)
                );
                return Err(self.error_at_mark(&message));
            }
        }
        Ok(value)
    }

    /// An attribute value holding references: replaced here, those to declared entities
    /// followed on an explicit stack. Expat reports a bad one written in the value where it
    /// stands, one in an entity's replacement text at the tag. (Out of line: most values
    /// hold none, and the parse loop stays as small as it was.)
    #[inline(never)]
    fn value_with_references<'v>(
        &mut self,
        tag_name: &str,
        key: &str,
        value: &str,
    ) -> Result<Cow<'v, str>> {
        let budget = self.limits.max_entity_expansion;
        match self.entities.attribute_value(value, true, budget) {
            Ok(value) => Ok(Cow::Owned(value)),
            Err(e) => {
                let in_tag = (value.as_ptr() as usize).wrapping_sub(tag_name.as_ptr() as usize);
                let at =
                    e.at.map_or(self.mark, |i| self.mark + 1 + (in_tag + i) as u64);
                Err(xml_error(at, format!("attribute {key}: {}", e.message)))
            }
        }
    }

    /// The attributes `<!ATTLIST>` declared for element `name`: collapsed values and
    /// defaults (see `Entities::complete`).
    #[cold]
    #[inline(never)]
    fn complete_attributes(&self, name: &str, attrs: &mut Vec<Attr<'_>>) -> Result<()> {
        let max = self.limits.max_attributes;
        self.entities
            .complete(name, attrs, max)
            .map_err(|why| self.error_at_mark(&why))
    }

    /// Sends `('end', name)`, noting when the root element closes.
    fn end<S>(&mut self, name: &str, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        if self.depth == 0 {
            self.root_closed = true;
        }
        send_borrowed(target, XmlEvent::End(Cow::Borrowed(name)))
    }

    /// Sends the character data gathered since the last tag as one `('text', ...)` event.
    fn send_text<S>(&mut self, target: &mut S) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        if self.text.is_empty() {
            return Ok(());
        }
        let result = send_borrowed(target, XmlEvent::Text(Cow::Borrowed(&self.text)));
        self.text.clear();
        result
    }

    /// Appends what an entity or character reference stands for; a declared entity may
    /// also hold markup, whose events are sent (see `expansion.rs`).
    fn push_reference<S>(
        &mut self,
        reference: &quick_xml::events::BytesRef<'_>,
        target: &mut S,
    ) -> Result<()>
    where
        S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
    {
        let name: &str = reference;
        if reference.is_char_ref() {
            match reference.resolve_char_ref() {
                Ok(Some(c)) if checks::is_xml_char(c) => self.text.push(c),
                _ => return Err(self.bad_reference(name)),
            }
        } else if let Some(value) = resolve_predefined_entity(name) {
            self.text.push_str(value);
        } else {
            if let Some((at, message)) = entities::bad_reference(name) {
                return Err(xml_error(self.mark + at as u64, message));
            }
            self.expand_entity(name, target)?;
        }
        Ok(())
    }

    /// A character reference that does not stand for a character XML allows: refused where
    /// expat refuses it (at a character that cannot be in it, else at its `&`).
    #[cold]
    fn bad_reference(&self, name: &str) -> Error {
        match entities::bad_reference(name) {
            Some((at, message)) => xml_error(self.mark + at as u64, message),
            None => self.error_at_mark(&format!("invalid character reference &{name};")),
        }
    }

    /// Refuses character data that could not travel as one event (pieces joined between
    /// entities can grow without any single token being large).
    #[inline]
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
        xml_error(self.mark, message.to_owned())
    }
}

/// Sends an event that borrows all its text and owns nothing (no attributes), without its
/// drop glue: the compiler calls that glue out of line for every event (an `XmlEvent` may
/// hold a `Vec`), which was 2% of co-xml's time. Forgetting such an event frees nothing,
/// since it holds no memory of its own.
#[inline]
fn send_borrowed<S>(target: &mut S, event: XmlEvent<'_>) -> Result<()>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    debug_assert!(match &event {
        XmlEvent::Start { name, attrs } =>
            matches!(name, Cow::Borrowed(_)) && attrs.capacity() == 0,
        XmlEvent::Text(t) | XmlEvent::End(t) => matches!(t, Cow::Borrowed(_)),
    });
    target.send(&std::mem::ManuallyDrop::new(event))
}

/// Appends `text` to `out` with XML 1.0 line-end normalisation (`\r\n` and a lone `\r`
/// become `\n`), as a SAX parser reports character data. Copies without allocating.
fn push_normalized(out: &mut String, text: &str) {
    if text.len() <= checks::SHORT {
        // The whitespace between tags (`\r\n` and indentation, in a file written on
        // Windows): a plain loop, no vector search per line end.
        let bytes = text.as_bytes();
        let (mut start, mut i) = (0, 0);
        while i < bytes.len() {
            if bytes[i] == b'\r' {
                // `\r` is ASCII: both cuts are character boundaries.
                out.push_str(&text[start..i]);
                out.push('\n');
                i += 1 + usize::from(bytes.get(i + 1) == Some(&b'\n'));
                start = i;
            } else {
                i += 1;
            }
        }
        out.push_str(&text[start..]);
        return;
    }
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

    /// Hands out at most `step` bytes per read, so events are cut at every possible place.
    pub(super) struct Trickle<'d> {
        pub doc: &'d [u8],
        pub step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(out.len()).min(self.doc.len());
            out[..n].copy_from_slice(&self.doc[..n]);
            self.doc = &self.doc[n..];
            Ok(n)
        }
    }

    fn events_read_by(doc: &[u8], step: usize, window: usize) -> Result<Vec<String>> {
        let mut printer = Printer::new(Vec::new());
        let limits = XmlLimits {
            max_token: window,
            ..XmlLimits::default()
        };
        xml_events_within(Trickle { doc, step }, limits, &mut printer)?;
        let text = String::from_utf8(printer.into_inner()).unwrap();
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// Whatever the reads cut (a tag, a reference, a `\r\n`, a `]]`, a character, a U+FEFF),
    /// the events are those of the whole document, and so is an error's place.
    #[test]
    fn events_do_not_depend_on_where_reads_end() {
        let doc = "\u{FEFF}<?xml version=\"1.0\"?>\r\n<!DOCTYPE r [<!ENTITY e \"é&amp;\">]>\r\n\
            <r a=\"x &lt; y\"><b>one\r\ntwo ]] ]&gt; &e; &#x1F68C;</b><!-- c --><?p i?>\
            <c><![CDATA[<\u{FEFF}>]]>\u{FEFF}\u{FEFF}x\r</c><d/>\u{FEFF}</r>\n";
        let whole = events(doc).unwrap();
        assert!(whole.len() > 10, "{whole:?}");
        for step in 1..9 {
            assert_eq!(
                events_read_by(doc.as_bytes(), step, 1 << 20).unwrap(),
                whole
            );
        }
        let broken = "<r>\n<b>x</b>\n  <c>]]></c></r>";
        let error = events(broken).unwrap_err().to_string();
        assert!(
            error.starts_with("malformed XML at 3:8 (byte 20)"),
            "{error}"
        );
        for step in 1..9 {
            let e = events_read_by(broken.as_bytes(), step, 1 << 20).unwrap_err();
            assert_eq!(e.to_string(), error);
        }
    }

    /// Short runs (a byte loop) and long ones (a vector search) normalise line ends alike.
    #[test]
    fn line_ends_normalise_the_same_in_short_and_long_text() {
        for pad in [0, 3, checks::SHORT, 200] {
            let x = "x".repeat(pad);
            let mut out = String::from("<");
            push_normalized(&mut out, &format!("\r\n{x}\r\r\n{x}é\r"));
            assert_eq!(out, format!("<\n{x}\n\n{x}é\n"), "pad {pad}");
        }
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
