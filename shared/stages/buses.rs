//! `buses_to_dicts(target)`: XML events in, one record per `<bus>` element out.
//!
//! The seed's coroutine is a two-state machine:
//!
//! ```python
//! while True:
//!     event, value = (yield)
//!     if event == 'start' and value[0] == 'bus':          # state A: seeking a bus
//!         busdict = { }
//!         fragments = []
//!         while True:                                      # state B: in a bus
//!             event, value = (yield)
//!             if event == 'start':   fragments = []
//!             elif event == 'text':  fragments.append(value)
//!             elif event == 'end':
//!                 if value != 'bus': busdict[value] = "".join(fragments)
//!                 else:
//!                     target.send(busdict)
//!                     break
//! ```
//!
//! [`BusesToDicts`] keeps exactly those semantics, quirks included, since the pipeline's
//! output must match the seed's byte for byte: any element's end inside a bus sets a field
//! (nested and unknown elements too), text between children is gathered as well (a child's
//! start throws it away), and a field set twice keeps its first position with the last value,
//! as a Python dict does.
//!
//! The record is reused from one bus to the next (its strings keep their capacity), so a bus
//! costs no allocation once the first few have been seen.
//!
//! `co-buses` decodes the link's events as [`WireEvent`]s: names and text stay bytes borrowed
//! from the frame, attributes are skipped, so an event costs its decoding and the state
//! machine, nothing more. Text is checked to be UTF-8 once per field, when it becomes a
//! field's value (one check per field instead of one per event); text outside buses is never
//! looked at.
//!
//! Linear whatever the document: a bus's fields are found by a scan while it has a few (real
//! buses have about a dozen), and through a hash index once it has more, so a hostile bus
//! with 100,000 distinct children costs 100,000 lookups, not 5 billion comparisons. What one
//! bus may hold (its field names, values and pending text) is bounded by `--max-record`
//! bytes, by default the frame limit, since a larger record could not travel anyway.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::args::{InputArgs, OutputArgs};
use crate::error::{Error, Result};
use crate::event::{overwrite, EventKind, Field, Record, XmlEvent};
use crate::link::{self, Kind, Records, SendTo};
use crate::signals::Shutdown;
use crate::sink::Sink;

/// Where the state machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// State A: waiting for a `<bus>` start.
    SeekingBus,
    /// State B: collecting the fields of a bus.
    InBus,
}

/// A bus with more fields than this finds them through [`BusesToDicts::index`].
const INDEX_FROM: usize = 32;

/// The seed's `buses_to_dicts(target)` coroutine.
pub struct BusesToDicts<S> {
    state: State,
    /// Field name to position in `record.fields`, filled only once a bus has
    /// [`INDEX_FROM`] fields: small buses never hash.
    index: HashMap<Box<[u8]>, usize>,
    /// Bytes the current bus holds (field names, values and `fragments`).
    held: usize,
    /// The bound on `held` (`--max-record`).
    max_record: usize,
    /// The seed's `busdict`, reused: its fields are the first `len` of `record.fields`.
    record: Record<'static>,
    /// Fields of earlier buses kept for their string buffers, the last bus's on top in
    /// reverse order: the next one popped is the field the last bus had next.
    spare: Vec<Field<'static>>,
    /// How many of the last bus's fields are still on top of `spare`, while this bus has set
    /// exactly the last bus's first fields, in their order; zero once it strays.
    predicted: usize,
    /// The seed's `fragments`, already joined (bytes: checked to be UTF-8 when they become a
    /// field's value).
    fragments: Vec<u8>,
    target: S,
}

impl<S: for<'a> Sink<Record<'a>>> BusesToDicts<S> {
    pub fn new(target: S) -> Self {
        BusesToDicts {
            state: State::SeekingBus,
            index: HashMap::new(),
            held: 0,
            max_record: crate::link::DEFAULT_MAX_FRAME,
            record: Record::new(),
            spare: Vec::new(),
            predicted: 0,
            fragments: Vec::new(),
            target,
        }
    }

    /// Bounds the bytes one bus may hold (names, values and pending text); a bus that grows
    /// past it is an error naming the option.
    #[must_use]
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// Starts a new, empty `busdict`, keeping the old fields' buffers for reuse.
    fn begin_bus(&mut self) {
        self.predicted = self.record.fields.len();
        self.spare.extend(self.record.fields.drain(..).rev());
        self.fragments.clear();
        self.held = 0;
        if !self.index.is_empty() {
            // Clearing costs the map's capacity: keep that in proportion to what was used.
            if self.index.capacity() > 4 * self.index.len().max(INDEX_FROM) {
                self.index = HashMap::new();
            } else {
                self.index.clear();
            }
        }
        self.state = State::InBus;
    }

    /// Position of field `name` in the record, if it is set.
    fn position(&mut self, name: &[u8]) -> Option<usize> {
        let fields = &self.record.fields;
        if fields.len() < INDEX_FROM {
            return fields.iter().position(|f| f.name.as_bytes() == name);
        }
        if self.index.is_empty() {
            for (i, f) in fields.iter().enumerate() {
                self.index.insert(f.name.as_bytes().into(), i);
            }
        }
        self.index.get(name).copied()
    }

    /// `fragments.append(text)`, within the record's bound.
    fn push_text(&mut self, text: &[u8]) -> Result<()> {
        self.hold(text.len())?;
        self.fragments.extend_from_slice(text);
        Ok(())
    }

    /// Counts `more` bytes against the record's bound.
    fn hold(&mut self, more: usize) -> Result<()> {
        self.held += more;
        if self.held > self.max_record {
            return Err(Error::Other(format!(
                "a <bus> element holds over {} bytes of fields and text (raise it with --max-record)",
                self.max_record
            )));
        }
        Ok(())
    }

    /// `busdict[name] = "".join(fragments)`, without allocating when a spare field exists.
    fn set_field(&mut self, name: &[u8]) -> Result<()> {
        if self.predicted > 0 && self.set_predicted(name)? {
            return Ok(());
        }
        self.predicted = 0;
        if let Some(i) = self.position(name) {
            let field = &mut self.record.fields[i];
            self.held -= field.value.len();
            overwrite(&mut field.value, utf8(&self.fragments, "text")?);
            return self.hold(self.fragments.len());
        }
        let name = utf8(name, "an element name")?;
        self.hold(name.len() + self.fragments.len())?;
        let mut field = self.spare.pop().unwrap_or(Field {
            name: Cow::Owned(String::new()),
            value: Cow::Owned(String::new()),
        });
        overwrite(&mut field.name, name);
        overwrite(&mut field.value, utf8(&self.fragments, "text")?);
        if !self.index.is_empty() {
            self.index
                .insert(name.as_bytes().into(), self.record.fields.len());
        }
        self.record.fields.push(field);
        Ok(())
    }
}

impl<S: for<'a> Sink<Record<'a>>> BusesToDicts<S> {
    /// Sets field `name` if it is the one the last bus had next (real feeds send every bus's
    /// fields in the same order): then the field on top of `spare` already bears the name,
    /// and the name is not in the record yet, since the record holds exactly the last bus's
    /// fields before it, all distinct. No search and no copy of the name. Returns false,
    /// having changed nothing, for any other name.
    #[inline]
    fn set_predicted(&mut self, name: &[u8]) -> Result<bool> {
        debug_assert!(
            self.index.is_empty(),
            "the index is built only after a stray"
        );
        match self.spare.last() {
            Some(next) if next.name.as_bytes() == name => {}
            _ => return Ok(false),
        }
        self.hold(name.len() + self.fragments.len())?;
        let value = utf8(&self.fragments, "text")?;
        if let Some(next) = self.spare.last_mut() {
            overwrite(&mut next.value, value);
        }
        self.record.fields.extend(self.spare.pop());
        self.predicted -= 1;
        Ok(true)
    }
}

/// A piece of an XML event, as the state machine sees it.
#[derive(Clone, Copy)]
enum Piece<'t> {
    Start(&'t [u8]),
    Text(&'t [u8]),
    End(&'t [u8]),
}

impl<S: for<'a> Sink<Record<'a>>> BusesToDicts<S> {
    /// The seed's two states, one event at a time.
    #[inline]
    fn step(&mut self, event: Piece<'_>) -> Result<()> {
        match (self.state, event) {
            (State::SeekingBus, Piece::Start(b"bus")) => self.begin_bus(),
            (State::SeekingBus, _) => {}
            (State::InBus, Piece::Start(_)) => {
                // The fragments' bytes now live on in a field value, or are dropped.
                self.held -= self.fragments.len();
                self.fragments.clear();
            }
            (State::InBus, Piece::Text(text)) => self.push_text(text)?,
            (State::InBus, Piece::End(b"bus")) => {
                self.state = State::SeekingBus;
                self.target.send(&self.record)?;
            }
            (State::InBus, Piece::End(name)) => self.set_field(name)?,
        }
        Ok(())
    }
}

/// `text` as a `str`, or an error saying that `what` is not UTF-8 (only a damaged or
/// hand-made stream can hold such text: co-xml sends UTF-8).
///
/// Field values are short and nearly always ASCII: an inlined ASCII test settles those
/// without a call into the full UTF-8 validator (15% of co-buses' time).
#[inline]
fn utf8<'t>(text: &'t [u8], what: &str) -> Result<&'t str> {
    if text.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(text) });
    }
    std::str::from_utf8(text).map_err(|e| {
        Error::Other(format!(
            "{what} in a <bus> element is not valid UTF-8 (bad byte {} bytes into it)",
            e.valid_up_to()
        ))
    })
}

impl<'e, S: for<'a> Sink<Record<'a>>> Sink<XmlEvent<'e>> for BusesToDicts<S> {
    #[inline]
    fn send(&mut self, event: &XmlEvent<'e>) -> Result<()> {
        self.step(match event {
            XmlEvent::Start { name, .. } => Piece::Start(name.as_bytes()),
            XmlEvent::Text(text) => Piece::Text(text.as_bytes()),
            XmlEvent::End(name) => Piece::End(name.as_bytes()),
        })
    }

    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }

    /// A bus still open at close is dropped, as the seed drops it: only a complete
    /// `<bus>` element makes a record.
    fn close(&mut self) -> Result<()> {
        self.target.close()
    }
}

/// [`BusesToDicts`] fed straight from the link: what `co-buses` runs.
pub struct FromWire<S>(pub BusesToDicts<S>);

impl<'e, S: for<'a> Sink<Record<'a>>> Sink<WireEvent<'e>> for FromWire<S> {
    #[inline]
    fn send(&mut self, event: &WireEvent<'e>) -> Result<()> {
        self.0.step(match event {
            WireEvent::Start { name, .. } => Piece::Start(name.0),
            WireEvent::Text(text) => Piece::Text(text.0),
            WireEvent::End(name) => Piece::End(name.0),
        })
    }

    fn flush(&mut self) -> Result<()> {
        self.0.target.flush()
    }

    fn close(&mut self) -> Result<()> {
        self.0.target.close()
    }
}

/// An [`XmlEvent`] as `co-buses` decodes it from the link: the same encoding (the variants
/// in the same order, each string its length and bytes), read without the per-string UTF-8
/// check, names and text borrowed from the frame.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireEvent<'a> {
    Start {
        #[serde(borrow)]
        name: RawText<'a>,
        #[serde(borrow)]
        attrs: Vec<(RawText<'a>, RawText<'a>)>,
    },
    Text(#[serde(borrow)] RawText<'a>),
    End(#[serde(borrow)] RawText<'a>),
}

/// A string of the link read as bytes, not yet checked to be UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawText<'a>(pub &'a [u8]);

impl Serialize for RawText<'_> {
    fn serialize<Z: Serializer>(&self, serializer: Z) -> std::result::Result<Z::Ok, Z::Error> {
        serializer.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = RawText<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string borrowed from the frame")
            }
            fn visit_borrowed_bytes<E>(
                self,
                bytes: &'de [u8],
            ) -> std::result::Result<Self::Value, E> {
                Ok(RawText(bytes))
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(RawText(text.as_bytes()))
            }
        }
        deserializer.deserialize_bytes(Visit)
    }
}

/// XML events decoded as [`WireEvent`]s: what `co-buses` reads.
pub struct WireXml;

impl Kind for WireXml {
    const KIND: EventKind = EventKind::Xml;
    type Event<'a> = WireEvent<'a>;
    type Decoded<'a> = WireEvent<'a>;
    type Scratch = ();
    fn event<'b, 'a: 'b>(decoded: &'b WireEvent<'a>) -> &'b WireEvent<'a> {
        decoded
    }
    #[inline]
    fn decode<'a>(
        bytes: &'a [u8],
        _scratch: &mut (),
    ) -> std::result::Result<(WireEvent<'a>, usize), String> {
        link::codec::decode_wire_xml(bytes)
    }
}

/// `co-buses`: XML events in, one record per bus out.
pub fn run_buses(input: &InputArgs, output: &OutputArgs, max_record: usize) -> Result<()> {
    let mut reader = input.open()?;
    let writer = output.open(EventKind::Records)?;
    let buses =
        BusesToDicts::new(SendTo::<Records, File>::from_writer(writer)).with_max_record(max_record);
    let mut buses = FromWire(buses);
    link::recv_from::<WireXml, _, _>(&mut reader, "co-buses", &mut buses, &Shutdown::on_signals())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::collect;

    fn start(name: &str) -> XmlEvent<'_> {
        XmlEvent::Start {
            name: name.into(),
            attrs: vec![],
        }
    }

    #[test]
    fn follows_the_seeds_state_machine() {
        let mut out: Vec<Record<'static>> = Vec::new();
        {
            let mut buses = BusesToDicts::new(collect(&mut out));
            let events = [
                start("buses"),
                XmlEvent::Text("ignored".into()),
                start("bus"),
                XmlEvent::Text("\n ".into()),
                start("id"),
                XmlEvent::Text("14".into()),
                XmlEvent::Text("85".into()),
                XmlEvent::End("id".into()),
                XmlEvent::Text(" tail".into()),
                XmlEvent::End("extra".into()),
                start("route"),
                XmlEvent::Text("22".into()),
                XmlEvent::End("route".into()),
                start("id"),
                XmlEvent::Text("9".into()),
                XmlEvent::End("id".into()),
                XmlEvent::End("bus".into()),
                start("bus"),
                start("route"),
                XmlEvent::End("route".into()),
                XmlEvent::End("bus".into()),
                start("bus"),
            ];
            for e in &events {
                buses.send(e).unwrap();
            }
            buses.close().unwrap();
        }
        let printed: Vec<String> = out.iter().map(std::string::ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "{'id': '9', 'extra': '1485 tail', 'route': '22'}",
                "{'route': ''}"
            ]
        );
    }

    /// The seed's `buses_to_dicts`, written as plainly as the seed: a dict as a list of
    /// pairs, set in place. The reference the reusing, predicting state machine must match.
    fn seed_buses(events: &[XmlEvent<'_>]) -> Vec<String> {
        let mut out = Vec::new();
        let mut bus: Option<Vec<(String, String)>> = None;
        let mut fragments = String::new();
        for event in events {
            match (&mut bus, event) {
                (None, XmlEvent::Start { name, .. }) if name == "bus" => {
                    bus = Some(Vec::new());
                    fragments.clear();
                }
                (None, _) => {}
                (Some(_), XmlEvent::Start { .. }) => fragments.clear(),
                (Some(_), XmlEvent::Text(text)) => fragments.push_str(text),
                (Some(fields), XmlEvent::End(name)) if name == "bus" => {
                    let mut record = Record::new();
                    for (n, v) in fields.iter() {
                        record.set(n, v);
                    }
                    out.push(record.to_string());
                    bus = None;
                }
                (Some(fields), XmlEvent::End(name)) => {
                    match fields.iter_mut().find(|(n, _)| n == name.as_ref()) {
                        Some(field) => field.1.clone_from(&fragments),
                        None => fields.push((name.to_string(), fragments.clone())),
                    }
                }
            }
        }
        out
    }

    proptest::proptest! {
        /// Buses whose children come in the last bus's order, in another order, with a name
        /// twice, with fewer or more children, or a stray end tag: the same records as the
        /// seed's coroutine, whatever the prediction of the next field guesses.
        #[test]
        fn buses_in_any_order_give_the_seeds_records(
            buses in proptest::collection::vec(
                proptest::collection::vec((0..5usize, "[a-z ]{0,3}", proptest::bool::weighted(0.1)), 0..8),
                0..12,
            )
        ) {
            const NAMES: [&str; 5] = ["id", "route", "dir", "lat", "lon"];
            let mut events = Vec::new();
            for bus in &buses {
                events.push(start("bus"));
                for (name, value, stray) in bus {
                    events.push(XmlEvent::Text("\n ".into()));
                    if !stray {
                        events.push(start(NAMES[*name]));
                    }
                    events.push(XmlEvent::Text(value.clone().into()));
                    events.push(XmlEvent::End(NAMES[*name].into()));
                }
                events.push(XmlEvent::End("bus".into()));
            }
            let mut out: Vec<Record<'static>> = Vec::new();
            {
                let mut machine = BusesToDicts::new(collect(&mut out));
                for e in &events {
                    machine.send(e).unwrap();
                }
                machine.close().unwrap();
            }
            let printed: Vec<String> = out.iter().map(std::string::ToString::to_string).collect();
            proptest::prop_assert_eq!(printed, seed_buses(&events));
        }
    }

    /// What co-xml encodes, co-buses decodes as the same event, and back.
    #[test]
    fn wire_events_read_xml_events_as_they_are_encoded() {
        use crate::event::Attr;
        use crate::link::codec;
        let events = [
            XmlEvent::Start {
                name: "bus".into(),
                attrs: vec![Attr {
                    name: "k".into(),
                    value: "é".into(),
                }],
            },
            XmlEvent::Text("22 \u{1F68C}".into()),
            XmlEvent::End("route".into()),
        ];
        let expected = [
            WireEvent::Start {
                name: RawText(b"bus"),
                attrs: vec![(RawText(b"k"), RawText("é".as_bytes()))],
            },
            WireEvent::Text(RawText("22 \u{1F68C}".as_bytes())),
            WireEvent::End(RawText(b"route")),
        ];
        for (event, wire) in events.iter().zip(&expected) {
            let mut bytes = Vec::new();
            codec::encode_into(event, &mut bytes).unwrap();
            let (decoded, used) = codec::decode::<WireEvent<'_>>(&bytes).unwrap();
            assert_eq!((&decoded, used), (wire, bytes.len()));
            let mut again = Vec::new();
            codec::encode_into(&decoded, &mut again).unwrap();
            assert_eq!(again, bytes);
        }
    }
}
