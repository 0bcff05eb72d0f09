//! The fast path: the tokens nearly every document is made of, taken without quick-xml.
//!
//! Inside the root element a real document is start tags, end tags, short runs of character
//! data and now and then a CDATA section. quick-xml reads each of them through a general state
//! machine and validates each token's UTF-8 on its own; the bare quick-xml loop (the issue's
//! yardstick) pays that too, so co-xml can only come near it by tokenising the common case
//! more cheaply itself. [`take`] does: the window's UTF-8 is validated once, up front
//! ([`valid_len`]), and each token below is a few byte compares, a table lookup per name byte
//! and one vector search per run of text.
//!
//! It takes only what it is sure of, and hands every such token to the very handler functions
//! the quick-xml path calls, in the same order, so events, errors and their places are the
//! same either way:
//!
//! * `<name>`, `<name/>`, `<name a="v" b='w'>`: an ASCII name, at most [`MAX_ATTRS`]
//!   attributes with ASCII names, distinct, each after whitespace, `=` right after the name,
//!   a quoted value without `&`, `<`, `>`, tab, CR or LF (values that need no normalising);
//!   never when the DOCTYPE declared attribute defaults, nor after the root element;
//! * `</name>` (whitespace allowed before `>`) that closes the innermost open element;
//! * character data inside the root element, up to the next `<` or `&`;
//! * `<![CDATA[...]]>` inside the root element.
//!
//! Everything else stops it where that token starts, and the quick-xml path reads from there:
//! references, comments, processing instructions, declarations, anything outside the root
//! element, non-ASCII names, a token cut by the end of the window or past the first byte that
//! is not UTF-8 or the first character XML does not allow, a tag followed by a byte order
//! mark (a fresh quick-xml reader would drop it), and every error.

use std::borrow::Cow;
use std::io::Read;

use crate::error::Result;
use crate::event::{Attr, XmlEvent};
use crate::sink::Sink;

use super::checks::{is_ascii_name_start, is_space, ASCII_NAME};
use super::position::Window;
use super::{push_normalized, send_borrowed, EventHandler};

/// More attributes than this in one tag go the quick-xml way (the duplicate check here
/// compares every pair).
pub const MAX_ATTRS: usize = 32;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The length of the longest prefix of `bytes` that is valid UTF-8: the fast path takes no
/// token that reaches past it, so quick-xml reports a bad byte exactly as before.
#[inline]
pub fn valid_len(bytes: &[u8]) -> usize {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(_) => match simdutf8::compat::from_utf8(bytes) {
            Ok(_) => bytes.len(),
            Err(e) => e.valid_up_to(),
        },
    }
}

/// Takes the tokens from `pos` (an index in the window) on while they are of the kinds this
/// file handles, sending their events as the quick-xml path would; returns where the first
/// token it did not take starts. Only `bytes[..limit]` is looked at: `limit` is no further
/// than the first byte that is not UTF-8 and the first character XML does not allow.
///
/// `run` and `attrs` are the driver's: the character data left standing in the window, and a
/// vector for attributes reused from tag to tag.
#[allow(clippy::too_many_arguments)]
pub fn take<'w, R: Read, S>(
    window: &'w Window<R>,
    limit: usize,
    handler: &mut EventHandler,
    mut pos: usize,
    run: &mut Option<&'w str>,
    attrs: &mut Vec<Attr<'w>>,
    target: &mut S,
) -> Result<usize>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let bytes = &window.bytes()[..limit];
    while let Some(&b) = bytes.get(pos) {
        let taken = if b == b'<' {
            match bytes.get(pos + 1) {
                Some(b'/') => end_tag(window, bytes, handler, pos, run, target)?,
                Some(b'!') => cdata(window, bytes, handler, pos, run)?,
                Some(b'?') | None => None,
                Some(_) => start_tag(window, bytes, handler, pos, run, attrs, target)?,
            }
        } else if b == b'&' || handler.depth == 0 {
            None
        } else {
            text(window, bytes, handler, pos, run)?
        };
        match taken {
            Some(end) => pos = end,
            None => break,
        }
    }
    Ok(pos)
}

/// `bytes[from..to]` as text.
#[inline]
fn str_of(bytes: &[u8], from: usize, to: usize) -> &str {
    // SAFETY: `bytes` is the window up to `limit`, which `take`'s caller keeps within the
    // prefix `valid_len` found valid UTF-8, and every cut made here is next to an ASCII byte
    // (`<`, `>`, `&`, a quote, whitespace, a name's end) or at the start or end of that
    // prefix, so it is a character boundary and the slice is valid UTF-8 too.
    unsafe { std::str::from_utf8_unchecked(&bytes[from..to]) }
}

/// Character data up to the next `<` or `&` (the quick-xml path's `Text` event).
#[inline]
fn text<'w, R: Read>(
    window: &Window<R>,
    bytes: &'w [u8],
    handler: &mut EventHandler,
    pos: usize,
    run: &mut Option<&'w str>,
) -> Result<Option<usize>> {
    let Some(scan) = scan_text(&bytes[pos..]) else {
        return Ok(None); // Perhaps cut by the end of the window: quick-xml's cases.
    };
    let raw = str_of(bytes, pos, pos + scan.len);
    handler.mark = window.offset(pos);
    if scan.gt {
        // Perhaps a `]]>`: the general way, which looks (`as_it_stands` refuses a `>`).
        handler.keep(run.take());
        handler.text(raw)?;
    } else if scan.cr {
        // What `text` does with data inside the root element that holds no `>`.
        handler.keep(run.take());
        push_normalized(&mut handler.text, raw);
        handler.check_text_size()?;
    } else if run.is_none() && handler.text.is_empty() && raw.len() <= handler.limits.max_token {
        // `as_it_stands`, whose search for `\r` and `>` the scan has done.
        *run = Some(raw);
    } else {
        handler.keep(run.take());
        handler.text(raw)?;
    }
    Ok(Some(pos + scan.len))
}

/// What [`scan_text`] found: the length of the character data, and whether it holds a `\r`
/// or a `>`.
struct TextScan {
    len: usize,
    cr: bool,
    gt: bool,
}

/// The character data at the start of `rest`, up to its first `<` or `&`, if it has one.
///
/// Most runs are a few bytes (whitespace between tags, a field's value): they are read eight
/// bytes at a time, with the bytes sought found by the classic zero-byte test on a `u64`
/// (exact for the first match, which is all that is used); longer ones by vector searches.
#[inline]
fn scan_text(rest: &[u8]) -> Option<TextScan> {
    const SHORT: usize = 64;
    let (mut i, mut cr, mut gt) = (0, 0u64, 0u64);
    while let Some(chunk) = rest.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let stop = bytes_equal(x, b'<') | bytes_equal(x, b'&');
        if stop != 0 {
            // A false match can only stand above a true one: below the first stop, the
            // marks for `\r` and `>` are true ones.
            let below = (stop & stop.wrapping_neg()) - 1;
            return Some(TextScan {
                len: i + (stop.trailing_zeros() / 8) as usize,
                cr: (cr | bytes_equal(x, b'\r') & below) != 0,
                gt: (gt | bytes_equal(x, b'>') & below) != 0,
            });
        }
        cr |= bytes_equal(x, b'\r');
        gt |= bytes_equal(x, b'>');
        i += 8;
        if i == SHORT {
            break;
        }
    }
    let len = i + memchr::memchr2(b'<', b'&', &rest[i..])?;
    let tail = &rest[i..len];
    Some(TextScan {
        len,
        cr: cr != 0 || memchr::memchr(b'\r', tail).is_some(),
        gt: gt != 0 || memchr::memchr(b'>', tail).is_some(),
    })
}

/// The high bit of every byte of `x` that equals `b`, and perhaps of bytes above such a one.
#[inline]
fn bytes_equal(x: u64, b: u8) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let v = x ^ (ONES * u64::from(b));
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// `<![CDATA[...]]>` inside the root element.
fn cdata<R: Read>(
    window: &Window<R>,
    bytes: &[u8],
    handler: &mut EventHandler,
    pos: usize,
    run: &mut Option<&str>,
) -> Result<Option<usize>> {
    const OPEN: &[u8] = b"<![CDATA[";
    if handler.depth == 0 || !bytes[pos..].starts_with(OPEN) {
        return Ok(None);
    }
    let from = pos + OPEN.len();
    // The first `]]>`: a `>` is rare in a section, so look for it, then at what precedes it
    // (a memmem searcher costs more to build than this search takes).
    let mut at = from;
    let len = loop {
        let Some(i) = memchr::memchr(b'>', &bytes[at..]) else {
            return Ok(None);
        };
        let gt = at + i;
        if gt >= from + 2 && bytes[gt - 2..gt] == *b"]]" {
            break gt - 2 - from;
        }
        at = gt + 1;
    };
    let end = from + len + 3;
    if bytes[end..].starts_with(BOM) {
        return Ok(None);
    }
    handler.mark = window.offset(pos);
    handler.keep(run.take());
    push_normalized(&mut handler.text, str_of(bytes, from, from + len));
    handler.check_text_size()?;
    Ok(Some(end))
}

/// `</name>` closing the innermost open element.
fn end_tag<'w, R: Read, S>(
    window: &Window<R>,
    bytes: &'w [u8],
    handler: &mut EventHandler,
    pos: usize,
    run: &mut Option<&'w str>,
    target: &mut S,
) -> Result<Option<usize>>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    let Some(&open) = handler.name_starts.last() else {
        return Ok(None);
    };
    let expected = &handler.names.as_bytes()[open..];
    let from = pos + 2;
    let to = from + expected.len();
    if !bytes.get(from..to).is_some_and(|name| same(name, expected)) {
        return Ok(None);
    }
    let mut end = to;
    while bytes.get(end).is_some_and(|&b| is_space(b)) {
        end += 1;
    }
    if bytes.get(end) != Some(&b'>') || bytes[end + 1..].starts_with(BOM) {
        return Ok(None);
    }
    let name = str_of(bytes, from, to);
    handler.mark = window.offset(pos);
    if let Some(text) = run.take() {
        send_borrowed(target, XmlEvent::Text(Cow::Borrowed(text)))?;
    }
    handler.send_text(target)?;
    handler.close_matched();
    handler.end(name, target)?;
    Ok(Some(end + 1))
}

/// A start tag or an empty-element tag as the module's doc comment says.
#[allow(clippy::too_many_arguments)]
fn start_tag<'w, R: Read, S>(
    window: &Window<R>,
    bytes: &'w [u8],
    handler: &mut EventHandler,
    pos: usize,
    run: &mut Option<&'w str>,
    attrs: &mut Vec<Attr<'w>>,
    target: &mut S,
) -> Result<Option<usize>>
where
    S: for<'a> Sink<XmlEvent<'a>> + ?Sized,
{
    if handler.root_closed || handler.entities.has_attributes() {
        return Ok(None);
    }
    attrs.clear();
    let Some(name_end) = ascii_name(bytes, pos + 1) else {
        return Ok(None);
    };
    let Some((end, empty)) = attributes(bytes, name_end, attrs) else {
        return Ok(None);
    };
    if attrs.len() > handler.limits.max_attributes || bytes[end..].starts_with(BOM) {
        return Ok(None);
    }
    let name = str_of(bytes, pos + 1, name_end);
    handler.mark = window.offset(pos);
    if let Some(text) = run.take() {
        send_borrowed(target, XmlEvent::Text(Cow::Borrowed(text)))?;
    }
    handler.send_text(target)?;
    if !empty {
        handler.open(name)?;
    }
    handler.start_checked(name, attrs, target)?;
    if empty {
        handler.end(name, target)?;
    }
    Ok(Some(end))
}

/// Reads the attributes after a tag's name (from `at`) into `attrs`, up to and including the
/// tag's `>`; returns the index after it and whether the tag was `/>`. `None` for anything
/// the fast path does not take.
fn attributes<'w>(
    bytes: &'w [u8],
    mut at: usize,
    attrs: &mut Vec<Attr<'w>>,
) -> Option<(usize, bool)> {
    loop {
        match *bytes.get(at)? {
            b'>' => return Some((at + 1, false)),
            b'/' => return (bytes.get(at + 1) == Some(&b'>')).then_some((at + 2, true)),
            b if is_space(b) => {
                at += 1;
                while is_space(*bytes.get(at)?) {
                    at += 1;
                }
                if matches!(bytes[at], b'>' | b'/') {
                    continue;
                }
                at = attribute(bytes, at, attrs)?;
            }
            _ => return None,
        }
    }
}

/// One `key="value"` from `at`; returns the index after its closing quote.
#[inline]
fn attribute<'w>(bytes: &'w [u8], at: usize, attrs: &mut Vec<Attr<'w>>) -> Option<usize> {
    let key_end = ascii_name(bytes, at)?;
    if bytes.get(key_end) != Some(&b'=') {
        return None;
    }
    let quote = *bytes.get(key_end + 1)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let from = key_end + 2;
    // One pass to the closing quote: values are short, and a plain value holds none of the
    // bytes the table stops at but the other quote.
    let mut end = from;
    loop {
        let b = *bytes.get(end)?;
        if VALUE_STOP[usize::from(b)] {
            if b == quote {
                break;
            }
            if b != b'"' && b != b'\'' {
                return None;
            }
        }
        end += 1;
    }
    let len = end - from;
    let key = str_of(bytes, at, key_end);
    if attrs.len() == MAX_ATTRS
        || attrs
            .iter()
            .any(|a| same(a.name.as_bytes(), key.as_bytes()))
    {
        return None;
    }
    attrs.push(Attr {
        name: Cow::Borrowed(key),
        value: Cow::Borrowed(str_of(bytes, from, from + len)),
    });
    // The next byte must be whitespace, `>` or `/` (checked by the caller's loop).
    Some(from + len + 1)
}

/// The end of an ASCII XML name starting at `at`, if one does and is followed by whitespace,
/// `>` or `/` (anything else, a non-ASCII name character among them, is not for the fast
/// path).
#[inline]
fn ascii_name(bytes: &[u8], at: usize) -> Option<usize> {
    let first = *bytes.get(at)?;
    if !is_ascii_name_start(first) {
        return None;
    }
    let mut end = at + 1;
    while let Some(&b) = bytes.get(end) {
        if ASCII_NAME[usize::from(b)] {
            end += 1;
        } else if is_space(b) || b == b'>' || b == b'/' || b == b'=' {
            return Some(end);
        } else {
            return None;
        }
    }
    None
}

/// True when the two (short) names are the same: a loop costs less than a call to `memcmp`.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The bytes a scan of an attribute value stops at: the quotes, and what a value on the fast
/// path may not hold (a reference, `<`, `>`, whitespace that normalising would turn into a
/// space). Bytes 0x80 and up are parts of characters the window's UTF-8 check has passed.
static VALUE_STOP: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    let stops = *b"\"'&<>\t\r\n";
    while i < stops.len() {
        table[stops[i] as usize] = true;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::Trickle;
    use super::super::{parse_with, XmlLimits};
    use crate::stages::printer::Printer;

    /// Everything co-xml delivers for `doc` (the events in the seed's notation, those before
    /// an error too) and its error (message, line:column, byte offset), read `step` bytes at
    /// a time through a window of at most `window` bytes.
    fn outcome(doc: &[u8], step: usize, window: usize, fast: bool) -> (String, Option<String>) {
        let mut printer = Printer::new(Vec::new());
        let limits = XmlLimits {
            max_token: window,
            ..XmlLimits::default()
        };
        let result = parse_with(Trickle { doc, step }, limits, &mut printer, fast);
        let events = String::from_utf8(printer.into_inner()).unwrap();
        (events, result.err().map(|e| e.to_string()))
    }

    /// Names: ASCII ones the fast path takes, and ones it leaves to quick-xml.
    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(&["a", "bus", "x:y", "_n-1.2", "é", "aé", "b"][..])
            .prop_map(str::to_owned)
    }

    /// Pieces of character data, plain and not.
    fn text() -> impl Strategy<Value = String> {
        prop::sample::select(
            &[
                "abc",
                " ",
                "\r\n",
                "\n",
                "\t",
                "\r",
                "&amp;",
                "&#x41;",
                "&#1;",
                "&e;",
                "&nope;",
                "]]>",
                "]]",
                "]",
                ">",
                "é",
                "\u{FEFF}",
                "&",
                "x y z ",
                "\u{1F68C}",
                "<![CDATA[x<&\r\n]]>",
                "<![CDATA[]]>",
                "<!-- c -->",
                "<?p x?>",
                "<!-- a--b -->",
            ][..],
        )
        .prop_map(str::to_owned)
    }

    /// An attribute value, with its quotes.
    fn value() -> impl Strategy<Value = String> {
        let body = prop::collection::vec(
            prop::sample::select(
                &[
                    "v", "1 2", "é", "&amp;", "&lt;", "\t", "\r\n", ">", "<", "'", "\"", "&x;", "",
                ][..],
            ),
            0..4,
        )
        .prop_map(|pieces| pieces.concat());
        (body, any::<bool>()).prop_map(|(body, double)| {
            if double {
                format!("\"{body}\"")
            } else {
                format!("'{body}'")
            }
        })
    }

    /// A start tag's attributes, separated by assorted whitespace (or none).
    fn attributes() -> impl Strategy<Value = String> {
        let key = prop::sample::select(&["k", "id", "x:z", "é", "k2"][..]);
        let sep = prop::sample::select(&[" ", "  ", "\r\n\t", "", " = "][..]);
        prop::collection::vec((sep, key, value()), 0..4).prop_map(|attrs| {
            attrs
                .into_iter()
                .map(|(sep, key, value)| match sep {
                    "" => format!("{key}={value}"),
                    " = " => format!(" {key} = {value}"),
                    sep => format!("{sep}{key}={value}"),
                })
                .collect()
        })
    }

    /// An element with nested content; now and then an end tag that does not match or has
    /// whitespace before its `>`.
    fn element() -> impl Strategy<Value = String> {
        let leaf = (
            name(),
            attributes(),
            prop::sample::select(&["/>", " />", ">"][..]),
        )
            .prop_map(|(name, attrs, close)| {
                if close == ">" {
                    format!("<{name}{attrs}></{name}>")
                } else {
                    format!("<{name}{attrs}{close}")
                }
            });
        leaf.prop_recursive(5, 64, 6, |inner| {
            let item = prop_oneof![3 => text(), 2 => inner];
            (
                name(),
                attributes(),
                prop::collection::vec(item, 0..6),
                prop::sample::select(&["", "", "", " ", "\r\n", "x"][..]),
            )
                .prop_map(|(name, attrs, content, end)| {
                    let close = if end == "x" {
                        "</b>".to_owned()
                    } else {
                        format!("</{name}{end}>")
                    };
                    format!("<{name}{attrs}>{}{close}", content.concat())
                })
        })
    }

    /// A whole document: a prolog (a BOM, a declaration, a DOCTYPE declaring an entity or
    /// attribute defaults), the root element, what may follow it.
    fn document() -> impl Strategy<Value = Vec<u8>> {
        let prolog = prop::sample::select(
            &[
                "",
                "\u{FEFF}",
                "<?xml version=\"1.0\"?>\r\n",
                "<!DOCTYPE a [<!ENTITY e \"<b>é</b>&amp;\">]>\n",
                "<!DOCTYPE a [<!ATTLIST a d CDATA \"def\">]>",
                "<!-- p -->\n",
            ][..],
        );
        let epilog = prop::sample::select(&["", "\n", "\r\n<!-- e -->\n", "x", "<a/>"][..]);
        (prolog, element(), epilog).prop_map(|(p, e, q)| format!("{p}{e}{q}").into_bytes())
    }

    /// A document cut short and with bytes spliced in: the fast path's refusals and the
    /// errors quick-xml reports.
    fn damaged() -> impl Strategy<Value = Vec<u8>> {
        let splice = prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                prop_oneof![
                    prop::sample::select(
                        &[b'<', b'&', b'>', b'"', b'\'', b'/', b' ', 0, 0xFF, 0xEF, 0xC3, b']'][..]
                    ),
                    any::<u8>(),
                ],
            ),
            0..3,
        );
        (
            document(),
            splice,
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(mut doc, splice, cut, do_cut)| {
                for (at, byte) in splice {
                    let at = at.index(doc.len() + 1);
                    doc.insert(at, byte);
                }
                if do_cut {
                    doc.truncate(cut.index(doc.len() + 1));
                }
                doc
            })
    }

    /// The same events, and the same error at the same place, with the fast path and without
    /// it, whatever the reads and the window cut.
    fn same_either_way(doc: &[u8]) -> Result<(), TestCaseError> {
        let whole = outcome(doc, usize::MAX, 1 << 20, false);
        prop_assert_eq!(&outcome(doc, usize::MAX, 1 << 20, true), &whole);
        for (step, window) in [(1, 1 << 20), (5, 1 << 20), (3, 64), (7, 29)] {
            let slow = outcome(doc, step, window, false);
            prop_assert_eq!(
                &outcome(doc, step, window, true),
                &slow,
                "step {}, window {}",
                step,
                window
            );
        }
        Ok(())
    }

    proptest! {
        /// The word-at-a-time search finds what a plain one finds, with the bytes next to the
        /// sought ones (which the zero-byte test can mistake for them) among the input.
        #[test]
        fn text_scan_matches_a_plain_search(raw in prop::collection::vec(
            prop::sample::select(&b"<&\r>a '=\x0c?%;\n"[..]), 0..150,
        )) {
            let plain = raw.iter().position(|&b| b == b'<' || b == b'&');
            let scan = super::scan_text(&raw);
            prop_assert_eq!(scan.as_ref().map(|s| s.len), plain);
            if let (Some(scan), Some(len)) = (scan, plain) {
                prop_assert_eq!(scan.cr, raw[..len].contains(&b'\r'));
                prop_assert_eq!(scan.gt, raw[..len].contains(&b'>'));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]

        #[test]
        fn fast_path_changes_nothing_on_documents(doc in document()) {
            same_either_way(&doc)?;
        }

        #[test]
        fn fast_path_changes_nothing_on_broken_documents(doc in damaged()) {
            same_either_way(&doc)?;
        }
    }

    /// The generator does reach the fast path: a plain document's events come out of it, and
    /// the cases above are not all quick-xml's.
    #[test]
    fn plain_documents_are_read_and_read_alike() {
        let doc = b"<r a=\"1\" b='x y'>\r\n <b>t&amp;u</b><c/><d k=\"\xC3\xA9\"/><![CDATA[z]]></r>";
        let (events, error) = outcome(doc, usize::MAX, 1 << 20, true);
        assert_eq!(error, None);
        assert_eq!(
            events,
            "('start', ('r', {'a': '1', 'b': 'x y'}))\n('text', '\\n ')\n('start', ('b', {}))\n\
             ('text', 't&u')\n('end', 'b')\n('start', ('c', {}))\n('end', 'c')\n\
             ('start', ('d', {'k': 'é'}))\n('end', 'd')\n('text', 'z')\n('end', 'r')\n"
        );
        assert_eq!(outcome(doc, usize::MAX, 1 << 20, false), (events, None));
    }
}
