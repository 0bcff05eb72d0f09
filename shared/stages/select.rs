//! `co-select FIELD...`: keeps some fields of each record, in the order given, renaming with
//! `NEW=OLD` (jq's `{a, b: .c}`, SQL's `SELECT a, c AS b`).
//!
//! The output record borrows its names from the selection and its values from the input
//! record, on a reused field list ([`FieldBuf`]): selecting costs no allocation per record.
//! A record without a selected field leaves it out, gives it an empty value, or is an error,
//! as `--missing` says.

use std::borrow::Cow;
use std::fs::File;

use crate::args::{InputArgs, OutputArgs};
use crate::error::{Error, Result};
use crate::event::{EventKind, Field, Record};
use crate::link::{self, Records, SendTo};
use crate::signals::Shutdown;
use crate::sink::Sink;
use crate::stages::record_buf::FieldBuf;

/// One selected field: `NAME`, or `NEW=OLD` to rename.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    /// The name in the output record.
    pub name: String,
    /// The name in the input record.
    pub from: String,
}

impl std::str::FromStr for Pick {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let (name, from) = text.split_once('=').unwrap_or((text, text));
        if name.is_empty() || from.is_empty() {
            return Err(format!(
                "{text:?}: expected FIELD or NEW=OLD, both non-empty"
            ));
        }
        Ok(Pick {
            name: name.to_owned(),
            from: from.to_owned(),
        })
    }
}

/// What to do when a record lacks a selected field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum IfMissing {
    /// Leave the field out of that record.
    Omit,
    /// Give it an empty value.
    Empty,
    /// Stop with an error naming the record and the field.
    Error,
}

/// The stage: builds each output record from the picks.
pub struct Select<S> {
    picks: Vec<Pick>,
    missing: IfMissing,
    fields: FieldBuf,
    seen: u64,
    target: S,
}

impl<S: for<'a> Sink<Record<'a>>> Select<S> {
    /// Fails if two picks give the same output name.
    pub fn new(picks: Vec<Pick>, missing: IfMissing, target: S) -> Result<Self> {
        for (i, p) in picks.iter().enumerate() {
            if picks[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::Usage(format!(
                    "the output field {:?} is selected twice",
                    p.name
                )));
            }
        }
        Ok(Select {
            picks,
            missing,
            fields: FieldBuf::new(),
            seen: 0,
            target,
        })
    }
}

impl<'r, S: for<'a> Sink<Record<'a>>> Sink<Record<'r>> for Select<S> {
    fn send(&mut self, record: &Record<'r>) -> Result<()> {
        self.seen += 1;
        let (picks, missing, seen, target) =
            (&self.picks, self.missing, self.seen, &mut self.target);
        self.fields.with(|out| {
            for pick in picks {
                let value = match (record.get(&pick.from), missing) {
                    (Some(value), _) => value,
                    (None, IfMissing::Omit) => continue,
                    (None, IfMissing::Empty) => "",
                    (None, IfMissing::Error) => {
                        return Err(Error::MissingField {
                            field: pick.from.clone(),
                            record: format!("#{seen}"),
                            hint: " (--missing omit or --missing empty lets it pass)",
                        })
                    }
                };
                out.fields.push(Field {
                    name: Cow::Borrowed(pick.name.as_str()),
                    value: Cow::Borrowed(value),
                });
            }
            target.send(out)
        })
    }
    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.target.close()
    }
}

/// `co-select FIELD...`: records in, the selected fields of each out.
pub fn run_select(
    picks: &[Pick],
    missing: IfMissing,
    input: &InputArgs,
    output: &OutputArgs,
) -> Result<()> {
    let target = SendTo::<Records, File>::from_writer(output.open(EventKind::Records)?);
    let mut select = Select::new(picks.to_vec(), missing, target)?;
    let mut reader = input.open()?;
    link::recv_from::<Records, _, _>(
        &mut reader,
        "co-select",
        &mut select,
        &Shutdown::on_signals(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::collect;

    #[test]
    fn picks_parse() {
        let p: Pick = "lat=latitude".parse().unwrap();
        assert_eq!((p.name.as_str(), p.from.as_str()), ("lat", "latitude"));
        let p: Pick = "id".parse().unwrap();
        assert_eq!((p.name.as_str(), p.from.as_str()), ("id", "id"));
        for bad in ["", "=a", "a="] {
            assert!(bad.parse::<Pick>().is_err());
        }
    }

    #[test]
    fn keeps_reorders_renames_and_treats_missing_fields_as_asked() {
        let picks: Vec<Pick> = ["b", "x=a", "c"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let mut input = Record::new();
        input.set("a", "1");
        input.set("b", "2");
        let run = |missing| {
            let mut out: Vec<Record<'static>> = Vec::new();
            let outcome = {
                let mut s = Select::new(picks.clone(), missing, collect(&mut out)).unwrap();
                s.send(&input)
            };
            outcome.map(|()| out[0].to_string())
        };
        assert_eq!(run(IfMissing::Omit).unwrap(), "{'b': '2', 'x': '1'}");
        assert_eq!(
            run(IfMissing::Empty).unwrap(),
            "{'b': '2', 'x': '1', 'c': ''}"
        );
        assert_eq!(
            run(IfMissing::Error).unwrap_err().to_string(),
            "record #1 has no field \"c\" (--missing omit or --missing empty lets it pass)"
        );
        let twice: Vec<Pick> = ["a", "a=b"].iter().map(|p| p.parse().unwrap()).collect();
        assert!(Select::new(twice, IfMissing::Omit, collect(&mut Vec::new())).is_err());
    }
}
