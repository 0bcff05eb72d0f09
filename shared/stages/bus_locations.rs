//! `bus_locations()`: the sink that prints where each bus is.
//!
//! ```python
//! def bus_locations():
//!     while True:
//!         bus = (yield)
//!         print "%(route)s,%(id)s,\"%(direction)s\","\
//!               "%(latitude)s,%(longitude)s" % bus
//! ```
//!
//! Output is byte for byte the seed's: `22,1485,"North Bound",41.880481123924255,-87.62948191165924`,
//! values printed as they are (no quoting or escaping beyond the seed's quotes). Where the
//! seed dies with a `KeyError` on a record missing a field, [`BusLocations`] returns an error
//! naming the field and the bus, or, told to skip incomplete records, drops and counts them.

use std::io::Write;

use crate::args::{InputArgs, TextOutputArgs};
use crate::error::{Error, IoContext, Result};
use crate::event::Record;
use crate::link::{self, Records};
use crate::signals::Shutdown;
use crate::sink::Sink;

/// The fields printed, in the seed's order.
const FIELDS: [&str; 5] = ["route", "id", "direction", "latitude", "longitude"];

/// The seed's `bus_locations()` coroutine, writing to any `Write` (buffer it: only `flush`
/// and `close` flush).
pub struct BusLocations<W: Write> {
    out: W,
    skip_incomplete: bool,
    /// Records seen, to name a record without an id in an error.
    seen: u64,
    skipped: u64,
}

impl<W: Write> BusLocations<W> {
    pub fn new(out: W) -> Self {
        BusLocations {
            out,
            skip_incomplete: false,
            seen: 0,
            skipped: 0,
        }
    }

    /// Drops records that lack a printed field instead of failing on them.
    pub fn skip_incomplete(mut self, skip: bool) -> Self {
        self.skip_incomplete = skip;
        self
    }

    /// How many incomplete records were dropped.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<'r, W: Write> Sink<Record<'r>> for BusLocations<W> {
    fn send(&mut self, bus: &Record<'r>) -> Result<()> {
        self.seen += 1;
        let mut values = [""; FIELDS.len()];
        for (value, field) in values.iter_mut().zip(FIELDS) {
            match bus.get(field) {
                Some(v) => *value = v,
                None if self.skip_incomplete => {
                    self.skipped += 1;
                    return Ok(());
                }
                None => {
                    let record = match bus.get("id") {
                        Some(id) => format!("for bus id {id:?}"),
                        None => format!("#{} (a bus without an id)", self.seen),
                    };
                    return Err(Error::MissingField {
                        field: field.to_owned(),
                        record,
                        hint: " (--skip-incomplete drops such records)",
                    });
                }
            }
        }
        let [route, id, direction, latitude, longitude] = values;
        writeln!(
            self.out,
            "{route},{id},\"{direction}\",{latitude},{longitude}"
        )
        .map_err(Error::writing_output)
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().context_io(|| "writing output".into())
    }
    fn close(&mut self) -> Result<()> {
        self.out.flush().context_io(|| "writing output".into())
    }
}

/// `co-bus-locations [--skip-incomplete]`: records in, one line per bus out. Dropped records
/// are counted on stderr.
pub fn run_bus_locations(
    skip_incomplete: bool,
    input: &InputArgs,
    output: &TextOutputArgs,
) -> Result<()> {
    let mut reader = input.open()?;
    let mut locations = BusLocations::new(output.open()?).skip_incomplete(skip_incomplete);
    link::recv_from::<Records, _, _>(
        &mut reader,
        "co-bus-locations",
        &mut locations,
        &Shutdown::on_signals(),
    )?;
    if locations.skipped() > 0 {
        eprintln!(
            "co-bus-locations: skipped {} incomplete record{}",
            locations.skipped(),
            if locations.skipped() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus(fields: &[(&str, &str)]) -> Record<'static> {
        let mut r = Record::new();
        for (k, v) in fields {
            r.set(k.to_string(), v.to_string());
        }
        r
    }

    #[test]
    fn prints_the_seeds_format() {
        let mut sink = BusLocations::new(Vec::new());
        let r = bus(&[
            ("id", "1485"),
            ("route", "22"),
            ("direction", "North Bound"),
            ("latitude", "41.880481123924255"),
            ("longitude", "-87.62948191165924"),
        ]);
        sink.send(&r).unwrap();
        assert_eq!(
            String::from_utf8(sink.into_inner()).unwrap(),
            "22,1485,\"North Bound\",41.880481123924255,-87.62948191165924\n"
        );
    }

    #[test]
    fn a_missing_field_names_the_field_and_the_bus() {
        let mut sink = BusLocations::new(Vec::new());
        let err = sink
            .send(&bus(&[("id", "7"), ("route", "22")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "record for bus id \"7\" has no field \"direction\" (--skip-incomplete drops such records)"
        );
        let mut skipping = BusLocations::new(Vec::new()).skip_incomplete(true);
        skipping.send(&bus(&[("id", "7")])).unwrap();
        assert_eq!(skipping.skipped(), 1);
        assert!(skipping.into_inner().is_empty());
    }
}
