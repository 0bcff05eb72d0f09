//! The typed events that flow between stages.
//!
//! Three kinds, one per kind of stage in the seed:
//!
//! * **lines**: text lines without their newline (`follow`, `grep`, `printer`). A line event
//!   is a plain `str`: sinks of lines implement `Sink<str>`.
//! * **xml events**: what the seed's SAX `EventHandler` sends: `('start', (name, attrs))`,
//!   `('text', text)`, `('end', name)`, here [`XmlEvent`].
//! * **records**: what `buses_to_dicts` sends: an ordered list of field/value pairs,
//!   here [`Record`] (the seed's `busdict`).
//!
//! Events borrow their text (`Cow<'a, str>`) so that a stage reading a link can decode them
//! straight out of the frame buffer without allocating, while a stage that builds events can
//! own them ([`Record::into_owned`] gives a `'static` copy for a thread or a queue).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

pub use crate::protocol::EventKind;

/// One attribute of an XML start tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub value: Cow<'a, str>,
}

/// A SAX-style XML event, as the seed's `EventHandler` sends them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XmlEvent<'a> {
    /// `('start', (name, attrs))`
    Start {
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow)]
        attrs: Vec<Attr<'a>>,
    },
    /// `('text', text)`: character data, entities decoded, CDATA included. Never trimmed.
    Text(#[serde(borrow)] Cow<'a, str>),
    /// `('end', name)`
    End(#[serde(borrow)] Cow<'a, str>),
}

impl XmlEvent<'_> {
    /// A copy that owns its text, to keep or to hand to another thread.
    pub fn into_owned(self) -> XmlEvent<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        match self {
            XmlEvent::Start { name, attrs } => XmlEvent::Start {
                name: own(name),
                attrs: attrs
                    .into_iter()
                    .map(|a| Attr {
                        name: own(a.name),
                        value: own(a.value),
                    })
                    .collect(),
            },
            XmlEvent::Text(t) => XmlEvent::Text(own(t)),
            XmlEvent::End(n) => XmlEvent::End(own(n)),
        }
    }
}

impl fmt::Display for XmlEvent<'_> {
    /// The seed's tuple notation: `('start', ('bus', {}))`, `('text', '22')`, `('end', 'bus')`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlEvent::Start { name, attrs } => {
                write!(f, "('start', ({}, {{", PyStr(name))?;
                for (i, a) in attrs.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{}: {}", PyStr(&a.name), PyStr(&a.value))?;
                }
                f.write_str("}))")
            }
            XmlEvent::Text(t) => write!(f, "('text', {})", PyStr(t)),
            XmlEvent::End(n) => write!(f, "('end', {})", PyStr(n)),
        }
    }
}

/// One field of a [`Record`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub value: Cow<'a, str>,
}

/// An ordered record of named text fields: the seed's `busdict`.
///
/// Like a Python dict, setting a field that exists replaces its value in place, so field
/// order is the order in which names first appeared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record<'a> {
    #[serde(borrow)]
    pub fields: Vec<Field<'a>>,
}

impl<'a> Record<'a> {
    pub fn new() -> Self {
        Record { fields: Vec::new() }
    }

    /// The value of field `name`, as `d.get(name)` in the seed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_ref())
    }

    /// Sets field `name` as `d[name] = value` does: in place if it exists, else appended.
    pub fn set(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        let name = name.into();
        let value = value.into();
        match self.fields.iter_mut().find(|f| f.name == name) {
            Some(field) => field.value = value,
            None => self.fields.push(Field { name, value }),
        }
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// A copy that owns its text, to keep or to hand to another thread.
    pub fn into_owned(self) -> Record<'static> {
        Record {
            fields: self
                .fields
                .into_iter()
                .map(|f| Field {
                    name: Cow::Owned(f.name.into_owned()),
                    value: Cow::Owned(f.value.into_owned()),
                })
                .collect(),
        }
    }
}

impl fmt::Display for Record<'_> {
    /// The seed's dict notation: `{'id': '1485', 'route': '22'}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, field) in self.fields.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{}: {}", PyStr(&field.name), PyStr(&field.value))?;
        }
        f.write_str("}")
    }
}

/// Formats a string the way Python 3's `repr()` does for `str`, so printed events read like
/// the seed's output, byte for byte.
///
/// Python's rule (`unicode_repr`): `\\`, the quote, `\t`, `\n` and `\r` are escaped; other
/// ASCII controls and DEL become `\xHH`; non-ASCII characters print as themselves when
/// `str.isprintable()` holds for them, and are escaped otherwise as `\xHH`, `\uHHHH` or
/// `\UHHHHHHHH`. Not printable are the general categories Cc, Cf, Cs, Co, Cn (unassigned), Zl,
/// Zp and Zs (so U+00A0, U+2028 and U+FEFF are escaped). The categories come from
/// `unicode-general-category`; a character assigned in a newer Unicode than the running
/// Python knows is printed here where that Python would escape it.
///
/// ```
/// use copipe::event::PyStr;
/// assert_eq!(PyStr("Clark\u{a0}& Schiller").to_string(), "'Clark\\xa0& Schiller'");
/// assert_eq!(PyStr("\u{feff}caf\u{e9}\u{2028}").to_string(), "'\\ufeffcaf\u{e9}\\u2028'");
/// assert_eq!(PyStr("it's").to_string(), "\"it's\"");
/// ```
pub struct PyStr<'s>(pub &'s str);

impl fmt::Display for PyStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = if self.0.contains('\'') && !self.0.contains('"') {
            '"'
        } else {
            '\''
        };
        f.write_char(quote)?;
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c == quote => write!(f, "\\{c}")?,
                c if c < ' ' || c == '\x7f' => write!(f, "\\x{:02x}", u32::from(c))?,
                c if c.is_ascii() || py_printable(c) => f.write_char(c)?,
                c if u32::from(c) <= 0xff => write!(f, "\\x{:02x}", u32::from(c))?,
                c if u32::from(c) <= 0xffff => write!(f, "\\u{:04x}", u32::from(c))?,
                c => write!(f, "\\U{:08x}", u32::from(c))?,
            }
        }
        f.write_char(quote)
    }
}

/// The pieces in which Python's SAX parser (expat) reports a run of character data: each
/// line end is a `characters()` call of its own, between the text before and after it.
///
/// copipe's [`XmlEvent::Text`] carries the run whole (what a stage needs); the examples that
/// print every SAX call cut it with this to print what the seed prints, line for line.
/// Expat also cuts where an entity reference (`&amp;`) stands and where its input buffers
/// end; those places are not known after parsing, so they are not reproduced.
///
/// ```
/// let pieces: Vec<&str> = copipe::event::expat_pieces("\t\n \nbus").collect();
/// assert_eq!(pieces, ["\t", "\n", " ", "\n", "bus"]);
/// ```
pub fn expat_pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n').flat_map(|line| {
        let (before, newline) = line.split_at(line.len() - usize::from(line.ends_with('\n')));
        [before, newline]
            .into_iter()
            .filter(|piece| !piece.is_empty())
    })
}

/// Python's `str.isprintable()` for one non-ASCII character.
fn py_printable(c: char) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory as G};
    !matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::Surrogate
            | G::PrivateUse
            | G::Unassigned
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::SpaceSeparator
    )
}

/// Events that can be copied into an owned, `'static` form: what a [`Threaded`] stage puts
/// on its queue and what [`collect`] keeps.
///
/// [`Threaded`]: crate::sink::Threaded
/// [`collect`]: crate::sink::collect
pub trait OwnedEvent {
    /// The owned form (`String` for `str`, `Record<'static>` for `Record<'a>`).
    type Owned: OwnedForm;
    fn to_owned_event(&self) -> Self::Owned;
    /// Copies this event into `slot`, reusing the buffers `slot` already has: a queue that
    /// recycles its slots then costs no allocation per event.
    fn clone_into_owned(&self, slot: &mut Self::Owned) {
        *slot = self.to_owned_event();
    }
}

/// An owned event as it waits in a queue, and the event it stands for.
pub trait OwnedForm: Send + 'static {
    type Event: ?Sized;
    fn event(&self) -> &Self::Event;
}

impl OwnedForm for String {
    type Event = str;
    fn event(&self) -> &str {
        self
    }
}

impl OwnedForm for XmlEvent<'static> {
    type Event = XmlEvent<'static>;
    fn event(&self) -> &Self {
        self
    }
}

impl OwnedForm for Record<'static> {
    type Event = Record<'static>;
    fn event(&self) -> &Self {
        self
    }
}

impl OwnedEvent for str {
    type Owned = String;
    fn to_owned_event(&self) -> String {
        self.to_owned()
    }
    fn clone_into_owned(&self, slot: &mut String) {
        slot.clear();
        slot.push_str(self);
    }
}

impl OwnedEvent for XmlEvent<'_> {
    type Owned = XmlEvent<'static>;
    fn to_owned_event(&self) -> XmlEvent<'static> {
        self.clone().into_owned()
    }
}

impl OwnedEvent for Record<'_> {
    type Owned = Record<'static>;
    fn to_owned_event(&self) -> Record<'static> {
        self.clone().into_owned()
    }
    fn clone_into_owned(&self, slot: &mut Record<'static>) {
        slot.fields.truncate(self.fields.len());
        for (i, field) in self.fields.iter().enumerate() {
            match slot.fields.get_mut(i) {
                Some(kept) => {
                    overwrite(&mut kept.name, &field.name);
                    overwrite(&mut kept.value, &field.value);
                }
                None => slot.fields.push(Field {
                    name: Cow::Owned(field.name.clone().into_owned()),
                    value: Cow::Owned(field.value.clone().into_owned()),
                }),
            }
        }
    }
}

/// Replaces the text of a `Cow` in place, keeping its buffer when it owns one.
pub fn overwrite(text: &mut Cow<'static, str>, with: &str) {
    let buffer = text.to_mut();
    buffer.clear();
    buffer.push_str(with);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_set_replaces_in_place_like_a_dict() {
        let mut r = Record::new();
        r.set("id", "1");
        r.set("route", "22");
        r.set("id", "2");
        assert_eq!(r.to_string(), "{'id': '2', 'route': '22'}");
        assert_eq!(r.get("route"), Some("22"));
        assert_eq!(r.get("nope"), None);
    }

    #[test]
    fn xml_events_print_like_the_seed() {
        let e = XmlEvent::Start {
            name: "bus".into(),
            attrs: vec![],
        };
        assert_eq!(e.to_string(), "('start', ('bus', {}))");
        assert_eq!(
            XmlEvent::Text("it's\n".into()).to_string(),
            "('text', \"it's\\n\")"
        );
        assert_eq!(XmlEvent::End("bus".into()).to_string(), "('end', 'bus')");
    }
}
