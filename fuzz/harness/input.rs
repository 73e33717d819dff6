//! Reading a fuzz input as a few length-prefixed parts, so one file can hold
//! a query and the upstream's answers (and seeds can be built from real
//! captures by concatenation). Short input reads as empty parts, never fails.

pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input(data)
    }

    /// One byte of flags (0 when the input is spent).
    pub fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    /// A part: a big-endian u16 length, then that many bytes (fewer when
    /// the input ends first). `None` once the input is spent.
    pub fn chunk(&mut self) -> Option<&'a [u8]> {
        if self.0.is_empty() {
            return None;
        }
        let len = match self.0 {
            [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => 0,
        };
        let rest = self.0.get(2..).unwrap_or(&[]);
        let (part, rest) = rest.split_at(len.min(rest.len()));
        self.0 = rest;
        Some(part)
    }

    /// Every remaining part.
    pub fn chunks(mut self) -> Vec<&'a [u8]> {
        std::iter::from_fn(|| self.chunk()).collect()
    }
}
