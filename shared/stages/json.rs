//! `co-from-json`: JSON lines to events of any kind; `co-dump --json` is the way back.
//!
//! One JSON value per line. The JSON form of each kind is what `co-dump --json` writes, so
//! `co-dump --json | co-from-json --kind K` gives back the same events:
//!
//! * **records** (the default): one object per line, one field per member, in the object's
//!   order. A string member's value is the string itself; any other value (number, boolean,
//!   null, array, object) is its JSON text as written, with insignificant whitespace removed:
//!   `{"n": 1.50, "tags": [1, 2]}` gives `n` = `1.50` and `tags` = `[1,2]`. A repeated name
//!   keeps its first position and its last value, as Python's `json` and jq do.
//! * **lines**: `{"line":"text"}`.
//! * **xml events**: `{"start":{"name":"bus","attrs":[{"name":"a","value":"1"}]}}`,
//!   `{"text":"..."}`, `{"end":"bus"}`.
//!
//! Blank lines are skipped. A bad line (not UTF-8, not JSON, not an object, not an event of
//! the kind) is a one-line error naming its line number, or, with `--skip-bad`, skipped and
//! counted. Text is borrowed from the line wherever the JSON has no escapes, and the record's
//! field list is reused ([`FieldBuf`]): a record costs no allocation.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::args::OutputArgs;
use crate::error::Result;
use crate::event::{EventKind, Field, Record, XmlEvent};
use crate::link::{self, Kind, SendTo};
use crate::signals;
use crate::sink::Sink;
use crate::stages::lines::open_text_input;
use crate::stages::record_buf::FieldBuf;
use crate::stages::text_input::{each_line, BadInput, TextInputArgs};

/// The kind of events `co-from-json` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonKind {
    Records,
    Lines,
    Xml,
}

impl JsonKind {
    pub fn event_kind(self) -> EventKind {
        match self {
            JsonKind::Records => EventKind::Records,
            JsonKind::Lines => EventKind::Lines,
            JsonKind::Xml => EventKind::Xml,
        }
    }
}

/// A line event in its JSON form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineJson<'a> {
    #[serde(borrow)]
    line: Cow<'a, str>,
}

/// Parses JSON objects into records, reusing one field list.
#[derive(Default)]
pub struct RecordParser {
    fields: FieldBuf,
}

impl RecordParser {
    /// Parses `text` into a record and hands it to `target`.
    pub fn parse_into<S: for<'a> Sink<Record<'a>> + ?Sized>(
        &mut self,
        text: &str,
        target: &mut S,
    ) -> Result<Result<(), String>> {
        self.fields.with(|record| match parse_record(text, record) {
            Ok(()) => target.send(record).map(Ok),
            Err(reason) => Ok(Err(reason)),
        })
    }
}

/// Parses one JSON object into `record` (emptied first), fields in the object's order.
pub fn parse_record<'a>(text: &'a str, record: &mut Record<'a>) -> Result<(), String> {
    record.fields.clear();
    let mut de = serde_json::Deserializer::from_str(text);
    ObjectSeed(record)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(
            |e| match e.is_data().then(|| not_an_object(text)).flatten() {
                Some(what) => what,
                None => json_reason(&e),
            },
        )?;
    dedupe(&mut record.fields);
    Ok(())
}

/// Names what a line holds when it is valid JSON of the wrong type (the parser found a
/// value where an object belongs).
fn not_an_object(text: &str) -> Option<String> {
    let what = match text.trim_start().as_bytes().first()? {
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "a number",
        _ => return None,
    };
    Some(format!(
        "{what} is not a JSON object (one object per line makes one record)"
    ))
}

/// A `serde_json` error as a short reason: "not JSON: expected value at column 3".
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    if e.is_data() {
        format!("{message} at column {}", e.column())
    } else {
        format!("not JSON: {message} at column {}", e.column())
    }
}

/// Fills a record from a JSON object's members.
struct ObjectSeed<'r, 'a>(&'r mut Record<'a>);

impl<'de> DeserializeSeed<'de> for ObjectSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(name)) = map.next_key()? {
            let raw: &'de RawValue = map.next_value()?;
            let value = value_text(raw.get()).map_err(de::Error::custom)?;
            self.0.fields.push(Field { name, value });
        }
        Ok(())
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The record value for a member's raw JSON text: a string's contents, or any other value's
/// text without insignificant whitespace.
pub fn value_text(raw: &str) -> Result<Cow<'_, str>, serde_json::Error> {
    if raw.starts_with('"') {
        let inner = &raw[1..raw.len() - 1];
        if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
            return Ok(Cow::Borrowed(inner));
        }
        return serde_json::from_str::<String>(raw).map(Cow::Owned);
    }
    if raw
        .bytes()
        .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(Cow::Owned(compact(raw)));
    }
    Ok(Cow::Borrowed(raw))
}

/// Valid JSON text without the whitespace outside its strings.
fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        }
        out.push(c);
    }
    out
}

/// Merges repeated names as a dict does: the first position, the last value. Records
/// rarely repeat a name, so the check is a scan for small records and a hash set for large
/// ones: linear time either way.
fn dedupe(fields: &mut Vec<Field<'_>>) {
    let repeated = if fields.len() <= 16 {
        (1..fields.len()).any(|i| fields[..i].iter().any(|f| f.name == fields[i].name))
    } else {
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        !fields.iter().all(|f| seen.insert(f.name.as_ref()))
    };
    if !repeated {
        return;
    }
    let mut at = std::collections::HashMap::with_capacity(fields.len());
    let mut merged: Vec<Field<'_>> = Vec::with_capacity(fields.len());
    for field in fields.drain(..) {
        if let Some(&i) = at.get(field.name.as_ref()) {
            let kept: &mut Field<'_> = &mut merged[i];
            kept.value = field.value;
        } else {
            at.insert(field.name.to_string(), merged.len());
            merged.push(field);
        }
    }
    *fields = merged;
}

/// Sends each JSON line of `reader` as one event of kind `K` to `target`, then closes it.
/// On an error, what was sent before the bad line is flushed on first.
fn from_json_lines<K: Kind, R: Read, S>(
    reader: &mut BufReader<R>,
    max_line: usize,
    bad: &mut BadInput,
    target: &mut S,
    mut parse: impl FnMut(&str, &mut S) -> Result<Result<(), String>>,
) -> Result<()>
where
    S: Sink<K::Event<'static>> + ?Sized,
{
    let outcome = each_line(
        reader,
        max_line,
        target,
        |target, number, bytes| {
            let Ok(text) = std::str::from_utf8(bytes) else {
                let at = std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), |_| 0);
                return bad.reject(
                    number,
                    format!("not valid UTF-8 (at byte {} of the line)", at + 1),
                );
            };
            if text.trim_ascii().is_empty() {
                return Ok(());
            }
            match parse(text, target)? {
                Ok(()) => Ok(()),
                Err(reason) => bad.reject(number, reason),
            }
        },
        Sink::flush,
    );
    crate::sink::deliver_then_close(outcome, target)
}

/// Parses a line event's JSON form.
fn parse_line<S: Sink<str> + ?Sized>(text: &str, target: &mut S) -> Result<Result<(), String>> {
    match serde_json::from_str::<LineJson<'_>>(text) {
        Ok(l) => target.send(&l.line).map(Ok),
        Err(e) => Ok(Err(json_reason(&e))),
    }
}

/// Parses an XML event's JSON form.
fn parse_xml<S: for<'a> Sink<XmlEvent<'a>> + ?Sized>(
    text: &str,
    target: &mut S,
) -> Result<Result<(), String>> {
    match serde_json::from_str::<XmlEvent<'_>>(text) {
        Ok(event) => target.send(&event).map(Ok),
        Err(e) => Ok(Err(json_reason(&e))),
    }
}

/// `co-from-json [FILE]`: JSON lines in, events of `kind` out.
pub fn run_from_json(
    path: Option<&Path>,
    kind: JsonKind,
    options: &TextInputArgs,
    output: &OutputArgs,
) -> Result<()> {
    signals::stop_on_signals();
    let (mut reader, _label) = open_text_input(path)?;
    let writer = output.open(kind.event_kind())?;
    let mut bad = BadInput::new(options.skip_bad, "lines");
    let max = options.max_line;
    let outcome = match kind {
        JsonKind::Records => {
            let mut sink = SendTo::<link::Records, File>::from_writer(writer);
            let mut parser = RecordParser::default();
            from_json_lines::<link::Records, _, _>(&mut reader, max, &mut bad, &mut sink, |t, s| {
                parser.parse_into(t, s)
            })
        }
        JsonKind::Lines => {
            let mut sink = SendTo::<link::Lines, File>::from_writer(writer);
            from_json_lines::<link::Lines, _, _>(&mut reader, max, &mut bad, &mut sink, parse_line)
        }
        JsonKind::Xml => {
            let mut sink = SendTo::<link::Xml, File>::from_writer(writer);
            from_json_lines::<link::Xml, _, _>(&mut reader, max, &mut bad, &mut sink, parse_xml)
        }
    };
    bad.report("co-from-json");
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(text: &str) -> Result<Vec<(String, String)>, String> {
        let mut r = Record::new();
        parse_record(text, &mut r)?;
        Ok(r.fields
            .iter()
            .map(|f| (f.name.to_string(), f.value.to_string()))
            .collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn members_keep_their_order_and_non_strings_their_compact_text() {
        assert_eq!(
            record(r#"{"z":"1","a":2, "n":null,"t":true,"f":1.50e3,"arr":[1, "a b", {"k" : []}]}"#),
            Ok(pairs(&[
                ("z", "1"),
                ("a", "2"),
                ("n", "null"),
                ("t", "true"),
                ("f", "1.50e3"),
                ("arr", r#"[1,"a b",{"k":[]}]"#)
            ]))
        );
        assert_eq!(
            record(r#"{"s":"tab\there \"q\" \u00e9 \\"}"#),
            Ok(pairs(&[("s", "tab\there \"q\" é \\")]))
        );
        assert_eq!(record("{}"), Ok(vec![]));
    }

    #[test]
    fn a_repeated_name_keeps_its_first_place_and_last_value() {
        assert_eq!(
            record(r#"{"a":"1","b":"2","a":"3"}"#),
            Ok(pairs(&[("a", "3"), ("b", "2")]))
        );
        let many: Vec<String> = (0..40)
            .map(|i| format!("\"k{}\":\"{i}\"", i % 20))
            .collect();
        let got = record(&format!("{{{}}}", many.join(","))).unwrap();
        assert_eq!(got.len(), 20);
        assert_eq!(got[3], ("k3".to_owned(), "23".to_owned()));
    }

    #[test]
    fn bad_lines_say_what_is_wrong_and_where() {
        assert_eq!(
            record("[1,2]").unwrap_err(),
            "an array is not a JSON object (one object per line makes one record)"
        );
        assert!(record("3").unwrap_err().starts_with("a number is not"));
        assert!(record(r#"{"a":1"#)
            .unwrap_err()
            .starts_with("not JSON: EOF"));
        assert!(record(r#"{"a":1} x"#)
            .unwrap_err()
            .contains("trailing characters"));
        assert!(record("nope").unwrap_err().starts_with("not JSON"));
        assert!(record(r#"{"a":1,}"#).unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn compact_keeps_whitespace_inside_strings() {
        assert_eq!(compact(r#"[ "a \" b" , 1 ]"#), r#"["a \" b",1]"#);
        assert_eq!(compact("{ \"k\\\\\" : \"x y\" }"), "{\"k\\\\\":\"x y\"}");
    }
}
