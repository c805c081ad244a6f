//! UTF-16 files read as UTF-8. A Windows export is often UTF-16 with a byte-order
//! mark (PowerShell 5's `>` and `Out-File`, SQL Server's and Excel's "Unicode" text):
//! read as UTF-8, every one of its records would be a dead letter.

use std::io::{self, BufRead, Read};

/// The byte order of UTF-16 code units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    Little,
    Big,
}

/// A stream of text as UTF-8: one that starts with a UTF-16 byte-order mark is read
/// through [`Utf16Reader`] (the mark dropped, its byte order given back), any other
/// as it is.
pub fn as_utf8<'a>(mut r: Box<dyn BufRead + Send + 'a>) -> io::Result<(Box<dyn BufRead + Send + 'a>, Option<Endian>)> {
    let mark = |head: &[u8]| match head {
        [0xFF, 0xFE, ..] => Some(Endian::Little),
        [0xFE, 0xFF, ..] => Some(Endian::Big),
        _ => None,
    };
    let buffered = r.fill_buf()?;
    if buffered.len() >= 2 || buffered.is_empty() {
        // The usual case: the first two bytes are in the buffer, looked at in place.
        let Some(endian) = mark(buffered) else { return Ok((r, None)) };
        r.consume(2);
        return Ok((Box::new(io::BufReader::with_capacity(1 << 16, Utf16Reader::new(r, endian))), Some(endian)));
    }
    // A reader that gives a byte at a time (a pipe, a gzip stream): the bytes taken
    // to look at are put back in front of the rest.
    let mut head = Vec::with_capacity(2);
    while head.len() < 2 {
        let Some(&b) = r.fill_buf()?.first() else { break };
        head.push(b);
        r.consume(1);
    }
    match mark(&head) {
        Some(endian) => {
            Ok((Box::new(io::BufReader::with_capacity(1 << 16, Utf16Reader::new(r, endian))), Some(endian)))
        }
        None => Ok((Box::new(io::Cursor::new(head).chain(r)), None)),
    }
}

/// UTF-16 from `inner`, given as UTF-8. A code unit left unpaired (half of a surrogate
/// pair, an odd byte at the end) has no UTF-8 form and becomes U+FFFD.
pub struct Utf16Reader<R> {
    inner: R,
    endian: Endian,
    /// UTF-8 decoded and not yet given, from `at`.
    out: Vec<u8>,
    at: usize,
    /// A byte of a code unit whose other byte is in the next read.
    odd: Option<u8>,
    /// A high surrogate waiting for its low one.
    high: Option<u16>,
    ended: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub fn new(inner: R, endian: Endian) -> Self {
        Utf16Reader { inner, endian, out: Vec::new(), at: 0, odd: None, high: None, ended: false }
    }

    fn unit(&self, a: u8, b: u8) -> u16 {
        match self.endian {
            Endian::Little => u16::from_le_bytes([a, b]),
            Endian::Big => u16::from_be_bytes([a, b]),
        }
    }

    fn push(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        self.out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }

    fn take(&mut self, u: u16) {
        if let Some(high) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                return;
            }
            self.push(char::REPLACEMENT_CHARACTER);
        }
        match u {
            0xD800..=0xDBFF => self.high = Some(u),
            0xDC00..=0xDFFF => self.push(char::REPLACEMENT_CHARACTER),
            _ => self.push(char::from_u32(u32::from(u)).unwrap_or(char::REPLACEMENT_CHARACTER)),
        }
    }

    /// Decodes the next read of `inner` into `out`.
    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        let mut raw = [0u8; 16 * 1024];
        let n = loop {
            match self.inner.read(&mut raw) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            self.ended = true;
            if self.odd.take().is_some() || self.high.take().is_some() {
                self.push(char::REPLACEMENT_CHARACTER);
            }
            return Ok(());
        }
        let mut bytes = &raw[..n];
        if let Some(first) = self.odd.take() {
            let u = self.unit(first, bytes[0]);
            self.take(u);
            bytes = &bytes[1..];
        }
        let mut pairs = bytes.chunks_exact(2);
        for pair in pairs.by_ref() {
            let u = self.unit(pair[0], pair[1]);
            self.take(u);
        }
        self.odd = pairs.remainder().first().copied();
        Ok(())
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if self.ended {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = (self.out.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `bytes` through a reader that hands them over `step` bytes at a time, as
    /// a pipe or a gzip stream may.
    fn read_in_steps(bytes: &[u8], step: usize) -> Vec<u8> {
        struct Steps<'a>(&'a [u8], usize);
        impl Read for Steps<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (mut r, endian) = as_utf8(Box::new(io::BufReader::new(Steps(bytes, step)))).unwrap();
        assert!(endian.is_some() || !bytes.starts_with(&[0xFF, 0xFE]), "the mark seen");
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn utf16_either_way_round_reads_as_the_text_it_holds() {
        let text = "{\"subject_name\":\"O'NEILL, Siân 😀\"}\r\n{\"n\":2}\n";
        let units: Vec<u16> = text.encode_utf16().collect();
        let le: Vec<u8> = [0xFF, 0xFE].into_iter().chain(units.iter().flat_map(|u| u.to_le_bytes())).collect();
        let be: Vec<u8> = [0xFE, 0xFF].into_iter().chain(units.iter().flat_map(|u| u.to_be_bytes())).collect();
        // Reads of every size split code units and surrogate pairs somewhere.
        for step in [1, 2, 3, 5, 7, 4096] {
            assert_eq!(String::from_utf8(read_in_steps(&le, step)).unwrap(), text, "LE in steps of {step}");
            assert_eq!(String::from_utf8(read_in_steps(&be, step)).unwrap(), text, "BE in steps of {step}");
        }
    }

    #[test]
    fn an_unpaired_surrogate_or_odd_byte_is_a_replacement_character_and_the_rest_reads() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in [u16::from(b'a'), 0xD83D, u16::from(b'b'), 0xDE00, u16::from(b'c')] {
            bytes.extend(u.to_le_bytes());
        }
        bytes.push(b'z');
        let out = String::from_utf8(read_in_steps(&bytes, 3)).unwrap();
        assert_eq!(out, "a\u{FFFD}b\u{FFFD}c\u{FFFD}");
    }

    #[test]
    fn utf8_and_files_without_a_mark_are_left_alone() {
        for text in [&b"\xEF\xBB\xBF{}"[..], b"{\"a\":1}\n", b"", b"\xFF", b"\xFFx"] {
            for step in [1, 4096] {
                assert_eq!(read_in_steps(text, step), text, "{text:?} in steps of {step}");
            }
        }
    }
}
