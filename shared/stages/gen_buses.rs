//! `co-gen-buses`: writes a synthetic CTA bus-tracker snapshot (`allroutes.xml`).
//!
//! The seed's example data is a real snapshot of Chicago's buses. This generator writes
//! documents in the same format, of any size, so the pipeline can be tested and measured
//! on inputs from a few buses to gigabytes:
//!
//! ```text
//! <?xml version="1.0"?>
//! <buses>
//!     <bus>
//!         <id>6443</id>
//!         <route>147</route>
//!         ...
//!         <finalStop><![CDATA[Paulina & Howard Terminal]]></finalStop>
//!         <operator>42493</operator>
//!     </bus>
//! ```
//!
//! Like the real file it has CRLF line ends and irregular whitespace (tabs, spaces, blank
//! lines, trailing spaces), routes that are numbers and short codes, buses off their route
//! (`OR`, with an extra `<actualRoute>`), a `patternDirection` that often differs from the
//! `direction`, and final stops with `&`, mostly in CDATA and sometimes escaped as `&amp;`.
//! Output depends only on the seed and the count, and is streamed: a 2 GB file costs no
//! more memory than a small one.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::link::endpoint;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct GenOptions {
    pub buses: u64,
    pub seed: u64,
}

/// Routes with weights: route 22 is common so that the seed's query finds plenty.
const ROUTES: &[(&str, u32)] = &[
    ("22", 12),
    ("147", 5),
    ("X49", 3),
    ("49B", 3),
    ("49", 4),
    ("36", 4),
    ("151", 4),
    ("8", 4),
    ("9", 4),
    ("146", 2),
    ("3", 3),
    ("4", 3),
    ("N5", 1),
    ("J14", 2),
    ("X9", 2),
    ("156", 2),
    ("OR", 2),
];

const DIRECTIONS: [&str; 4] = ["North Bound", "South Bound", "East Bound", "West Bound"];

const COLORS: [&str; 6] = [
    "#ff0000", "#0000ff", "#009900", "#cc6600", "#993399", "#000000",
];

const FINAL_STOPS: &[&str] = &[
    "Paulina & Howard Terminal",
    "Foster & Sheridan",
    "Harrison & Wells",
    "Clark & Schiller",
    "Michigan & Delaware",
    "Cicero & 24th Street",
    "Western & 79th Street",
    "Halsted & Roosevelt",
    "Navy Pier",
    "Union Station",
    "Midway Orange Line",
    "Jackson Park Terminal",
];

/// Indentation before a tag, irregular on purpose.
const INDENTS: [&str; 6] = ["\t", "\t\t", "  ", "    ", "\t ", ""];
/// Whitespace at the end of a line, before its CRLF.
const TRAILING: [&str; 4] = ["", "", " ", "\t"];

/// A writer of one document, driven by a seeded random number generator.
struct Generator<W: Write> {
    out: W,
    rng: fastrand::Rng,
    route_weight_total: u32,
}

impl<W: Write> Generator<W> {
    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[self.rng.usize(..choices.len())]
    }

    fn route(&mut self) -> &'static str {
        let mut ticket = self.rng.u32(..self.route_weight_total);
        for &(route, weight) in ROUTES {
            if ticket < weight {
                return route;
            }
            ticket -= weight;
        }
        ROUTES[0].0
    }

    /// A line end: CRLF, sometimes after trailing whitespace, sometimes followed by a blank
    /// (or whitespace-only) line.
    fn line_end(&mut self) -> std::io::Result<()> {
        let trailing = self.pick(&TRAILING);
        self.out.write_all(trailing.as_bytes())?;
        self.out.write_all(b"\r\n")?;
        if self.rng.u8(..20) == 0 {
            let blank = self.pick(&TRAILING);
            self.out.write_all(blank.as_bytes())?;
            self.out.write_all(b"\r\n")?;
        }
        Ok(())
    }

    /// One child element on its own line: `<name>value</name>`.
    fn child(&mut self, name: &str, value: std::fmt::Arguments<'_>) -> std::io::Result<()> {
        let indent = self.pick(&INDENTS);
        write!(self.out, "{indent}<{name}>{value}</{name}>")?;
        self.line_end()
    }

    fn bus(&mut self) -> std::io::Result<()> {
        let indent = self.pick(&INDENTS);
        write!(self.out, "{indent}<bus>")?;
        self.line_end()?;
        let id = self.rng.u32(1000..10000);
        self.child("id", format_args!("{id}"))?;
        let route = self.route();
        self.child("route", format_args!("{route}"))?;
        if route == "OR" {
            let actual = loop {
                let r = self.route();
                if r != "OR" {
                    break r;
                }
            };
            self.child("actualRoute", format_args!("{actual}"))?;
        }
        let color = self.pick(&COLORS);
        self.child("color", format_args!("{color}"))?;
        let revenue = if self.rng.u8(..10) == 0 {
            "false"
        } else {
            "true"
        };
        self.child("revenue", format_args!("{revenue}"))?;
        let direction = if route == "22" {
            // Route 22 (Clark) runs north-south.
            DIRECTIONS[self.rng.usize(..2)]
        } else {
            self.pick(&DIRECTIONS)
        };
        self.child("direction", format_args!("{direction}"))?;
        let latitude = 41.7 + self.rng.f64() * 0.3;
        self.child("latitude", format_args!("{latitude}"))?;
        let longitude = -87.9 + self.rng.f64() * 0.4;
        self.child("longitude", format_args!("{longitude}"))?;
        let pattern = self.rng.u32(1..10000);
        self.child("pattern", format_args!("{pattern}"))?;
        let pattern_direction = if self.rng.u8(..10) < 4 {
            self.pick(&DIRECTIONS)
        } else {
            direction
        };
        self.child("patternDirection", format_args!("{pattern_direction}"))?;
        let run_letter = char::from(b'A' + self.rng.u8(..26));
        let run = self.rng.u32(1..1000);
        self.child("run", format_args!("{run_letter}{run}"))?;
        let stop = self.pick(FINAL_STOPS);
        if self.rng.u8(..8) == 0 {
            let escaped = stop.replace('&', "&amp;");
            self.child("finalStop", format_args!("{escaped}"))?;
        } else {
            self.child("finalStop", format_args!("<![CDATA[{stop}]]>"))?;
        }
        let operator = self.rng.u32(10_000..100_000);
        self.child("operator", format_args!("{operator}"))?;
        let indent = self.pick(&INDENTS);
        write!(self.out, "{indent}</bus>")?;
        self.line_end()
    }
}

/// Writes a whole document with `options.buses` buses to `out` (buffer it).
pub fn write_buses<W: Write>(out: W, options: GenOptions) -> std::io::Result<W> {
    let mut generator = Generator {
        out,
        rng: fastrand::Rng::with_seed(options.seed),
        route_weight_total: ROUTES.iter().map(|&(_, w)| w).sum(),
    };
    generator
        .out
        .write_all(b"<?xml version=\"1.0\"?>\r\n<buses>")?;
    generator.line_end()?;
    for _ in 0..options.buses {
        generator.bus()?;
    }
    generator.out.write_all(b"</buses>\r\n")?;
    Ok(generator.out)
}

/// `co-gen-buses --buses N [--seed S] [--output FILE]`.
pub fn run_gen_buses(options: GenOptions, out: Option<&Path>) -> Result<()> {
    let endpoint::Endpoint { file, label } = endpoint::open_output(out, false)?;
    let writer = BufWriter::with_capacity(128 << 10, file);
    let mut writer = write_buses(writer, options).context_io(|| format!("writing to {label}"))?;
    writer.flush().context_io(|| format!("writing to {label}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(buses: u64, seed: u64) -> String {
        String::from_utf8(write_buses(Vec::new(), GenOptions { buses, seed }).unwrap()).unwrap()
    }

    #[test]
    fn same_seed_same_document_other_seed_other_document() {
        assert_eq!(generate(50, 7), generate(50, 7));
        assert_ne!(generate(50, 7), generate(50, 8));
    }

    #[test]
    fn has_the_real_files_features() {
        let doc = generate(400, 1);
        assert_eq!(doc.matches("<bus>").count(), 400);
        assert!(doc.contains("<route>22</route>"));
        assert!(doc.contains("<direction>North Bound</direction>"));
        assert!(doc.contains("<route>OR</route>"));
        assert!(doc.contains("<actualRoute>"));
        assert!(doc.contains("<![CDATA["));
        assert!(doc.contains("&amp;"));
        assert!(doc.contains("\r\n"));
        assert!(doc.contains(" \r\n") || doc.contains("\t\r\n"));
    }
}
