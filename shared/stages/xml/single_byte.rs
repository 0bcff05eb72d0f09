//! Single-byte encodings as Python's expat reads them.
//!
//! Expat itself knows only UTF-8, UTF-16, ISO-8859-1 and US-ASCII; pyexpat hands every other
//! name to Python's codecs (its unknown-encoding handler decodes the 256 bytes with the
//! codec, and a byte the codec does not define is an error). `encoding_rs` follows the
//! WHATWG labels instead, which differ from Python's codecs for a few labels, found by
//! decoding all 256 bytes of every single-byte label of `encoding_rs` both ways:
//!
//! * ISO-8859-1, ISO-8859-9, ISO-8859-11 and TIS-620 are windows-1252, windows-1254 and
//!   windows-874 in WHATWG; in Python bytes 0x80 to 0x9F are the C1 controls U+0080 to
//!   U+009F (and TIS-620 leaves 0xA0 undefined);
//! * US-ASCII is windows-1252 in WHATWG; in Python bytes above 0x7F are undefined;
//! * the bytes a Windows code page leaves undefined (0x81 in windows-1252) are C1 controls
//!   in WHATWG, undefined in Python, as is 0xCA in windows-1255 (U+05BA in WHATWG);
//! * KOI8-U has U+045E and U+040E at 0xAE and 0xBE in WHATWG (the KOI8-RU letters), box
//!   drawing U+255D and U+256C in Python.
//!
//! So a single-byte document is decoded through a 256-entry table: `encoding_rs`'s, with
//! those corrections. Labels Python does not know (`windows-874`, `x-mac-cyrillic`, ...) are
//! read as WHATWG says, Windows code pages with the same undefined bytes.

use encoding_rs::Encoding;

/// Labels WHATWG reads as windows-1252 that Python reads as ISO-8859-1.
const LATIN1: &[&str] = &[
    "iso-8859-1",
    "iso8859-1",
    "iso_8859-1",
    "iso_8859-1:1987",
    "iso-ir-100",
    "csisolatin1",
    "latin1",
    "latin-1",
    "l1",
    "cp819",
    "ibm819",
];

/// Labels WHATWG reads as windows-1252 that Python reads as ASCII.
const ASCII: &[&str] = &["us-ascii", "ascii", "ansi_x3.4-1968"];

/// Labels WHATWG reads as a Windows code page that Python reads as the ISO table, whose
/// bytes 0x80 to 0x9F are C1 controls (`encoding_rs` has no decoder for them).
const ISO_OVER_WINDOWS: &[(&str, &str)] = &[
    ("iso-8859-9", "ISO-8859-9"),
    ("iso8859-9", "ISO-8859-9"),
    ("iso_8859-9", "ISO-8859-9"),
    ("iso_8859-9:1989", "ISO-8859-9"),
    ("iso-ir-148", "ISO-8859-9"),
    ("csisolatin5", "ISO-8859-9"),
    ("latin5", "ISO-8859-9"),
    ("l5", "ISO-8859-9"),
    ("iso-8859-11", "ISO-8859-11"),
    ("iso8859-11", "ISO-8859-11"),
    ("tis-620", "TIS-620"),
];

/// A single-byte encoding: what each byte stands for (`None`: undefined, an error).
pub struct SingleByte {
    pub name: &'static str,
    map: [Option<char>; 256],
}

impl SingleByte {
    /// The table for `label` (in lower case) if it names a single-byte encoding, as Python
    /// reads it.
    pub fn for_label(label: &str) -> Option<SingleByte> {
        if LATIN1.contains(&label) {
            return Some(SingleByte::from_fn("ISO-8859-1", |b| Some(char::from(b))));
        }
        if ASCII.contains(&label) {
            return Some(SingleByte::from_fn("US-ASCII", |b| {
                b.is_ascii().then_some(char::from(b))
            }));
        }
        // Python's name for windows-874, which WHATWG does not list.
        let whatwg_label = if label == "cp874" {
            "windows-874"
        } else {
            label
        };
        let encoding = Encoding::for_label(whatwg_label.as_bytes())?;
        if !encoding.is_single_byte() {
            return None;
        }
        let mut table = SingleByte::from_fn(encoding.name(), |b| whatwg(encoding, b));
        if let Some(&(_, name)) = ISO_OVER_WINDOWS.iter().find(|(l, _)| *l == label) {
            table.name = name;
            for b in 0x80..=0x9F {
                table.map[b] = Some(char::from(b as u8));
            }
            if label == "tis-620" {
                table.map[0xA0] = None;
            }
        } else if encoding.name().starts_with("windows-") {
            for c in &mut table.map {
                if c.is_some_and(|c| ('\u{80}'..='\u{9F}').contains(&c)) {
                    *c = None;
                }
            }
            if encoding.name() == "windows-1255" {
                table.map[0xCA] = None;
            }
        } else if label == "koi8-u" {
            table.map[0xAE] = Some('\u{255D}');
            table.map[0xBE] = Some('\u{256C}');
        }
        Some(table)
    }

    fn from_fn(name: &'static str, decode: impl Fn(u8) -> Option<char>) -> SingleByte {
        let mut map = [None; 256];
        for (b, c) in (0..=255u8).zip(map.iter_mut()) {
            *c = decode(b);
        }
        SingleByte { name, map }
    }

    /// Appends the UTF-8 form of `src` to `out`, up to the first undefined byte: returns
    /// its index, if there is one.
    pub fn decode(&self, src: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let mut i = 0;
        while i < src.len() {
            // Markup and most text are ASCII, the same in every one of these encodings.
            let ascii = src[i..]
                .iter()
                .position(|&b| !b.is_ascii())
                .unwrap_or(src.len() - i);
            out.extend_from_slice(&src[i..i + ascii]);
            i += ascii;
            let Some(&b) = src.get(i) else { break };
            let Some(c) = self.map[usize::from(b)] else {
                return Some(i);
            };
            let mut utf8 = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            i += 1;
        }
        None
    }
}

/// What WHATWG's table for `encoding` says byte `b` is.
fn whatwg(encoding: &'static Encoding, b: u8) -> Option<char> {
    let byte = [b];
    let (text, malformed) = encoding.decode_without_bom_handling(&byte);
    if malformed {
        return None;
    }
    text.chars().next()
}

#[cfg(test)]
mod tests {
    use super::SingleByte;

    fn decode(label: &str, bytes: &[u8]) -> Result<String, usize> {
        let table = SingleByte::for_label(label).unwrap();
        let mut out = Vec::new();
        match table.decode(bytes, &mut out) {
            None => Ok(String::from_utf8(out).unwrap()),
            Some(bad) => Err(bad),
        }
    }

    #[test]
    fn iso_tables_have_c1_controls_where_windows_code_pages_have_letters() {
        assert_eq!(
            decode("iso-8859-9", b"a\x80\x9f\xfd"),
            Ok("a\u{80}\u{9f}\u{131}".into())
        );
        assert_eq!(
            decode("windows-1254", b"a\x80\xfd"),
            Ok("a\u{20ac}\u{131}".into())
        );
        assert_eq!(
            decode("iso-8859-11", b"\x85\xa1"),
            Ok("\u{85}\u{e01}".into())
        );
        assert_eq!(decode("tis-620", b"\xa1\xa0"), Err(1));
        assert_eq!(decode("latin1", b"\x81"), Ok("\u{81}".into()));
    }

    #[test]
    fn bytes_python_leaves_undefined_are_errors() {
        assert_eq!(decode("windows-1252", b"ab\x81"), Err(2));
        assert_eq!(decode("cp1255", b"\xe0\xca"), Err(1));
        assert_eq!(decode("us-ascii", b"abc\x80"), Err(3));
        assert_eq!(decode("koi8-u", b"\xae\xbe"), Ok("\u{255d}\u{256c}".into()));
        assert!(SingleByte::for_label("shift_jis").is_none());
    }
}
