//! `filter_on_field(fieldname, value, target)`: passes on the records whose field equals a
//! value.
//!
//! ```python
//! def filter_on_field(fieldname, value, target):
//!     while True:
//!         d = (yield)
//!         if d.get(fieldname) == value:
//!             target.send(d)
//! ```
//!
//! A record without the field does not match (`d.get` gives `None`). Values are compared
//! exactly, as Python compares strings. Several conditions nest like the seed's
//! `filter_on_field("route", "22", filter_on_field("direction", "North Bound", ...))`.

use std::fs::File;

use crate::args::{InputArgs, OutputArgs};
use crate::error::{Error, Result};
use crate::event::{EventKind, Record};
use crate::link::{self, Records, SendTo};
use crate::signals::Shutdown;
use crate::sink::Sink;

/// The seed's `filter_on_field(fieldname, value, target)` coroutine.
pub struct FilterOnField<S> {
    field: String,
    value: String,
    target: S,
}

impl<S: for<'a> Sink<Record<'a>>> FilterOnField<S> {
    pub fn new(field: impl Into<String>, value: impl Into<String>, target: S) -> Self {
        FilterOnField {
            field: field.into(),
            value: value.into(),
            target,
        }
    }
}

impl<'r, S: for<'a> Sink<Record<'a>>> Sink<Record<'r>> for FilterOnField<S> {
    #[inline]
    fn send(&mut self, record: &Record<'r>) -> Result<()> {
        if record.get(&self.field) == Some(self.value.as_str()) {
            self.target.send(record)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.target.close()
    }
}

/// A condition `FIELD=VALUE`, split at the first `=` (the value may contain more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub value: String,
}

impl std::str::FromStr for Condition {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text.split_once('=') {
            Some((field, value)) if !field.is_empty() => Ok(Condition {
                field: field.to_owned(),
                value: value.to_owned(),
            }),
            Some(_) => Err(format!(
                "{text:?} has an empty field name; expected FIELD=VALUE"
            )),
            None => Err(format!("{text:?} has no '='; expected FIELD=VALUE")),
        }
    }
}

/// Any record sink, boxed: filters built at run time nest through it.
pub type BoxedRecordSink<'s> = Box<dyn for<'a> Sink<Record<'a>> + 's>;

/// Nests one [`FilterOnField`] per condition around `target`, the first condition outermost,
/// as the seed writes them.
pub fn filter_chain<'s>(
    conditions: &[Condition],
    target: BoxedRecordSink<'s>,
) -> BoxedRecordSink<'s> {
    conditions.iter().rev().fold(target, |inner, c| {
        Box::new(FilterOnField::new(c.field.clone(), c.value.clone(), inner))
    })
}

/// `co-filter FIELD=VALUE...`: records in, the ones matching every condition out.
pub fn run_filter(conditions: &[Condition], input: &InputArgs, output: &OutputArgs) -> Result<()> {
    if conditions.is_empty() {
        return Err(Error::Usage(
            "give at least one FIELD=VALUE condition".into(),
        ));
    }
    let mut reader = input.open()?;
    let writer = output.open(EventKind::Records)?;
    let mut filters = filter_chain(
        conditions,
        Box::new(SendTo::<Records, File>::from_writer(writer)),
    );
    link::recv_from::<Records, _, _>(
        &mut reader,
        "co-filter",
        &mut filters,
        &Shutdown::on_signals(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::collect;

    #[test]
    fn conditions_split_at_the_first_equals_sign() {
        let c: Condition = "direction=North=Bound".parse().unwrap();
        assert_eq!(
            (c.field.as_str(), c.value.as_str()),
            ("direction", "North=Bound")
        );
        let empty: Condition = "route=".parse().unwrap();
        assert_eq!(empty.value, "");
        assert!("route".parse::<Condition>().is_err());
        assert!("=22".parse::<Condition>().is_err());
    }

    #[test]
    fn nested_filters_keep_only_full_matches() {
        let mut out: Vec<Record<'static>> = Vec::new();
        {
            let conditions: Vec<Condition> = ["route=22", "direction=North Bound"]
                .iter()
                .map(|c| c.parse().unwrap())
                .collect();
            let mut chain = filter_chain(&conditions, Box::new(collect(&mut out)));
            let bus = |route: &str, direction: Option<&str>| {
                let mut r = Record::new();
                r.set("route", route.to_owned());
                if let Some(d) = direction {
                    r.set("direction", d.to_owned());
                }
                r
            };
            for r in [
                bus("22", Some("North Bound")),
                bus("22", Some("South Bound")),
                bus("22", None),
                bus("220", Some("North Bound")),
            ] {
                chain.send(&r).unwrap();
            }
            chain.close().unwrap();
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].get("direction"), Some("North Bound"));
    }
}
