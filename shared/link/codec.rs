//! The one place that knows events are encoded with bincode.
//!
//! Everything else calls [`encode_into`] and [`decode`]; swapping the encoding (another bincode
//! configuration, postcard, ...) means changing this file and the format version in
//! [`super::frame::VERSION`].
//!
//! The configuration is bincode 2's `standard()`: little-endian, variable-length integers, so a
//! short string costs one length byte plus its bytes.
//!
//! The busiest links have encoders and decoders of their own that write and read those same
//! bytes without serde's machinery ([`encode_xml_into`], [`encode_record_into`],
//! [`decode_record`], [`decode_wire_xml`]); property tests hold each to bincode's result, on
//! arbitrary events and, for the decoders, on arbitrary bytes.

use bincode::config::{self, Configuration};
use bincode::enc::write::Writer;
use bincode::error::{DecodeError, EncodeError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::event::{Field, Record, XmlEvent};
use crate::stages::buses::{RawText, WireEvent};

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

/// Appends the encoding of a record: the bytes [`encode_into`] writes for it (a test
/// compares the two), written straight into `out`, as [`encode_xml_into`] does for XML
/// events. bincode's `standard()` layout: the field count as a varint, then each field's
/// name and value as strings. Every record stage re-encodes what it passes on (co-buses one
/// record per bus, each co-filter the records that pass), so this is their send path.
#[inline]
pub fn encode_record_into(record: &Record<'_>, out: &mut Vec<u8>) {
    put_len(out, record.fields.len());
    for field in &record.fields {
        put_str(out, &field.name);
        put_str(out, &field.value);
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

/// Decodes one record from the front of `bytes`, as [`decode`] does (the same value, the
/// same bytes used, an error where it fails; a test compares the two on arbitrary bytes),
/// without serde's machinery: every record stage decodes every record it reads, and short
/// ASCII names and values skip the call into the full UTF-8 validator.
#[inline]
pub fn decode_record(bytes: &[u8]) -> Result<(Record<'_>, usize), String> {
    decode_record_into(bytes, Vec::new())
}

/// [`decode_record`] into `fields` (empty), so that a reader decoding record after record
/// reuses one allocation (see [`emptied`]).
#[inline]
pub fn decode_record_into<'a>(
    bytes: &'a [u8],
    mut fields: Vec<Field<'a>>,
) -> Result<(Record<'a>, usize), String> {
    let mut at = 0;
    let count = get_count(bytes, &mut at)?;
    // Each field takes at least two bytes: never reserve more than the bytes can hold.
    fields.reserve(count.min((bytes.len() - at) / 2));
    for _ in 0..count {
        let name = get_str(bytes, &mut at)?;
        let value = get_str(bytes, &mut at)?;
        fields.push(Field {
            name: Cow::Borrowed(name),
            value: Cow::Borrowed(value),
        });
    }
    Ok((Record { fields }, at))
}

/// `fields` emptied, as a vector of fields borrowing from anything: the memory of one
/// record's fields kept for the next record, whose text borrows from another frame. Collecting
/// an emptied vector's iterator into a vector of the same layout reuses its allocation.
#[inline]
#[allow(clippy::unnecessary_filter_map)] // `filter` cannot change the element's lifetime
pub fn emptied<'b>(mut fields: Vec<Field<'_>>) -> Vec<Field<'b>> {
    fields.clear();
    fields.into_iter().filter_map(|_| None).collect()
}

/// Decodes one XML event from the front of `bytes` as `co-buses` reads it ([`WireEvent`]:
/// strings as unchecked bytes), as [`decode`] does (a test compares the two on arbitrary
/// bytes), without serde's machinery: co-buses decodes tens of millions of them.
#[inline]
pub fn decode_wire_xml(bytes: &[u8]) -> Result<(WireEvent<'_>, usize), String> {
    let mut at = 0;
    let variant = get_variant(bytes, &mut at)?;
    let event = match variant {
        0 => {
            let name = RawText(get_bytes(bytes, &mut at)?);
            let count = get_count(bytes, &mut at)?;
            let mut attrs = Vec::with_capacity(count.min((bytes.len() - at) / 2));
            for _ in 0..count {
                let key = RawText(get_bytes(bytes, &mut at)?);
                attrs.push((key, RawText(get_bytes(bytes, &mut at)?)));
            }
            WireEvent::Start { name, attrs }
        }
        1 => WireEvent::Text(RawText(get_bytes(bytes, &mut at)?)),
        2 => WireEvent::End(RawText(get_bytes(bytes, &mut at)?)),
        found => return Err(format!("unknown event variant {found}")),
    };
    Ok((event, at))
}

/// A string as bincode writes it, from `bytes[*at..]`, as bytes; moves `at` past it.
#[inline]
fn get_bytes<'b>(bytes: &'b [u8], at: &mut usize) -> Result<&'b [u8], String> {
    let len = get_len(bytes, at)?;
    let rest = &bytes[*at..];
    if rest.len() < len {
        return Err(past_end(len - rest.len()));
    }
    *at += len;
    Ok(&rest[..len])
}

/// A string as bincode writes it, from `bytes[*at..]`; moves `at` past it.
#[inline]
fn get_str<'b>(bytes: &'b [u8], at: &mut usize) -> Result<&'b str, String> {
    let raw = get_bytes(bytes, at)?;
    if raw.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(raw) });
    }
    std::str::from_utf8(raw).map_err(|e| {
        format!(
            "text is not valid UTF-8 (bad byte {} bytes into a string)",
            e.valid_up_to()
        )
    })
}

/// A string's length as bincode's varint (see [`put_len`]), from `bytes[*at..]`; moves `at`
/// past it.
#[inline]
fn get_len(bytes: &[u8], at: &mut usize) -> Result<usize, String> {
    let value = get_varint(bytes, at, Width::U64)?;
    usize::try_from(value).map_err(|_| "a length does not fit in memory".into())
}

/// A sequence's length (a record's fields, a start tag's attributes): the same varint, which
/// bincode reads as a `usize` and names so in its errors.
#[inline]
fn get_count(bytes: &[u8], at: &mut usize) -> Result<usize, String> {
    let value = get_varint(bytes, at, Width::Usize)?;
    usize::try_from(value).map_err(|_| "a length does not fit in memory".into())
}

/// An enum's variant index as bincode's varint (a `u32`), from `bytes[*at..]`.
#[inline]
fn get_variant(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    get_varint(bytes, at, Width::U32)
}

/// The integer bincode reads where a varint stands.
#[derive(Clone, Copy, PartialEq)]
enum Width {
    /// An enum's variant index.
    U32,
    /// A string's length.
    U64,
    /// A sequence's length.
    Usize,
}

/// A varint read as `width`, from `bytes[*at..]`; moves `at` past it. A marker the width
/// does not allow is refused in bincode 2.0.1's words, which every reader of the format
/// repeats (python/copipe/codec.py, docs/wire-format.md), quirk included: a string's length
/// read with 9 or more bytes left takes bincode's fast path, which names the expected type
/// `U32` (a sequence's length is always named `Usize`).
#[inline]
fn get_varint(bytes: &[u8], at: &mut usize, width: Width) -> Result<u64, String> {
    let room = bytes.len() - *at;
    let Some(&first) = bytes.get(*at) else {
        return Err(past_end(1));
    };
    *at += 1;
    let size = match first {
        0..=250 => return Ok(u64::from(first)),
        251 => 2,
        252 => 4,
        253 if width != Width::U32 => 8,
        found => {
            let expected = match width {
                Width::U64 if room < 9 => "U64",
                Width::Usize => "Usize",
                _ => "U32",
            };
            let found = match found {
                253 => "U64",
                254 => "U128",
                _ => "Reserved",
            };
            return Err(format!(
                "InvalidIntegerType {{ expected: {expected}, found: {found} }}"
            ));
        }
    };
    let rest = &bytes[*at..];
    if rest.len() < size {
        return Err(past_end(size - rest.len()));
    }
    let mut word = [0; 8];
    word[..size].copy_from_slice(&rest[..size]);
    *at += size;
    Ok(u64::from_le_bytes(word))
}

/// The error of an event that needs `more` bytes than its frame has left.
fn past_end(more: usize) -> String {
    describe(DecodeError::UnexpectedEnd { additional: more })
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

    fn record() -> impl Strategy<Value = Record<'static>> {
        prop::collection::vec((text(), text()), 0..6).prop_map(|fields| Record {
            fields: fields
                .into_iter()
                .map(|(name, value)| crate::event::Field {
                    name: name.into(),
                    value: value.into(),
                })
                .collect(),
        })
    }

    /// Bytes that are mostly small varints and ASCII, with every varint marker often enough.
    fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![4 => 0u8..8, 2 => 32u8..128, 1 => 248u8.., 1 => any::<u8>()],
            0..40,
        )
    }

    /// A hand-written decoder's outcome is bincode's: the same value and length, or the same
    /// error in the very same words (every reader of a bad stream says the same thing).
    fn same_outcome<T: PartialEq + std::fmt::Debug>(
        ours: &Result<(T, usize), String>,
        theirs: &Result<(T, usize), String>,
    ) -> Result<(), TestCaseError> {
        match (ours, theirs) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "ours {:?}, bincode's {:?}", ours, theirs),
        }
        Ok(())
    }

    /// A hand-written encoder writes exactly what bincode writes, after what `out` held.
    fn same_bytes<T: Serialize + ?Sized>(
        value: &T,
        ours: impl Fn(&T, &mut Vec<u8>),
    ) -> Result<(), TestCaseError> {
        let mut mine = vec![7];
        ours(value, &mut mine);
        let mut theirs = vec![7];
        encode_into(value, &mut theirs).unwrap();
        prop_assert_eq!(mine, theirs);
        Ok(())
    }

    /// A reader decodes every record of a stream into one allocation: emptying a record's
    /// fields for the next keeps their memory (a regression here is an allocation per record).
    #[test]
    fn emptied_fields_keep_their_memory() {
        let frame = b"\x02\x01a\x01b\x01c\x01d".to_vec();
        let (record, _) = decode_record_into(&frame, Vec::with_capacity(16)).unwrap();
        let at = record.fields.as_ptr() as usize;
        let kept: Vec<crate::event::Field<'static>> = emptied(record.fields);
        assert_eq!(
            (kept.as_ptr() as usize, kept.capacity(), kept.len()),
            (at, 16, 0)
        );
        let other = frame.clone();
        let (again, _) = decode_record_into(&other, emptied(kept)).unwrap();
        assert_eq!(again.fields.as_ptr() as usize, at);
        assert_eq!(again.fields[1].value, "d");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// On any bytes at all, the records' own decoder agrees with bincode.
        #[test]
        fn records_decode_as_bincode_decodes_them(bytes in wire_bytes()) {
            same_outcome(&decode_record(&bytes), &decode::<Record<'_>>(&bytes))?;
        }

        /// On any bytes, the XML events' raw decoder agrees with bincode.
        #[test]
        fn wire_xml_decodes_as_bincode_decodes_it(bytes in wire_bytes()) {
            same_outcome(&decode_wire_xml(&bytes), &decode::<WireEvent<'_>>(&bytes))?;
        }

        /// Records encoded and decoded again are the same records.
        #[test]
        fn records_round_trip(r in record()) {
            let mut bytes = Vec::new();
            encode_record_into(&r, &mut bytes);
            bytes.push(9);
            let (back, used) = decode_record(&bytes).unwrap();
            prop_assert_eq!(used, bytes.len() - 1);
            prop_assert_eq!(back, r);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// The records' own encoder writes exactly what bincode writes.
        #[test]
        fn records_encode_as_bincode_encodes_them(r in record()) {
            same_bytes(&r, encode_record_into)?;
        }

        /// The XML events' own encoder writes exactly what bincode writes.
        #[test]
        fn xml_events_encode_as_bincode_encodes_them(e in event()) {
            same_bytes(&e, encode_xml_into)?;
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
