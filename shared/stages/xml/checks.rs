//! The well-formedness constraints quick-xml leaves to its caller, checked as expat checks
//! them: characters that XML 1.0 does not allow (raw or as character references), `]]>` in
//! character data, `<` in attribute values, `--` in comments, names made of name characters,
//! reserved processing-instruction targets.
//!
//! Raw characters are checked once per read ([`scan`], which also counts line ends), not per
//! token; the driver reports the first one only when the parse reaches it, so an earlier
//! error keeps its place.

/// Offset in `bytes` of the first character XML 1.0 does not allow: a control character other
/// than tab, line feed and carriage return (NUL included), or U+FFFE / U+FFFF.
pub fn first_bad_char(bytes: &[u8]) -> Option<usize> {
    let control = bytes
        .iter()
        .position(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    let limit = control.unwrap_or(bytes.len());
    let mut from = 0;
    while let Some(i) = memchr::memchr(0xEF, &bytes[from..limit]) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&0xBF) && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)) {
            return Some(at);
        }
        from = at + 1;
    }
    control
}

/// One pass over freshly read bytes (`bytes[fresh..]`, after up to two bytes already seen):
/// their line ends, and the offset in `bytes` of the first character XML does not allow.
///
/// Blocks of 64 bytes are summed and flagged without branches (the compiler makes wide
/// compares of it); only a flagged block (a control character, or 0xEF, which starts
/// U+FFFE/U+FFFF) is looked at closely.
pub fn scan(bytes: &[u8], fresh: usize) -> (usize, Option<usize>) {
    let new = &bytes[fresh..];
    let mut lines = 0;
    let mut suspect = bytes[..fresh].contains(&0xEF).then_some(0);
    let mut blocks = new.chunks_exact(64);
    for (k, block) in (&mut blocks).enumerate() {
        let (mut ends, mut odd) = (0u8, 0u8);
        for &b in block {
            ends += u8::from(b == b'\n');
            odd |= u8::from(b < 0x20)
                & u8::from(b != b'\t')
                & u8::from(b != b'\n')
                & u8::from(b != b'\r')
                | u8::from(b == 0xEF);
        }
        lines += usize::from(ends);
        if odd != 0 && suspect.is_none() {
            suspect = Some(k * 64);
        }
    }
    let rest = blocks.remainder();
    lines += memchr::memchr_iter(b'\n', rest).count();
    if suspect.is_none()
        && rest
            .iter()
            .any(|&b| b == 0xEF || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')))
    {
        suspect = Some(new.len() - rest.len());
    }
    let bad = suspect.and_then(|at| {
        let from = (fresh + at).saturating_sub(2);
        first_bad_char(&bytes[from..]).map(|i| from + i)
    });
    (lines, bad)
}

/// True for a character XML 1.0 allows (what a character reference may stand for).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Why `name` is not an XML name, if it is not.
pub fn bad_name(name: &str) -> Option<&'static str> {
    // Nearly every name is ASCII letters, digits and a few signs: settle those bytewise, by
    // table (one load per byte; a start tag's name is checked at every start tag).
    if let Some((&first, rest)) = name.as_bytes().split_first() {
        if is_ascii_name_start(first) && rest.iter().all(|&b| ASCII_NAME[usize::from(b)]) {
            return None;
        }
    }
    let mut chars = name.chars();
    match chars.next() {
        None => Some("an empty name"),
        Some(c) if !is_name_start(c) => {
            Some("a name that starts with a character names cannot start with")
        }
        Some(_) if chars.all(is_name_char) => None,
        Some(_) => Some("a name with a character names cannot hold"),
    }
}

/// True for an ASCII byte a name may start with.
#[inline]
pub fn is_ascii_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

/// True for a byte of XML's white space (`S`: space, tab, CR, LF).
#[inline]
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The ASCII bytes a name may hold after its first character.
pub static ASCII_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.');
        b += 1;
    }
    table
};

fn is_name_start(c: char) -> bool {
    matches!(c, ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

pub fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Text this short is searched byte by byte: most runs of text in a document are the few
/// bytes of whitespace between two tags, where a vectorised search costs more to set up than
/// it saves.
pub const SHORT: usize = 32;

/// Offset of `]]>` in raw character data, which XML forbids there.
pub fn cdata_end_in_text(raw: &[u8]) -> Option<usize> {
    if raw.len() <= SHORT {
        // The whitespace between tags: a plain loop costs less than a vector search's setup.
        return raw.windows(3).position(|w| w == b"]]>");
    }
    // `>` is rare in text: look for it first, then at what stands before it.
    memchr::memchr_iter(b'>', raw)
        .find(|&i| i >= 2 && raw[i - 2..i] == *b"]]")
        .map(|i| i - 2)
}

/// Where a comment's content holds `--` (a `-` right before the closing `-->` makes one), if
/// it does: comments may not.
pub fn bad_comment(content: &[u8]) -> Option<usize> {
    memchr::memmem::find(content, b"--")
        .or_else(|| content.ends_with(b"-").then(|| content.len() - 1))
}

/// Why a processing instruction is not allowed (no target, or a target reserved by XML),
/// and its target's length.
pub fn bad_pi(content: &[u8]) -> Option<(&'static str, usize)> {
    let end = content
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(content.len());
    let target = &content[..end];
    if target.is_empty() {
        Some(("a processing instruction without a target", 0))
    } else if target.eq_ignore_ascii_case(b"xml") {
        let why = "an XML declaration that is not at the start of the document";
        Some((why, end))
    } else {
        None
    }
}

/// Where character data outside the root element (`raw`, one run of it) goes wrong, if it
/// is not all whitespace: where expat reports it. After the root, at the first other
/// character; before it, expat reads a run of name characters as one token and complains at
/// its end when markup follows at once, else at its start.
pub fn junk_outside_root(raw: &str, after_root: bool) -> Option<usize> {
    let start = raw.find(|c: char| !matches!(c, ' ' | '\t' | '\r' | '\n'))?;
    if after_root {
        return Some(start);
    }
    let rest = &raw[start..];
    let run = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
    Some(if run == rest.len() {
        start + run
    } else {
        start
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_and_names() {
        assert_eq!(first_bad_char(b"ab\tc\r\nd"), None);
        assert_eq!(first_bad_char(b"ab\0c"), Some(2));
        assert_eq!(first_bad_char(b"a\x01"), Some(1));
        assert_eq!(first_bad_char("x\u{FFFE}".as_bytes()), Some(1));
        assert_eq!(first_bad_char("\u{FFFD}é".as_bytes()), None);
        assert!(!is_xml_char('\u{1}') && is_xml_char('\u{10FFFF}'));
        assert_eq!(bad_name("bus"), None);
        assert_eq!(bad_name("é:x-1.2"), None);
        assert!(bad_name("1bus").is_some() && bad_name("a b").is_some());
        assert_eq!(bad_comment(b" a -- b "), Some(3));
        assert_eq!(
            (bad_comment(b" a - b "), bad_comment(b" a -")),
            (None, Some(3))
        );
        assert_eq!(bad_pi(b"XmL version='1.0'").map(|b| b.1), Some(3));
        assert!(bad_pi(b"xml-stylesheet x").is_none());
        assert_eq!(junk_outside_root("junk", false), Some(4));
        assert_eq!(junk_outside_root(" x y", false), Some(1));
        assert_eq!(junk_outside_root(" \n x y", true), Some(3));
        assert_eq!(junk_outside_root(" \n", true), None);
        assert_eq!(cdata_end_in_text(b"a]>]]]>"), Some(4));
        assert_eq!(cdata_end_in_text(b">]]"), None);
    }

    /// The fast pass agrees with the plain one wherever the fresh bytes start.
    #[test]
    fn scan_finds_line_ends_and_the_first_bad_character() {
        let mut doc = "ab\ncd\u{FFFD}\n".repeat(40).into_bytes();
        assert_eq!(scan(&doc, 0), (80, None));
        doc.extend_from_slice("x\u{FFFE}y\0".as_bytes());
        let at = doc.len() - 5;
        for fresh in [0, 1, 2, 100, at - 1, at, at + 1] {
            let (lines, bad) = scan(&doc, fresh);
            assert_eq!(lines, memchr::memchr_iter(b'\n', &doc[fresh..]).count());
            assert_eq!(bad, Some(at), "fresh from {fresh}");
        }
        assert_eq!(scan(b"\x01", 0), (0, Some(0)));
    }
}
