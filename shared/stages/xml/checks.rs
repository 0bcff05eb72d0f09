//! The well-formedness constraints quick-xml leaves to its caller, checked as expat checks
//! them: characters that XML 1.0 does not allow (raw or as character references), `]]>` in
//! character data, `<` in attribute values, `--` in comments, names made of name characters,
//! reserved processing-instruction targets.
//!
//! Raw characters are checked once per read buffer ([`first_bad_char`]), not per token; the
//! driver reports the first one only when the parse reaches it, so an earlier error keeps its
//! place.

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

/// True for a character XML 1.0 allows (what a character reference may stand for).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Why `name` is not an XML name, if it is not.
pub fn bad_name(name: &str) -> Option<&'static str> {
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

fn is_name_start(c: char) -> bool {
    matches!(c, ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Offset of `]]>` in raw character data, which XML forbids there.
pub fn cdata_end_in_text(raw: &[u8]) -> Option<usize> {
    memchr::memmem::find(raw, b"]]>")
}

/// Why a comment's content is not allowed: `--` inside, or a `-` right before the end.
pub fn bad_comment(content: &[u8]) -> Option<&'static str> {
    if memchr::memmem::find(content, b"--").is_some() || content.ends_with(b"-") {
        Some("\"--\" inside a comment")
    } else {
        None
    }
}

/// Why a processing instruction is not allowed: no target, or a target reserved by XML.
pub fn bad_pi(content: &[u8]) -> Option<&'static str> {
    let end = content
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(content.len());
    let target = &content[..end];
    if target.is_empty() {
        Some("a processing instruction without a target")
    } else if target.eq_ignore_ascii_case(b"xml") {
        Some("an XML declaration that is not at the start of the document")
    } else {
        None
    }
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
        assert!(bad_comment(b" a -- b ").is_some() && bad_comment(b" a - b ").is_none());
        assert!(bad_pi(b"XmL version='1.0'").is_some() && bad_pi(b"xml-stylesheet x").is_none());
    }
}
