//! quick-xml's bare event loop over a file: the parsing limit the bus pipeline is measured
//! against (`benches/bus/run.sh`). It only counts events; nothing is decoded or sent.
//!
//! Run: `cargo run --release --example xml_bare -- FILE`

use std::fs::File;
use std::io::BufReader;
use std::process::ExitCode;

use quick_xml::events::Event;
use quick_xml::Reader;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: xml_bare FILE");
        return ExitCode::from(2);
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("xml_bare: error: opening {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut reader = Reader::from_reader(BufReader::with_capacity(128 << 10, file));
    reader.config_mut().trim_text(false);
    let mut buf = Vec::with_capacity(4096);
    let mut events: u64 = 0;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(_) => events += 1,
            Err(e) => {
                eprintln!("xml_bare: error at byte {}: {e}", reader.error_position());
                return ExitCode::from(1);
            }
        }
    }
    println!("{events} events");
    ExitCode::SUCCESS
}
