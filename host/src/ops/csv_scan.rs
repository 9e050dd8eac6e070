//! What the CSV parser does not say about the bytes it reads: the line
//! each record starts on, and whether a quoted cell in it was closed.
//!
//! The `csv` crate ends a quoted cell at the end of the input when its
//! closing quote is missing, and keeps a closing quote followed by more
//! text as part of the cell: either way the rows after an unterminated
//! quote are read into one cell, without an error. And its line numbers
//! count the LF of a CRLF as part of the next record, one line short.
//! [`Scan`] sits between the input and the parser and follows the parser's
//! rules (a quote opens a cell only at the cell's start, `""` in a quoted
//! cell is one quote, CR, LF and CRLF end a record, blank lines are
//! skipped), noting for each record the line it starts on and whether it
//! held a quote that did not close.

use std::collections::VecDeque;
use std::io::Read;

/// What [`Scan`] saw of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    /// The line the record starts on (the first line is 1).
    pub line: u64,
    /// Whether a quoted cell of the record did not close where the cell
    /// ends: the input ended inside it, or its closing quote is followed by
    /// more text.
    pub unclosed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a record: line ends here are blank lines.
    RecordStart,
    /// At the start of a cell, where a quote opens a quoted cell.
    CellStart,
    /// In a cell without quotes, where a quote is text.
    Unquoted,
    /// In a quoted cell.
    Quoted,
    /// Just after a quote in a quoted cell: the next byte says whether it
    /// closed the cell or was the first of `""`.
    QuoteInQuoted,
}

/// The UTF-8 byte order mark, which the parser skips at the start.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// A reader that passes `inner` through unchanged and notes each record's
/// [`Record`] as the parser will read it.
pub(crate) struct Scan<R> {
    inner: R,
    state: State,
    /// Line breaks passed so far (a CRLF is one).
    breaks: u64,
    /// The last byte was a CR, whose LF (if it comes) ends no other line.
    after_cr: bool,
    /// Bytes passed so far.
    offset: u64,
    /// The input ended.
    ended: bool,
    /// Records seen and not yet taken with [`Scan::next_record`].
    records: VecDeque<Record>,
}

impl<R: Read> Scan<R> {
    /// Scans `inner`.
    pub(crate) fn new(inner: R) -> Scan<R> {
        Scan {
            inner,
            state: State::RecordStart,
            breaks: 0,
            after_cr: false,
            offset: 0,
            ended: false,
            records: VecDeque::new(),
        }
    }

    /// What was seen of the next record the parser returns. Call it once
    /// per record the parser returns (well-formed or not), header first.
    pub(crate) fn next_record(&mut self) -> Option<Record> {
        self.records.pop_front()
    }

    fn unclosed(&mut self) {
        if let Some(last) = self.records.back_mut() {
            last.unclosed = true;
        }
    }

    fn step(&mut self, byte: u8) {
        let line_end = byte == b'\r' || byte == b'\n';
        if byte == b'\r' || (byte == b'\n' && !self.after_cr) {
            self.breaks += 1;
        }
        self.after_cr = byte == b'\r';
        let at_bom = self.offset < 3 && usize::try_from(self.offset).is_ok_and(|i| BOM[i] == byte);
        self.offset += 1;
        self.state = match self.state {
            State::RecordStart if line_end || at_bom => State::RecordStart,
            State::RecordStart => {
                self.records.push_back(Record {
                    line: self.breaks + 1,
                    unclosed: false,
                });
                self.cell(byte)
            }
            State::CellStart => self.cell(byte),
            State::Unquoted => self.after_text(byte),
            State::Quoted if byte == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if byte == b'"' => State::Quoted,
            State::QuoteInQuoted => {
                let next = self.after_text(byte);
                if next == State::Unquoted {
                    // Text after the closing quote: the parser keeps it in
                    // the cell, with whatever rows the quote took in.
                    self.unclosed();
                }
                next
            }
        };
    }

    /// The state after `byte` at the start of a cell.
    fn cell(&self, byte: u8) -> State {
        match byte {
            b'"' => State::Quoted,
            _ => self.after_text(byte),
        }
    }

    /// The state after `byte` where a cell may end.
    fn after_text(&self, byte: u8) -> State {
        match byte {
            b',' => State::CellStart,
            b'\r' | b'\n' => State::RecordStart,
            _ => State::Unquoted,
        }
    }
}

impl<R: Read> Read for Scan<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.ended {
            self.ended = true;
            if self.state == State::Quoted {
                self.unclosed();
            }
        }
        for &byte in &buf[..n] {
            self.step(byte);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record `text` holds, as the scan sees them.
    fn scan(text: &str) -> Vec<Record> {
        let mut scan = Scan::new(text.as_bytes());
        std::io::copy(&mut scan, &mut std::io::sink()).expect("read");
        scan.records.into_iter().collect()
    }

    fn at(line: u64) -> Record {
        Record {
            line,
            unclosed: false,
        }
    }

    fn unclosed(line: u64) -> Record {
        Record {
            line,
            unclosed: true,
        }
    }

    #[test]
    fn records_start_on_the_lines_they_start_on_whatever_ends_the_lines() {
        for end in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "", "3,\"x", "y\"", "4,5"].join(end);
            assert_eq!(scan(&text), [at(1), at(2), at(4), at(6)], "{end:?}");
        }
        assert_eq!(scan("\u{feff}\"a\",b\n1,2\n"), [at(1), at(2)]);
    }

    #[test]
    fn a_quote_that_does_not_close_is_noted_on_its_record() {
        // The input ends inside the quote: the last record took in the rest.
        assert_eq!(scan("a,b\n1,\"Ada\n2,Grace\n3,Bob\n"), [at(1), unclosed(2)]);
        // A later quote closes it, followed by more text.
        assert_eq!(
            scan("a,b\n1,\"Ada\n2,\"Grace\"\n3,Bob\n"),
            [at(1), unclosed(2), at(4)]
        );
        // Doubled quotes, a quote inside text and a quoted line break are fine.
        assert_eq!(
            scan("a,b\n1,\"say \"\"hi\"\"\"\n2,12\" screen\n3,\"two\nlines\"\n"),
            [at(1), at(2), at(3), at(4)]
        );
    }
}
