//! The parser's window on the input, and line:column for errors without counting lines on
//! the fast path.
//!
//! quick-xml parses fastest from a borrowed slice: names and text are slices of the input, not
//! copies into an event buffer. [`Window`] holds a large buffer of the document that the
//! driver parses as one slice; when the parse reaches the end of what was read, the driver
//! calls [`Window::refill`] with the first byte it still needs (the start of an unfinished
//! event): the bytes before it are dropped, the rest moves to the front and more is read after
//! it. The buffer grows only when one unfinished event is as large as the buffer, up to
//! `--max-token`.
//!
//! Every byte read is looked at once, in one vectorised pass per read: its line ends are
//! counted and the first character XML does not allow is noted. An error's line is then the
//! lines read minus the line ends between the error and the end of the buffer, its column a
//! search back to the previous line end: work only when an error needs it.

use std::io::{self, Read};

use super::checks;

/// A window on the document: the bytes from the first unfinished event on.
pub struct Window<R> {
    inner: R,
    buf: Vec<u8>,
    /// End of the bytes read into `buf`.
    end: usize,
    /// The longest single token the buffer may grow to hold.
    max_token: usize,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// True once the input has ended.
    eof: bool,
    /// Stream offset of the first character XML does not allow, once one was read.
    bad_char: Option<u64>,
    /// Line ends in every byte read so far.
    lines_read: u64,
    /// Characters between the start of the line `buf[0]` is on and `buf[0]`.
    line_chars_before_buf: u64,
    /// True once reading the input failed (the error is about the end of what was read).
    read_failed: bool,
}

/// An unfinished event this large waits for as many bytes again before it is parsed anew,
/// so a huge token costs a number of parses logarithmic in its size, not linear.
const REPARSE_FROM: usize = 64 << 10;

impl<R: Read> Window<R> {
    pub fn new(capacity: usize, max_token: usize, inner: R) -> Self {
        let max_token = max_token.max(1);
        Window {
            inner,
            buf: vec![0; capacity.clamp(1, max_token)],
            end: 0,
            max_token,
            buf_offset: 0,
            eof: false,
            bad_char: None,
            lines_read: 0,
            line_chars_before_buf: 0,
            read_failed: false,
        }
    }

    /// The bytes read and not yet dropped.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.end]
    }

    /// True once the input has ended: the bytes in the window are all there is.
    #[inline]
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// The stream offset of `bytes()[i]`.
    #[inline]
    pub fn offset(&self, i: usize) -> u64 {
        self.buf_offset + i as u64
    }

    /// The offset of the first character XML does not allow, if the parse has read past it.
    #[inline]
    pub fn bad_char_before(&self, offset: u64) -> Option<u64> {
        self.bad_char.filter(|&at| at < offset)
    }

    /// The index in `bytes()` of the first character XML does not allow, or the window's
    /// length if it holds none.
    #[inline]
    pub fn clean_len(&self) -> usize {
        match self.bad_char {
            Some(at) if at < self.offset(self.end) => at.saturating_sub(self.buf_offset) as usize,
            _ => self.end,
        }
    }

    /// The offset of the first byte at or after `from` (an index in `bytes()`) that is not
    /// UTF-8, if one was read.
    pub fn invalid_utf8_from(&self, from: usize) -> Option<u64> {
        let from = from.min(self.end);
        let e = std::str::from_utf8(&self.buf[from..self.end]).err()?;
        if e.error_len().is_none() && !self.eof {
            return None; // A character cut by the end of what was read so far.
        }
        Some(self.offset(from + e.valid_up_to()))
    }

    /// True once reading the input failed: an error then is about the end of the window.
    pub fn read_failed(&self) -> bool {
        self.read_failed
    }

    /// The 1-based line and column of stream offset `offset`, which must lie in the window
    /// (it is clamped to it). Columns count characters, as expat's do (expat's start at 0).
    pub fn line_column(&self, offset: u64) -> (u64, u64) {
        let at = (offset.saturating_sub(self.buf_offset) as usize).min(self.end);
        let after = count_line_ends(&self.buf[at..self.end]) as u64;
        let column = match memchr::memrchr(b'\n', &self.buf[..at]) {
            Some(i) => count_chars(&self.buf[i + 1..at]),
            None => self.line_chars_before_buf + count_chars(&self.buf[..at]),
        };
        (self.lines_read - after + 1, column + 1)
    }

    /// Drops the bytes before `keep` (an index in `bytes()`), moves the rest to the front and
    /// reads more after it. Returns false at the end of the input (nothing more was read).
    ///
    /// The rest is an unfinished event: it is parsed again once more bytes are there. When it
    /// is large, this reads until the bytes after it are as many as its own, so parsing it
    /// again and again costs in all about twice its size.
    pub fn refill(&mut self, keep: usize) -> io::Result<bool> {
        let keep = keep.min(self.end);
        match memchr::memrchr(b'\n', &self.buf[..keep]) {
            Some(last) => self.line_chars_before_buf = count_chars(&self.buf[last + 1..keep]),
            None => self.line_chars_before_buf += count_chars(&self.buf[..keep]),
        }
        self.buf.copy_within(keep..self.end, 0);
        self.buf_offset += keep as u64;
        self.end -= keep;
        let unfinished = self.end;
        let want = if unfinished >= REPARSE_FROM {
            unfinished * 2
        } else {
            unfinished + 1
        };
        let mut grew = false;
        while self.end < want && !self.eof {
            if self.end == self.buf.len() {
                self.grow()?;
            }
            grew |= self.read_some()?;
        }
        Ok(grew)
    }

    /// Makes room for more of an event that fills the whole buffer, up to `--max-token`, so
    /// that a corrupt or hostile document cannot make us allocate without limit.
    fn grow(&mut self) -> io::Result<()> {
        let max = self.max_token;
        if self.buf.len() >= max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a single tag or run of text is longer than {max} bytes (raise it with --max-token)"
                ),
            ));
        }
        self.buf.resize((self.buf.len() * 2).min(max), 0);
        Ok(())
    }

    /// One read into the free end of the buffer; scans what arrived. False at the end.
    fn read_some(&mut self) -> io::Result<bool> {
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    // A U+FFFE may straddle two reads: look again at the last two bytes.
                    let from = self.end.saturating_sub(2);
                    let fresh = self.end - from;
                    self.end += n;
                    let (lines, bad) = checks::scan(&self.buf[from..self.end], fresh);
                    self.lines_read += lines as u64;
                    if self.bad_char.is_none() {
                        self.bad_char = bad.map(|i| self.offset(from + i));
                    }
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.read_failed = true;
                    return Err(e);
                }
            }
        }
    }
}

/// Characters in UTF-8 `bytes` (bytes that are not continuation bytes).
fn count_chars(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64
}

/// Line ends in `bytes`. Counts in blocks with byte-wide sums, which the compiler turns into
/// wide compares and adds (several GB/s), where a per-match search would stop at every line.
fn count_line_ends(bytes: &[u8]) -> usize {
    let mut blocks = bytes.chunks_exact(255 * 16);
    let mut total = 0;
    for block in &mut blocks {
        let mut sums = [0u8; 16];
        for lane in block.chunks_exact(16) {
            for (sum, &b) in sums.iter_mut().zip(lane) {
                *sum += u8::from(b == b'\n');
            }
        }
        total += sums.iter().map(|&s| s as usize).sum::<usize>();
    }
    total + memchr::memchr_iter(b'\n', blocks.remainder()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through small windows, dropping a few bytes at each refill, and checks
    /// every offset in the window against a plain count.
    #[test]
    fn line_and_column_match_a_plain_count_across_refills() {
        let text = b"ab\ncd\n\nefg\nhijklmnop\n\n\nq\nrstuvwxyz0123456789\n";
        for capacity in [1, 2, 3, 5, 8, 64] {
            for step in 1..12 {
                let mut w = Window::new(capacity, 1 << 20, &text[..]);
                let mut keep = 0;
                loop {
                    w.refill(keep).unwrap();
                    if w.bytes().is_empty() {
                        break;
                    }
                    for i in 0..w.bytes().len() {
                        let at = w.offset(i) as usize;
                        let before = &text[..at];
                        let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
                        let start = before
                            .iter()
                            .rposition(|&b| b == b'\n')
                            .map_or(0, |i| i + 1);
                        let expected = (line, (at - start) as u64 + 1);
                        assert_eq!(w.line_column(at as u64), expected, "at {at}");
                    }
                    keep = step.min(w.bytes().len());
                }
                assert!(w.at_eof());
            }
        }
    }
}
