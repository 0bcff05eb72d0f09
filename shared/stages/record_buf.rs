//! A record whose field list is reused from one event to the next.
//!
//! Stages that build records (`co-from-json`, `co-from-csv`, `co-select`) borrow their text
//! from a line or from another record, so each record has a different lifetime and cannot
//! simply be kept in a struct field. [`FieldBuf`] keeps the *allocation* of the field list
//! between records: [`FieldBuf::with`] hands out an empty record of any lifetime built on
//! the kept capacity and takes the capacity back afterwards, so a steady stream of records
//! costs no allocation per record.

use crate::event::{Field, Record};

/// The kept capacity of a record's field list.
#[derive(Default)]
pub struct FieldBuf {
    spare: Vec<Field<'static>>,
}

impl FieldBuf {
    pub fn new() -> Self {
        FieldBuf::default()
    }

    /// Runs `fill` on an empty record built on the kept capacity, then keeps the capacity
    /// (whatever `fill` returns, errors included).
    pub fn with<'a, T>(&mut self, fill: impl FnOnce(&mut Record<'a>) -> T) -> T {
        let mut record = Record {
            fields: recycle(std::mem::take(&mut self.spare)),
        };
        let outcome = fill(&mut record);
        self.spare = recycle(record.fields);
        outcome
    }

    /// The capacity kept (for tests).
    pub fn capacity(&self) -> usize {
        self.spare.capacity()
    }
}

/// Empties a field list and gives its allocation a new lifetime. The element type keeps its
/// size and alignment, so the standard library's in-place collection reuses the buffer
/// (no allocation; checked by the test below).
fn recycle<'b>(mut fields: Vec<Field<'_>>) -> Vec<Field<'b>> {
    fields.clear();
    fields
        .into_iter()
        .map(|_| unreachable!("the list was cleared"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_list_keeps_its_allocation_across_records() {
        let mut buf = FieldBuf::new();
        let line = String::from("a b c d e f g h");
        buf.with(|r| {
            for w in line.split(' ') {
                r.set(w, w);
            }
        });
        let kept = buf.capacity();
        assert!(kept >= 8);
        for _ in 0..100 {
            let other = String::from("x y");
            let n = buf.with(|r| {
                assert!(r.is_empty());
                for w in other.split(' ') {
                    r.set(w, w);
                }
                r.len()
            });
            assert_eq!(n, 2);
            assert_eq!(buf.capacity(), kept, "the allocation was reused");
        }
    }
}
