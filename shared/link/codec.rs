//! The one place that knows events are encoded with bincode.
//!
//! Everything else calls [`encode_into`] and [`decode`]; swapping the encoding (another bincode
//! configuration, postcard, ...) means changing this file and the format version in
//! [`super::frame::VERSION`].
//!
//! The configuration is bincode 2's `standard()`: little-endian, variable-length integers, so a
//! short string costs one length byte plus its bytes.

use bincode::config::{self, Configuration};
use bincode::enc::write::Writer;
use bincode::error::{DecodeError, EncodeError};
use serde::{Deserialize, Serialize};

const CONFIG: Configuration = config::standard();

/// Appends bincode's writer interface to a `Vec` without going through `io::Write`.
struct VecWriter<'v>(&'v mut Vec<u8>);

impl Writer for VecWriter<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends the encoding of `value` to `out`.
#[inline]
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), String> {
    bincode::serde::encode_into_writer(value, VecWriter(out), CONFIG).map_err(|e| e.to_string())
}

/// Decodes one value from the front of `bytes`, borrowing its text from `bytes`; returns the
/// value and how many bytes it used.
///
/// Never panics and never allocates more than the input can justify: lengths are checked
/// against the bytes that are there.
#[inline]
pub fn decode<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<(T, usize), String> {
    bincode::serde::borrow_decode_from_slice(bytes, CONFIG).map_err(describe)
}

/// Says what is wrong with the bytes in words, not in bincode's debug notation.
fn describe(e: DecodeError) -> String {
    match e {
        DecodeError::UnexpectedEnd { additional } => {
            format!("an event runs past the end of its frame ({additional} more bytes needed)")
        }
        DecodeError::Utf8 { inner } => format!(
            "text is not valid UTF-8 (bad byte {} bytes into a string)",
            inner.valid_up_to()
        ),
        DecodeError::UnexpectedVariant { found, .. } => format!("unknown event variant {found}"),
        DecodeError::LimitExceeded => "an event claims more memory than allowed".into(),
        DecodeError::OtherString(message) => serde_words(&message),
        DecodeError::InvalidBooleanValue(b) => format!("{b} is not a boolean (0 or 1)"),
        DecodeError::InvalidCharEncoding(_) => "a character is not valid UTF-8".into(),
        other => other.to_string(),
    }
}

/// serde's own complaints, which bincode passes on as strings, reworded: "invalid value:
/// integer `5`, expected variant index 0 <= i < 3" says an unknown event variant.
fn serde_words(message: &str) -> String {
    let variant = message
        .strip_prefix("invalid value: integer `")
        .and_then(|rest| rest.split_once('`'))
        .filter(|(_, tail)| tail.contains("variant index"));
    match variant {
        Some((found, _)) => format!("unknown event variant {found}"),
        None => message.to_owned(),
    }
}
