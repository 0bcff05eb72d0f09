//! Micro-benchmarks of the hot paths, beside the end-to-end scripts in `benches/*/run.sh`.
//!
//! * `frame_writing`: `SendTo::send` encoding events into batched frames (to `io::sink()`,
//!   so only encoding and framing are measured);
//! * `recv_from`: reading frames and decoding events out of them, in memory, into a sink
//!   that only counts;
//! * `buses_to_dicts`: the seed's state machine turning XML events into records.
//!
//! Inputs come from the shipped `examples/data/allroutes.xml` (1500 buses, 640 KB): its
//! lines, its XML events and its records. Each benchmark reports time per iteration and
//! throughput in items per second.
//!
//! Run: `just bench-micro` (or `cargo bench --bench micro`).

use std::hint::black_box;
use std::io;

use copipe::event::{Record, XmlEvent};
use copipe::link::{recv_from, FrameReader, Kind, Lines, Records, SendTo, DEFAULT_MAX_FRAME};
use copipe::signals::Shutdown;
use copipe::sink::{collect, Sink};
use copipe::stages::buses::BusesToDicts;
use copipe::stages::xml::xml_events;
use divan::counter::ItemsCount;
use divan::Bencher;

const ALLROUTES: &str = include_str!("../examples/data/allroutes.xml");

fn main() {
    divan::main();
}

/// A sink that only counts what it receives (and keeps the optimizer from skipping it).
#[derive(Default)]
struct Count(usize);

impl<T: ?Sized> Sink<T> for Count {
    fn send(&mut self, item: &T) -> copipe::Result<()> {
        black_box(item);
        self.0 += 1;
        Ok(())
    }
    fn flush(&mut self) -> copipe::Result<()> {
        Ok(())
    }
    fn close(&mut self) -> copipe::Result<()> {
        Ok(())
    }
}

/// Every XML event of the sample document, owned.
fn xml_sample() -> Vec<XmlEvent<'static>> {
    let mut events = Vec::new();
    xml_events(ALLROUTES.as_bytes(), &mut collect(&mut events)).expect("the sample parses");
    events
}

/// Every bus record of the sample document, owned.
fn records_sample() -> Vec<Record<'static>> {
    let mut records = Vec::new();
    let mut buses = BusesToDicts::new(collect(&mut records));
    xml_events(ALLROUTES.as_bytes(), &mut buses).expect("the sample parses");
    drop(buses);
    records
}

/// The sample document's lines, as `co-lines` would send them.
fn lines_sample() -> Vec<&'static str> {
    ALLROUTES.lines().collect()
}

/// A whole stream (header, frames, end marker) of `events`, as a stage would write it.
fn encode<K: Kind, T>(events: &[T], as_event: impl Fn(&T) -> &K::Event<'_>) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut sendto = SendTo::<K, _>::new(&mut wire, "bench");
    for e in events {
        sendto.send(as_event(e)).expect("encoding to memory");
    }
    sendto.close().expect("closing a stream in memory");
    drop(sendto);
    wire
}

mod frame_writing {
    use super::{black_box, io, lines_sample, records_sample, Bencher, ItemsCount, Lines, Records};
    use super::{SendTo, Sink};

    #[divan::bench]
    fn lines(bencher: Bencher) {
        let lines = lines_sample();
        bencher.counter(ItemsCount::new(lines.len())).bench(|| {
            let mut sendto = SendTo::<Lines, _>::new(io::sink(), "bench");
            for line in &lines {
                sendto.send(black_box(*line)).unwrap();
            }
            sendto.close().unwrap();
        });
    }

    #[divan::bench]
    fn records(bencher: Bencher) {
        let records = records_sample();
        bencher.counter(ItemsCount::new(records.len())).bench(|| {
            let mut sendto = SendTo::<Records, _>::new(io::sink(), "bench");
            for record in &records {
                sendto.send(black_box(record)).unwrap();
            }
            sendto.close().unwrap();
        });
    }
}

mod recv_from {
    use super::{encode, lines_sample, records_sample, Bencher, Count, ItemsCount, Kind, Lines};
    use super::{FrameReader, Records, Shutdown, DEFAULT_MAX_FRAME};

    /// Decodes a whole stream of `count` events of kind `K`, counting them.
    fn decode_all<K: Kind>(bencher: Bencher, wire: &[u8], count: usize) {
        bencher.counter(ItemsCount::new(count)).bench(|| {
            let mut input = FrameReader::open(wire, "bench", DEFAULT_MAX_FRAME).unwrap();
            let mut counter = Count::default();
            super::recv_from::<K, _, _>(&mut input, "bench", &mut counter, &Shutdown::never())
                .unwrap();
            assert_eq!(counter.0, count);
        });
    }

    #[divan::bench]
    fn lines(bencher: Bencher) {
        let lines = lines_sample();
        let wire = encode::<Lines, _>(&lines, |l| l);
        decode_all::<Lines>(bencher, &wire, lines.len());
    }

    #[divan::bench]
    fn records(bencher: Bencher) {
        let records = records_sample();
        let wire = encode::<Records, _>(&records, |r| r);
        decode_all::<Records>(bencher, &wire, records.len());
    }
}

/// The seed's `buses_to_dicts`: XML events in, one record per `<bus>` out.
#[divan::bench]
fn buses_to_dicts(bencher: Bencher) {
    let events = xml_sample();
    bencher.counter(ItemsCount::new(events.len())).bench(|| {
        let mut buses = Count::default();
        let mut stage = BusesToDicts::new(&mut buses);
        for event in &events {
            stage.send(black_box(event)).unwrap();
        }
        stage.close().unwrap();
        drop(stage);
        assert_eq!(buses.0, 1500);
    });
}
