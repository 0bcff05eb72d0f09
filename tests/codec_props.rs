//! Property tests of the link: every stream round-trips, and no byte sequence makes a reader
//! panic or accept a damaged stream.

use std::borrow::Cow;

use copipe::event::{Attr, Field};
use copipe::link::{recv_any, recv_from, FrameReader, FrameWriter, Lines, Records, Xml};
use copipe::signals::Shutdown;
use copipe::sink::collect;
use copipe::stages::dump::Dump;
use copipe::{EventKind, Record, XmlEvent};
use proptest::prelude::*;

fn write_all<T: serde::Serialize + ?Sized>(
    kind: EventKind,
    events: &[&T],
    max_frame: usize,
) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), kind, "test").with_max_frame(max_frame);
    for e in events {
        w.write_event(*e).unwrap();
    }
    w.close().unwrap();
    w.into_inner()
}

/// Mostly short text, sometimes long enough (up to 12 KB of UTF-8) to overflow a batch.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => ".{0,40}", 4 => "[a-z \n&<>]{0,8}", 1 => ".{0,3000}"]
}

fn short_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,40}", "[a-z \n&<>]{0,8}"]
}

fn xml_event() -> impl Strategy<Value = XmlEvent<'static>> {
    prop_oneof![
        (
            short_text(),
            prop::collection::vec((short_text(), short_text()), 0..3)
        )
            .prop_map(|(n, attrs)| {
                XmlEvent::Start {
                    name: Cow::Owned(n),
                    attrs: attrs
                        .into_iter()
                        .map(|(n, v)| Attr {
                            name: Cow::Owned(n),
                            value: Cow::Owned(v),
                        })
                        .collect(),
                }
            }),
        short_text().prop_map(|t| XmlEvent::Text(Cow::Owned(t))),
        short_text().prop_map(|t| XmlEvent::End(Cow::Owned(t))),
    ]
}

fn record() -> impl Strategy<Value = Record<'static>> {
    prop::collection::vec((short_text(), short_text()), 0..6).prop_map(|fields| Record {
        fields: fields
            .into_iter()
            .map(|(n, v)| Field {
                name: Cow::Owned(n),
                value: Cow::Owned(v),
            })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn lines_round_trip(lines in prop::collection::vec(text(), 0..300), max_frame in 13_000usize..100_000) {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let bytes = write_all(EventKind::Lines, &refs, max_frame);
        let mut got: Vec<String> = Vec::new();
        let mut r = FrameReader::open(&bytes[..], "t", max_frame).unwrap();
        recv_from::<Lines, _, _>(&mut r, "t", &mut collect(&mut got), &Shutdown::never()).unwrap();
        prop_assert_eq!(got, lines);
    }

    #[test]
    fn xml_events_round_trip(events in prop::collection::vec(xml_event(), 0..100)) {
        let refs: Vec<&XmlEvent> = events.iter().collect();
        let bytes = write_all(EventKind::Xml, &refs, 1 << 20);
        let mut got: Vec<XmlEvent<'static>> = Vec::new();
        let mut r = FrameReader::open(&bytes[..], "t", 1 << 20).unwrap();
        recv_from::<Xml, _, _>(&mut r, "t", &mut collect(&mut got), &Shutdown::never()).unwrap();
        prop_assert_eq!(got, events);
    }

    #[test]
    fn records_round_trip(records in prop::collection::vec(record(), 0..100)) {
        let refs: Vec<&Record> = records.iter().collect();
        let bytes = write_all(EventKind::Records, &refs, 1 << 20);
        let mut got: Vec<Record<'static>> = Vec::new();
        let mut r = FrameReader::open(&bytes[..], "t", 1 << 20).unwrap();
        recv_from::<Records, _, _>(&mut r, "t", &mut collect(&mut got), &Shutdown::never()).unwrap();
        prop_assert_eq!(got, records);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), kind in 1u8..=3) {
        // As a whole stream, and after a valid header of each kind.
        let _ = read_any(&bytes);
        let mut s = write_all::<str>(EventKind::from_tag(kind).unwrap(), &[], 1 << 20);
        s.truncate(8);
        s.extend_from_slice(&bytes);
        let _ = read_any(&s);
    }

    #[test]
    fn every_proper_prefix_of_a_stream_is_an_error(lines in prop::collection::vec(text(), 1..50), cut in any::<prop::sample::Index>()) {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let bytes = write_all(EventKind::Lines, &refs, 1 << 20);
        let cut = cut.index(bytes.len());
        prop_assert!(read_any(&bytes[..cut]).is_err());
        prop_assert!(read_any(&bytes).is_ok());
    }

    #[test]
    fn a_flipped_length_byte_is_caught_or_harmless(lines in prop::collection::vec("[a-z]{1,20}", 1..50), at in 8usize..16, bit in 0u8..8) {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut bytes = write_all(EventKind::Lines, &refs, 1 << 20);
        bytes[at] ^= 1 << bit;
        // Corrupting the first frame's header must never pass silently as the same stream.
        let mut got: Vec<String> = Vec::new();
        let ok = FrameReader::open(&bytes[..], "t", 1 << 20)
            .and_then(|mut r| recv_from::<Lines, _, _>(&mut r, "t", &mut collect(&mut got), &Shutdown::never()));
        prop_assert!(ok.is_err() || got != lines);
    }
}

fn read_any(bytes: &[u8]) -> copipe::Result<()> {
    let mut r = FrameReader::open(bytes, "t", 1 << 16)?;
    let mut sink = Dump::new(std::io::sink(), false);
    recv_any(&mut r, "t", &mut sink, &Shutdown::never())
}
