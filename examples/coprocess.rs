//! The seed's `coprocess` example (Part 3): bus records sent to another process.
//!
//! ```python
//! p = subprocess.Popen(['python', 'busproc.py'], stdin=subprocess.PIPE)
//! xml.sax.parse("allroutes.xml", EventHandler(buses_to_dicts(sendto(p.stdin))))
//! ```
//!
//! `SendTo` is the seed's `sendto(f)`: each record is encoded onto the child's stdin (in
//! batched frames, where the seed pickles and flushes one by one). The child, the `busproc`
//! example, reads them with `recv_from` and runs the filters and `bus_locations`.
//!
//! Run: `cargo build --examples && target/debug/examples/coprocess [FILE]`
//! (the child is found next to this program; FILE defaults to `examples/data/allroutes.xml`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::Parser;
use copipe::link::{Records, SendTo};
use copipe::stages::buses::BusesToDicts;
use copipe::stages::xml::xml_events;
use copipe::{Error, Result};

/// Run the seed's bus query with the filters and the printer in another process (busproc).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The bus-tracker snapshot (default: the shipped allroutes.xml).
    #[arg(default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/allroutes.xml"))]
    file: PathBuf,
}

fn run(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let exe = std::env::current_exe().map_err(|e| Error::io("finding this program", e))?;
    let busproc = exe.with_file_name("busproc");
    let mut child = Command::new(&busproc)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::io(
                format!(
                    "starting {} (build it: cargo build --example busproc)",
                    busproc.display()
                ),
                e,
            )
        })?;
    let stdin = child.stdin.take().expect("piped stdin");
    let sent = xml_events(
        file,
        &mut BusesToDicts::new(SendTo::<Records, _>::new(stdin, "busproc")),
    );
    // The sink was closed (or dropped on error), so the child sees the end of its input.
    let status = child
        .wait()
        .map_err(|e| Error::io("waiting for busproc", e))?;
    sent?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Other(format!("busproc failed: {status}")))
    }
}

fn main() -> ExitCode {
    copipe::run::finish("coprocess", run(&Args::parse().file))
}
