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
//!
//! `co-filter` takes more tests than the seed's equality ([`Condition`]): `!=` (which a record
//! without the field passes, as `d.get(f) != v` does), `~`/`!~` (a regular expression, found
//! anywhere in the value, with the `regex` crate: linear time whatever the pattern), and the
//! numeric `<`, `<=`, `>`, `>=`, where a value that is not a number is an error naming the
//! record, the field and the value, never a silent mismatch.

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

/// What a [`Condition`] asks of a field's value.
#[derive(Clone, Debug)]
pub enum Test {
    /// `FIELD=VALUE`: equal, exactly (the seed's test).
    Equal(String),
    /// `FIELD!=VALUE`: not equal; a record without the field passes, as `d.get(f) != v`
    /// does in Python.
    NotEqual(String),
    /// `FIELD~REGEX`: the value contains a match of the regular expression.
    Matches(regex::Regex),
    /// `FIELD!~REGEX`: the value contains no match.
    NotMatches(regex::Regex),
    /// `FIELD<N`, `<=`, `>`, `>=`: the value, read as a number, compares so with `N`.
    Number(Compare, f64),
}

/// A numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Compare {
    fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Compare::Less => value < bound,
            Compare::LessOrEqual => value <= bound,
            Compare::Greater => value > bound,
            Compare::GreaterOrEqual => value >= bound,
        }
    }
}

/// One condition of `co-filter`: a field, an operator and its operand. The field name ends at
/// the first operator character (`=`, `!`, `<`, `>`, `~`), so the operand may contain any.
#[derive(Clone, Debug)]
pub struct Condition {
    pub field: String,
    pub test: Test,
    /// The condition as written, for messages.
    pub text: String,
}

const CONDITION_FORMS: &str =
    "expected FIELD=VALUE, FIELD!=VALUE, FIELD~REGEX, FIELD!~REGEX or FIELD<N (also <=, >, >=)";

/// Reads a number the way conditions and values are compared: surrounding spaces allowed,
/// NaN refused (it compares with nothing).
pub fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| !n.is_nan())
}

impl std::str::FromStr for Condition {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let Some(at) = text.find(['=', '!', '<', '>', '~']) else {
            return Err(format!("{text:?} has no operator; {CONDITION_FORMS}"));
        };
        if at == 0 {
            return Err(format!(
                "{text:?} has an empty field name; {CONDITION_FORMS}"
            ));
        }
        let rest = &text[at..];
        let (op, operand) = ["!=", "!~", "<=", ">=", "=", "~", "<", ">"]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|operand| (*op, operand)))
            .ok_or_else(|| {
                format!("{text:?}: '!' must be followed by '=' or '~'; {CONDITION_FORMS}")
            })?;
        let regex = |pattern: &str| {
            regex::Regex::new(pattern).map_err(|e| {
                format!(
                    "{text:?}: bad regular expression: {}",
                    one_line(&e.to_string())
                )
            })
        };
        let number = |compare| {
            parse_number(operand)
                .map(|n| Test::Number(compare, n))
                .ok_or_else(|| format!("{text:?}: {operand:?} is not a number"))
        };
        let test = match op {
            "=" => Test::Equal(operand.to_owned()),
            "!=" => Test::NotEqual(operand.to_owned()),
            "~" => Test::Matches(regex(operand)?),
            "!~" => Test::NotMatches(regex(operand)?),
            "<" => number(Compare::Less)?,
            "<=" => number(Compare::LessOrEqual)?,
            ">" => number(Compare::Greater)?,
            _ => number(Compare::GreaterOrEqual)?,
        };
        Ok(Condition {
            field: text[..at].to_owned(),
            test,
            text: text.to_owned(),
        })
    }
}

/// The regex crate's errors span several lines (with a caret under the pattern): keep the
/// last, which says what is wrong.
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or(message)
        .to_owned()
}

impl Condition {
    /// Whether `record` (the `seen`-th, for messages) passes; a value that must be a number
    /// and is not is an error.
    pub fn holds(&self, record: &Record<'_>, seen: u64) -> Result<bool> {
        let value = record.get(&self.field);
        Ok(match (&self.test, value) {
            (Test::Equal(v), Some(value)) => value == v,
            (Test::NotEqual(v), value) => value != Some(v.as_str()),
            (Test::Matches(re), Some(value)) => re.is_match(value),
            (Test::NotMatches(re), Some(value)) => !re.is_match(value),
            (Test::Number(compare, bound), Some(value)) => {
                let Some(n) = parse_number(value) else {
                    return Err(Error::Other(format!(
                        "record #{seen}: field {:?} is {value:?}, not a number (condition {:?})",
                        self.field, self.text
                    )));
                };
                compare.holds(n, *bound)
            }
            (_, None) => false,
        })
    }
}

/// `co-filter`'s stage: passes on the records that meet every condition.
pub struct Filter<S> {
    conditions: Vec<Condition>,
    seen: u64,
    target: S,
}

impl<S: for<'a> Sink<Record<'a>>> Filter<S> {
    pub fn new(conditions: Vec<Condition>, target: S) -> Self {
        Filter {
            conditions,
            seen: 0,
            target,
        }
    }
}

impl<'r, S: for<'a> Sink<Record<'a>>> Sink<Record<'r>> for Filter<S> {
    #[inline]
    fn send(&mut self, record: &Record<'r>) -> Result<()> {
        self.seen += 1;
        for c in &self.conditions {
            if !c.holds(record, self.seen)? {
                return Ok(());
            }
        }
        self.target.send(record)
    }
    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.target.close()
    }
}

/// `co-filter CONDITION...`: records in, the ones meeting every condition out. On an error
/// (a value that is not a number), the records already passed are flushed on first.
pub fn run_filter(conditions: &[Condition], input: &InputArgs, output: &OutputArgs) -> Result<()> {
    if conditions.is_empty() {
        return Err(Error::Usage(format!(
            "give at least one condition; {CONDITION_FORMS}"
        )));
    }
    let mut reader = input.open()?;
    let writer = output.open(EventKind::Records)?;
    let mut filter = Filter::new(
        conditions.to_vec(),
        SendTo::<Records, File>::from_writer(writer),
    );
    link::recv_from::<Records, _, _>(
        &mut reader,
        "co-filter",
        &mut filter,
        &Shutdown::on_signals(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::collect;

    fn record(pairs: &[(&str, &str)]) -> Record<'static> {
        let mut r = Record::new();
        for (k, v) in pairs {
            r.set((*k).to_owned(), (*v).to_owned());
        }
        r
    }

    fn holds(condition: &str, pairs: &[(&str, &str)]) -> Result<bool> {
        condition
            .parse::<Condition>()
            .unwrap()
            .holds(&record(pairs), 1)
    }

    #[test]
    fn conditions_split_at_the_first_operator() {
        let c: Condition = "direction=North=Bound".parse().unwrap();
        assert_eq!(c.field, "direction");
        assert!(matches!(c.test, Test::Equal(ref v) if v == "North=Bound"));
        assert!("a<=b<3"
            .parse::<Condition>()
            .unwrap_err()
            .contains("\"b<3\" is not a number"));
        assert!(
            matches!("route=".parse::<Condition>().unwrap().test, Test::Equal(ref v) if v.is_empty())
        );
        assert!(
            matches!("x>=-2.5e1".parse::<Condition>().unwrap().test, Test::Number(Compare::GreaterOrEqual, n) if (n + 25.0).abs() < 1e-9)
        );
        assert!(matches!(
            "x!~^a".parse::<Condition>().unwrap().test,
            Test::NotMatches(_)
        ));
        for bad in ["route", "=22", "a!b", "x<abc", "x>NaN", "x~("] {
            assert!(bad.parse::<Condition>().is_err(), "{bad}");
        }
        assert!("x~("
            .parse::<Condition>()
            .unwrap_err()
            .contains("bad regular expression"));
        assert!(!"x~(".parse::<Condition>().unwrap_err().contains('\n'));
    }

    #[test]
    fn each_test_on_present_and_missing_fields() {
        let r = [("n", " 10 "), ("s", "North Bound")];
        assert!(holds("s=North Bound", &r).unwrap());
        assert!(!holds("s!=North Bound", &r).unwrap());
        assert!(holds("s!=South", &r).unwrap());
        assert!(
            holds("missing!=x", &r).unwrap(),
            "!= passes a record without the field"
        );
        assert!(holds("s~^No.*nd$", &r).unwrap());
        assert!(!holds("s!~Bound", &r).unwrap());
        assert!(!holds("missing~.", &r).unwrap());
        assert!(holds("n<10.5", &r).unwrap());
        assert!(holds("n<=10", &r).unwrap());
        assert!(!holds("n<10", &r).unwrap());
        assert!(holds("n>=1e1", &r).unwrap());
        assert!(!holds("n>10", &r).unwrap());
        assert!(!holds("missing>1", &r).unwrap());
        let e = holds("s>1", &r).unwrap_err().to_string();
        assert_eq!(
            e,
            "record #1: field \"s\" is \"North Bound\", not a number (condition \"s>1\")"
        );
    }

    #[test]
    fn every_condition_must_hold() {
        let mut out: Vec<Record<'static>> = Vec::new();
        {
            let conditions: Vec<Condition> = ["route=22", "direction=North Bound"]
                .iter()
                .map(|c| c.parse().unwrap())
                .collect();
            let mut filter = Filter::new(conditions, collect(&mut out));
            for r in [
                record(&[("route", "22"), ("direction", "North Bound")]),
                record(&[("route", "22"), ("direction", "South Bound")]),
                record(&[("route", "22")]),
                record(&[("route", "220"), ("direction", "North Bound")]),
            ] {
                filter.send(&r).unwrap();
            }
            filter.close().unwrap();
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].get("direction"), Some("North Bound"));
    }
}
