//! The one place that knows events are encoded with bincode.
//!
//! Everything else calls [`encode_into`] and [`decode`]; swapping the encoding (another bincode
//! configuration, postcard, ...) means changing this file and the format version in
//! [`super::frame::VERSION`].
//!
//! The configuration is bincode 2's `standard()`: little-endian, variable-length integers, so a
//! short string costs one length byte plus its bytes.

use bincode::config::{self, Configuration};
use bincode::enc::write::Writer;
use bincode::error::{DecodeError, EncodeError};
use serde::{Deserialize, Serialize};

use crate::event::XmlEvent;

const CONFIG: Configuration = config::standard();

/// Appends bincode's writer interface to a `Vec` without going through `io::Write`.
struct VecWriter<'v>(&'v mut Vec<u8>);

impl Writer for VecWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends the encoding of `value` to `out`.
#[inline]
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    bincode::serde::encode_into_writer(value, VecWriter(out), CONFIG).map_err(|e| e.to_string())
}

/// Appends the encoding of an XML event: the bytes [`encode_into`] writes for it (a test
/// compares the two on arbitrary events), written straight into `out`.
///
/// co-xml sends an event per tag and per run of text, tens of millions for a large
/// document: going through serde's serializer, a separate varint call per length and a
/// capacity check per piece took about a tenth of its time. The layout is bincode's
/// `standard()` one, as docs/wire-format.md spells it out: the variant index as a varint
/// (one byte), each string as a varint length and its bytes, the attributes as a varint
/// count and their name/value strings.
#[inline]
pub fn encode_xml_into(event: &XmlEvent<'_>, out: &mut Vec<u8>) {
    match event {
        XmlEvent::Start { name, attrs } => {
            out.push(0);
            put_str(out, name);
            put_len(out, attrs.len());
            for attr in attrs {
                put_str(out, &attr.name);
                put_str(out, &attr.value);
            }
        }
        XmlEvent::Text(text) => {
            out.push(1);
            put_str(out, text);
        }
        XmlEvent::End(name) => {
            out.push(2);
            put_str(out, name);
        }
    }
}

/// A string as bincode writes it: its length, then its bytes.
#[inline]
fn put_str(out: &mut Vec<u8>, text: &str) {
    out.reserve(9 + text.len());
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// A length as bincode's varint: one byte below 251 (nearly every name and text), else see
/// [`put_long_len`].
#[inline]
fn put_len(out: &mut Vec<u8>, n: usize) {
    if n < 251 {
        out.push(n as u8);
    } else {
        put_long_len(out, n);
    }
}

/// A length of 251 or more: a marker (251, 252, 253) and the value in 2, 4 or 8
/// little-endian bytes.
#[inline(never)]
fn put_long_len(out: &mut Vec<u8>, n: usize) {
    if let Ok(n) = u16::try_from(n) {
        out.push(251);
        out.extend_from_slice(&n.to_le_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(252);
        out.extend_from_slice(&n.to_le_bytes());
    } else {
        out.push(253);
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
}

/// Decodes one value from the front of `bytes`, borrowing its text from `bytes`; returns the
/// value and how many bytes it used.
///
/// Never panics and never allocates more than the input can justify: lengths are checked
/// against the bytes that are there.
#[inline]
pub fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<(T, usize), String> {
    bincode::serde::borrow_decode_from_slice(bytes, CONFIG).map_err(describe)
}

/// Says what is wrong with the bytes in words, not in bincode's debug notation.
fn describe(e: DecodeError) -> String {
    match e {
        DecodeError::UnexpectedEnd { additional } => {
            format!("an event runs past the end of its frame ({additional} more bytes needed)")
        }
        DecodeError::Utf8 { inner } => format!(
            "text is not valid UTF-8 (bad byte {} bytes into a string)",
            inner.valid_up_to()
        ),
        DecodeError::UnexpectedVariant { found, .. } => format!("unknown event variant {found}"),
        DecodeError::LimitExceeded => "an event claims more memory than allowed".into(),
        DecodeError::OtherString(message) => serde_words(&message),
        DecodeError::InvalidBooleanValue(b) => format!("{b} is not a boolean (0 or 1)"),
        DecodeError::InvalidCharEncoding(_) => "a character is not valid UTF-8".into(),
        other => other.to_string(),
    }
}

/// serde's own complaints, which bincode passes on as strings, reworded: "invalid value:
/// integer `5`, expected variant index 0 <= i < 3" says an unknown event variant.
fn serde_words(message: &str) -> String {
    let variant = message
        .strip_prefix("invalid value: integer `")
        .and_then(|rest| rest.split_once('`'))
        .filter(|(_, tail)| tail.contains("variant index"));
    match variant {
        Some((found, _)) => format!("unknown event variant {found}"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Attr;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        // Short strings mostly, and lengths around each varint boundary.
        prop_oneof![
            ".{0,20}",
            (245usize..260).prop_map(|n| "x".repeat(n)),
            (65_530usize..65_540).prop_map(|n| "é".repeat(n / 2)),
        ]
    }

    fn event() -> impl Strategy<Value = XmlEvent<'static>> {
        prop_oneof![
            (text(), prop::collection::vec((text(), text()), 0..4)).prop_map(|(name, attrs)| {
                XmlEvent::Start {
                    name: name.into(),
                    attrs: attrs
                        .into_iter()
                        .map(|(name, value)| Attr {
                            name: name.into(),
                            value: value.into(),
                        })
                        .collect(),
                }
            }),
            text().prop_map(|t| XmlEvent::Text(t.into())),
            text().prop_map(|n| XmlEvent::End(n.into())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The XML events' own encoder writes exactly what bincode writes.
        #[test]
        fn xml_events_encode_as_bincode_encodes_them(e in event()) {
            let mut ours = vec![7];
            encode_xml_into(&e, &mut ours);
            let mut theirs = vec![7];
            encode_into(&e, &mut theirs).unwrap();
            prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn lengths_past_every_varint_boundary() {
        for n in [0, 250, 251, 65_535, 65_536, 70_000] {
            let e = XmlEvent::Text("a".repeat(n).into());
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            encode_xml_into(&e, &mut ours);
            encode_into(&e, &mut theirs).unwrap();
            assert_eq!(ours, theirs, "length {n}");
        }
    }
}
