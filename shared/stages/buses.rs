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
//! Linear whatever the document: a bus's fields are found by a scan while it has a few (real
//! buses have about a dozen), and through a hash index once it has more, so a hostile bus
//! with 100,000 distinct children costs 100,000 lookups, not 5 billion comparisons. What one
//! bus may hold (its field names, values and pending text) is bounded by `--max-record`
//! bytes, by default the frame limit, since a larger record could not travel anyway.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;

use crate::args::{InputArgs, OutputArgs};
use crate::error::{Error, Result};
use crate::event::{overwrite, EventKind, Field, Record, XmlEvent};
use crate::link::{self, Records, SendTo, Xml};
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
    index: HashMap<Box<str>, usize>,
    /// Bytes the current bus holds (field names, values and `fragments`).
    held: usize,
    /// The bound on `held` (`--max-record`).
    max_record: usize,
    /// The seed's `busdict`, reused: its fields are the first `len` of `record.fields`.
    record: Record<'static>,
    /// Fields of earlier buses kept for their string buffers.
    spare: Vec<Field<'static>>,
    /// The seed's `fragments`, already joined.
    fragments: String,
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
            fragments: String::new(),
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
        self.spare.append(&mut self.record.fields);
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
    fn position(&mut self, name: &str) -> Option<usize> {
        let fields = &self.record.fields;
        if fields.len() < INDEX_FROM {
            return fields.iter().position(|f| f.name == name);
        }
        if self.index.is_empty() {
            for (i, f) in fields.iter().enumerate() {
                self.index.insert(f.name.as_ref().into(), i);
            }
        }
        self.index.get(name).copied()
    }

    /// `fragments.append(text)`, within the record's bound.
    fn push_text(&mut self, text: &str) -> Result<()> {
        self.hold(text.len())?;
        self.fragments.push_str(text);
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
    fn set_field(&mut self, name: &str) -> Result<()> {
        if let Some(i) = self.position(name) {
            let field = &mut self.record.fields[i];
            self.held -= field.value.len();
            overwrite(&mut field.value, &self.fragments);
            return self.hold(self.fragments.len());
        }
        self.hold(name.len() + self.fragments.len())?;
        let mut field = self.spare.pop().unwrap_or(Field {
            name: Cow::Owned(String::new()),
            value: Cow::Owned(String::new()),
        });
        overwrite(&mut field.name, name);
        overwrite(&mut field.value, &self.fragments);
        if !self.index.is_empty() {
            self.index.insert(name.into(), self.record.fields.len());
        }
        self.record.fields.push(field);
        Ok(())
    }
}

impl<'e, S: for<'a> Sink<Record<'a>>> Sink<XmlEvent<'e>> for BusesToDicts<S> {
    #[inline]
    fn send(&mut self, event: &XmlEvent<'e>) -> Result<()> {
        match (self.state, event) {
            (State::SeekingBus, XmlEvent::Start { name, .. }) if name == "bus" => {
                self.begin_bus();
            }
            (State::SeekingBus, _) => {}
            (State::InBus, XmlEvent::Start { .. }) => {
                // The fragments' bytes now live on in a field value, or are dropped.
                self.held -= self.fragments.len();
                self.fragments.clear();
            }
            (State::InBus, XmlEvent::Text(text)) => self.push_text(text)?,
            (State::InBus, XmlEvent::End(name)) if name == "bus" => {
                self.state = State::SeekingBus;
                self.target.send(&self.record)?;
            }
            (State::InBus, XmlEvent::End(name)) => self.set_field(name)?,
        }
        Ok(())
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

/// `co-buses`: XML events in, one record per bus out.
pub fn run_buses(input: &InputArgs, output: &OutputArgs, max_record: usize) -> Result<()> {
    let mut reader = input.open()?;
    let writer = output.open(EventKind::Records)?;
    let mut buses =
        BusesToDicts::new(SendTo::<Records, File>::from_writer(writer)).with_max_record(max_record);
    link::recv_from::<Xml, _, _>(&mut reader, "co-buses", &mut buses, &Shutdown::on_signals())
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
}
