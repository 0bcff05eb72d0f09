//! The document's encoding, as a SAX parser finds it: the byte order mark, else the XML
//! declaration, else UTF-8. Anything but UTF-8 is transcoded to UTF-8 on the way into the
//! parser ([`encoding_rs`] for UTF-16, a table for single-byte encodings that reads them as
//! Python's codecs do, see `single_byte.rs`), so the parser and every check after it see
//! UTF-8.
//!
//! What Python's expat cannot read, co-xml refuses too: multi-byte encodings other than UTF-8
//! and UTF-16 (`Shift_JIS`, EUC-JP, GBK, Big5, ...), and the bytes Python's tables leave
//! undefined (0x81 in windows-1252), which the WHATWG tables of `encoding_rs` map to C1
//! controls.
//!
//! Positions in a transcoded document are counted in its UTF-8 form: lines and columns (in
//! characters) are exact, byte offsets count UTF-8 bytes.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8};

use super::single_byte::SingleByte;

/// The most bytes read ahead to find the XML declaration.
const SNIFF: usize = 1024;

/// Why a document's encoding cannot be used: the message, and the byte it is about.
pub struct EncodingError {
    pub offset: u64,
    /// The 1-based column (in characters) of the first line it is about.
    pub column: u64,
    pub message: String,
}

/// How the bytes after the sniffed prefix are turned into UTF-8.
enum Transcoder {
    /// `encoding_rs`'s decoder for the encoding (UTF-16).
    Rs(Decoder),
    /// A single-byte encoding, as Python's codecs read it (see `single_byte.rs`).
    Table(Box<SingleByte>),
}

/// Reads `input` as UTF-8: passes UTF-8 through untouched, transcodes anything else.
pub fn utf8_input<'a, R: Read + 'a>(mut input: R) -> Result<Box<dyn Read + 'a>, EncodingError> {
    let prefix = sniff(&mut input).map_err(|e| EncodingError {
        offset: 0,
        column: 1,
        message: format!("reading the document: {e}"),
    })?;
    let (transcoder, skip) = choose(&prefix)?;
    let whole = io::Cursor::new(prefix).chain(input);
    let mut whole = whole;
    if skip > 0 {
        // A UTF-8 byte order mark before a declaration of another encoding: expat drops it
        // and reads the rest in the declared encoding.
        io::copy(&mut (&mut whole).take(skip as u64), &mut io::sink())
            .expect("reading from the sniffed prefix");
    }
    Ok(match transcoder {
        None => Box::new(whole),
        Some(t) => Box::new(Transcode::new(whole, t)),
    })
}

/// Reads until the declaration (if any) is complete, or [`SNIFF`] bytes, or the end.
fn sniff<R: Read>(input: &mut R) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(SNIFF);
    let mut chunk = [0u8; SNIFF];
    loop {
        let decided = prefix.len() >= 4
            && (!looks_like_declaration(&prefix)
                || memchr::memmem::find(&prefix, b"?>").is_some()
                || memchr::memmem::find(&prefix, b"?\0>").is_some()
                || memchr::memmem::find(&prefix, b"\0?\0>").is_some());
        if decided || prefix.len() >= SNIFF {
            return Ok(prefix);
        }
        match input.read(&mut chunk[..SNIFF - prefix.len()]) {
            Ok(0) => return Ok(prefix),
            Ok(n) => prefix.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// True when the document may start with an XML declaration, in any encoding.
fn looks_like_declaration(prefix: &[u8]) -> bool {
    let p = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let p = p
        .strip_prefix(b"\xFF\xFE")
        .or_else(|| p.strip_prefix(b"\xFE\xFF"))
        .unwrap_or(p);
    p.starts_with(b"<?xm") || p.starts_with(b"<\0?\0") || p.starts_with(b"\0<\0?")
}

/// The transcoder the prefix calls for (`None` for UTF-8) and how many bytes of byte order
/// mark to drop before it, or why there is none.
fn choose(prefix: &[u8]) -> Result<(Option<Transcoder>, usize), EncodingError> {
    let transcoder = choose_transcoder(prefix)?;
    let skip = match (&transcoder, prefix) {
        (Some(Transcoder::Rs(d)), [0xEF, 0xBB, 0xBF, ..]) if d.encoding() != UTF_8 => 3,
        (Some(Transcoder::Table(_)), [0xEF, 0xBB, 0xBF, ..]) => 3,
        _ => 0,
    };
    Ok((transcoder, skip))
}

fn choose_transcoder(prefix: &[u8]) -> Result<Option<Transcoder>, EncodingError> {
    let (detected, bom) = match prefix {
        [0xEF, 0xBB, 0xBF, ..] => (Some(UTF_8), true),
        [0xFF, 0xFE, ..] => (Some(UTF_16LE), true),
        [0xFE, 0xFF, ..] => (Some(UTF_16BE), true),
        [b'<', 0, b'?', 0, ..] => (Some(UTF_16LE), false),
        [0, b'<', 0, b'?', ..] => (Some(UTF_16BE), false),
        _ => (None, false),
    };
    let declared = declared_label(prefix, detected);
    let Some((label, value_at)) = declared else {
        return Ok(match detected {
            Some(e) if e != UTF_8 => Some(Transcoder::Rs(e.new_decoder_with_bom_removal())),
            _ => None,
        });
    };
    if let Some(bad) = bad_encoding_name(&label) {
        // Expat points at the first character an encoding name cannot hold.
        let at = value_at + bad;
        return Err(EncodingError {
            offset: value_offset(at, detected, bom),
            column: at as u64 + 1 + u64::from(bom),
            message: format!(
                "encoding=\"{label}\" in the XML declaration is not an encoding name (letters, digits, '.', '_' and '-', starting with a letter)"
            ),
        });
    }
    let lower = label.to_ascii_lowercase();
    let declared_16 = lower.starts_with("utf-16") || lower == "ucs-2" || lower == "iso-10646-ucs-2";
    if let Some(found) = detected.filter(|&e| e != UTF_8 || declared_16) {
        // A UTF-8 mark gives way to a declared single-byte encoding, as in expat.
        let agrees = found != UTF_8 && declared_16;
        if !agrees {
            let what = if bom {
                "byte order mark"
            } else {
                "first bytes"
            };
            return Err(EncodingError {
                offset: value_offset(value_at, detected, bom),
                column: value_at as u64 + 1 + u64::from(bom),
                message: format!(
                    "the {what} say{} {}, but the XML declaration says encoding=\"{label}\"",
                    if bom { "s" } else { "" },
                    found.name()
                ),
            });
        }
        return Ok((found != UTF_8).then(|| Transcoder::Rs(found.new_decoder_with_bom_removal())));
    }
    if declared_16 {
        return Err(EncodingError {
            offset: value_offset(value_at, detected, bom),
            column: value_at as u64 + 1 + u64::from(bom),
            message: format!(
                "the XML declaration says encoding=\"{label}\", but the document is not UTF-16 (no byte order mark, ASCII bytes)"
            ),
        });
    }
    if lower == "utf-8" || lower == "utf8" {
        return Ok(None);
    }
    if let Some(table) = SingleByte::for_label(&lower) {
        return Ok(Some(Transcoder::Table(Box::new(table))));
    }
    match Encoding::for_label(label.as_bytes()) {
        Some(e) if e == UTF_8 => Ok(None),
        // Python's expat reads single-byte encodings only (besides UTF-8 and UTF-16).
        Some(_) => Err(EncodingError {
            offset: 0,
            column: 1,
            message: format!(
                "the XML declaration says encoding=\"{label}\", a multi-byte encoding, which is not supported (UTF-8, UTF-16 and single-byte encodings are)"
            ),
        }),
        None => Err(EncodingError {
            offset: 0,
            column: 1,
            message: format!(
                "unknown encoding \"{label}\" in the XML declaration (co-xml reads UTF-8, UTF-16 and the single-byte encodings of the WHATWG Encoding Standard)"
            ),
        }),
    }
}

/// Where `name` stops being an XML encoding name (`[A-Za-z] ([A-Za-z0-9._] | '-')*`), in
/// characters, if it does.
fn bad_encoding_name(name: &str) -> Option<usize> {
    let ok = |(i, c): &(usize, char)| {
        c.is_ascii_alphabetic() || (*i > 0 && (c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    };
    match name.chars().enumerate().find(|ic| !ok(ic)) {
        Some((i, _)) => Some(i),
        None if name.is_empty() => Some(0),
        None => None,
    }
}

/// The byte offset of the declared encoding's name, from its place in characters (the
/// declaration is ASCII): where expat points when the name contradicts the document.
fn value_offset(chars: usize, detected: Option<&'static Encoding>, bom: bool) -> u64 {
    let utf16 = detected.is_some_and(|e| e == UTF_16LE || e == UTF_16BE);
    let (width, mark) = if utf16 { (2, 2) } else { (1, 3) };
    (width * chars + if bom { mark } else { 0 }) as u64
}

/// The `encoding="..."` of the XML declaration at the start of `prefix`, if any, and where
/// its value starts (in characters, after any byte order mark).
fn declared_label(prefix: &[u8], detected: Option<&'static Encoding>) -> Option<(String, usize)> {
    let text: String = match detected {
        Some(e) if e != UTF_8 => e.decode_with_bom_removal(prefix).0.into_owned(),
        _ => String::from_utf8_lossy(prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix))
            .into_owned(),
    };
    let decl = text.strip_prefix("<?xml")?;
    if !decl.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|&q| q == '"' || q == '\'')?;
    let value = &rest[1..];
    let at = text[..value.as_ptr() as usize - text.as_ptr() as usize]
        .chars()
        .count();
    Some((value[..value.find(quote)?].to_owned(), at))
}

/// A reader that transcodes to UTF-8.
struct Transcode<R> {
    inner: R,
    transcoder: Transcoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes of the original document consumed before `input[start]`.
    consumed: u64,
    /// Transcoded bytes not yet handed out.
    output: Vec<u8>,
    out_start: usize,
    /// The error met after the output in hand: reported once that has been read, so the
    /// parser reaches the bad byte (and says where it is) first.
    failed: Option<io::Error>,
}

impl<R: Read> Transcode<R> {
    fn new(inner: R, transcoder: Transcoder) -> Self {
        Transcode {
            inner,
            transcoder,
            input: vec![0; 64 << 10],
            start: 0,
            end: 0,
            eof: false,
            consumed: 0,
            output: Vec::with_capacity(3 * (64 << 10) + 16),
            out_start: 0,
            failed: None,
        }
    }

    fn name(&self) -> &'static str {
        match &self.transcoder {
            Transcoder::Rs(d) => d.encoding().name(),
            Transcoder::Table(t) => t.name,
        }
    }

    /// Transcodes the next piece of input into `output`; false at the end. Output before a
    /// bad byte is handed out first; the error comes with the next call.
    fn fill(&mut self) -> io::Result<bool> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.start == self.end && !self.eof {
            self.start = 0;
            self.end = loop {
                match self.inner.read(&mut self.input) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            self.eof = self.end == 0;
        }
        self.output.clear();
        self.out_start = 0;
        let (read, bad) = self.transcode();
        self.start += read;
        self.consumed += read as u64;
        if let Some(at) = bad {
            let e = self.malformed(at);
            if self.output.is_empty() {
                return Err(e);
            }
            self.failed = Some(e);
        }
        Ok(!(self.output.is_empty() && self.eof && self.start == self.end))
    }

    /// Transcodes the pending input into `output`: how many bytes were read, and the offset
    /// of a bad byte (the output then stops before it).
    fn transcode(&mut self) -> (usize, Option<u64>) {
        let src = &self.input[self.start..self.end];
        match &mut self.transcoder {
            Transcoder::Rs(decoder) => {
                self.output.resize(self.output.capacity(), 0);
                let (result, read, written) =
                    decoder.decode_to_utf8_without_replacement(src, &mut self.output, self.eof);
                self.output.truncate(written);
                let bad = match result {
                    DecoderResult::Malformed(bad, _) => {
                        Some(self.consumed + read as u64 - u64::from(bad))
                    }
                    _ => None,
                };
                (read, bad)
            }
            Transcoder::Table(table) => match table.decode(src, &mut self.output) {
                None => (src.len(), None),
                Some(i) => (i, Some(self.consumed + i as u64)),
            },
        }
    }

    fn malformed(&self, at: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the document is not valid {}: bad bytes at byte {at} of the input",
                self.name()
            ),
        )
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.out_start == self.output.len() {
            if !self.fill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.output.len() - self.out_start);
        out[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}
