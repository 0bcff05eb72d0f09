//! Line:column for XML errors, without counting lines on the fast path.
//!
//! quick-xml reports an error as a byte offset. Turning that into line:column needs the line
//! ends before it, and the input may be a pipe that cannot be read twice. [`LineCounter`] is
//! the parser's buffered reader, with one twist: the driver marks where each event starts
//! ([`LineCounter::mark`], a store), and a refill keeps the bytes from the mark on instead of
//! dropping them. Line ends are counted only in the bytes a refill drops, one vectorised
//! pass per buffer. Errors point at the start of the faulty markup, never before the mark, so
//! their line and column are found by scanning the kept bytes. The buffer grows only when one
//! event is larger than it, which the parser's own event buffer does anyway.

use std::io::{self, BufRead, Read};

/// A buffered reader that can say which line and column any offset since the last mark is at.
pub struct LineCounter<R> {
    inner: R,
    buf: Vec<u8>,
    /// The longest single token (tag, text run, comment) the buffer may grow to hold.
    max_token: usize,
    /// Read position in `buf`.
    pos: usize,
    /// End of the bytes read into `buf`.
    end: usize,
    /// Start of the current event in `buf`: bytes from here on are kept across refills.
    mark: usize,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Stream offset of the first character XML does not allow, once one was read.
    bad_char: Option<u64>,
    /// Line ends in the stream before `buf[0]`.
    lines_before_buf: u64,
    /// Stream offset of the first byte of the line `buf[0]` is on.
    line_start_before_buf: u64,
}

impl<R: Read> LineCounter<R> {
    pub fn with_capacity(capacity: usize, max_token: usize, inner: R) -> Self {
        let max_token = max_token.max(1);
        LineCounter {
            inner,
            buf: vec![0; capacity.clamp(1, max_token)],
            max_token,
            bad_char: None,
            pos: 0,
            end: 0,
            mark: 0,
            buf_offset: 0,
            lines_before_buf: 0,
            line_start_before_buf: 0,
        }
    }

    /// True when no input is buffered: the next read may block.
    pub fn buffer_is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// Remembers the current position as the start of the next event.
    #[inline]
    pub fn mark(&mut self) {
        self.mark = self.pos;
    }

    /// The offset of the first character XML does not allow, if the parse has read past it.
    pub fn bad_char_before(&self, offset: u64) -> Option<u64> {
        self.bad_char.filter(|&at| at < offset)
    }

    /// The offset of the first byte since the mark that is not UTF-8, if one was read.
    pub fn invalid_utf8_since_mark(&self) -> Option<u64> {
        let e = std::str::from_utf8(&self.buf[self.mark..self.end]).err()?;
        e.error_len()?;
        Some(self.buf_offset + (self.mark + e.valid_up_to()) as u64)
    }

    /// The stream offset of the read position.
    pub fn position(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// The stream offset of the last mark.
    pub fn mark_offset(&self) -> u64 {
        self.buf_offset + self.mark as u64
    }

    /// The 1-based line and column (in bytes) of stream offset `offset`, which must not be
    /// before the last mark nor past what was read (it is clamped to those bounds).
    pub fn line_column(&self, offset: u64) -> (u64, u64) {
        let at = (offset.saturating_sub(self.buf_offset) as usize).min(self.end);
        let before = &self.buf[..at];
        let line_ends = count_line_ends(before) as u64;
        let line_start = match memchr::memrchr(b'\n', before) {
            Some(i) => self.buf_offset + i as u64 + 1,
            None => self.line_start_before_buf,
        };
        let offset = self.buf_offset + at as u64;
        (
            self.lines_before_buf + line_ends + 1,
            offset - line_start + 1,
        )
    }

    /// Drops the bytes before the mark (counting their line ends) and reads more.
    #[inline(never)]
    fn refill(&mut self) -> io::Result<()> {
        let dropped = &self.buf[..self.mark];
        if let Some(last) = memchr::memrchr(b'\n', dropped) {
            self.lines_before_buf += count_line_ends(dropped) as u64;
            self.line_start_before_buf = self.buf_offset + last as u64 + 1;
        }
        self.buf.copy_within(self.mark..self.end, 0);
        self.buf_offset += self.mark as u64;
        self.pos -= self.mark;
        self.end -= self.mark;
        self.mark = 0;
        if self.end == self.buf.len() {
            // One event fills the whole buffer: make room for more of it, up to a bound, so
            // that a corrupt or hostile document cannot make us allocate without limit.
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
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    let scan_from = self.end.saturating_sub(2);
                    self.end += n;
                    if self.bad_char.is_none() {
                        // Once per buffer, not per token; a U+FFFE may straddle two reads.
                        let found = super::checks::first_bad_char(&self.buf[scan_from..self.end]);
                        self.bad_char = found.map(|i| self.buf_offset + (scan_from + i) as u64);
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Line ends in `bytes`. Counts in blocks with byte-wide sums, which the compiler turns into
/// wide compares and adds (several GB/s), where a per-match search would stop at every line.
#[inline(never)]
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

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for LineCounter<R> {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            self.refill()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    #[inline]
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through a small buffer in steps of `step`, marking before each step,
    /// and checks every offset of the last step against a plain count.
    #[test]
    fn line_and_column_match_a_plain_count_across_refills() {
        let text = b"ab\ncd\n\nefg\nhijklmnop\n\n\nq\nrstuvwxyz0123456789\n";
        for capacity in [1, 2, 3, 5, 8, 64] {
            for step in 1..12 {
                let mut r = LineCounter::with_capacity(capacity, 1 << 20, &text[..]);
                let mut offset = 0;
                loop {
                    r.mark();
                    let n = r.fill_buf().unwrap().len().min(step);
                    if n == 0 {
                        break;
                    }
                    r.consume(n);
                    for at in offset..offset + n {
                        let before = &text[..at];
                        let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
                        let start = before
                            .iter()
                            .rposition(|&b| b == b'\n')
                            .map_or(0, |i| i + 1);
                        let expected = (line, (at - start) as u64 + 1);
                        assert_eq!(r.line_column(at as u64), expected, "at {at}");
                    }
                    assert_eq!(r.mark_offset(), offset as u64);
                    offset += n;
                }
                assert_eq!(offset, text.len());
            }
        }
    }
}
