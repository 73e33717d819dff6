//! Record files as Windows writes them: Windows PowerShell 5.1's `>` and
//! `Out-File` write UTF-16 LE with a byte-order mark, `Out-File -Encoding
//! utf8` writes UTF-8 with one. Every parser sees plain UTF-8 text, the
//! mark removed and line numbers unchanged.

use std::borrow::Cow;
use std::path::Path;

use crate::diag::{Diagnostic, line_of};

/// The text of a record file, whatever of UTF-8 (with or without BOM) or
/// UTF-16 (LE or BE, with BOM) it was saved in.
pub fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<Cow<'a, str>, Diagnostic> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(path, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(path, rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(path, rest, u16::from_be_bytes);
    }
    utf8(path, bytes)
}

fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<Cow<'a, str>, Diagnostic> {
    // No record file holds a NUL; UTF-16 without a mark is half NULs (and
    // is valid UTF-8 when the text is ASCII).
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let zeros = bytes.iter().take(200).filter(|&&b| b == 0).count();
        let why = if zeros * 3 > bytes.len().min(200) {
            "looks like UTF-16 without a byte-order mark; save it as UTF-8 (PowerShell: Out-File -Encoding utf8)"
        } else {
            "a NUL byte: not a text file"
        };
        let line = line_of(&String::from_utf8_lossy(&bytes[..at]), at);
        return Err(Diagnostic::at(path, line, why));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = line_of(&String::from_utf8_lossy(good), good.len());
            Err(Diagnostic::at(
                path,
                line,
                "not UTF-8 text; save the file as UTF-8 (or UTF-16 with a byte-order mark)",
            ))
        }
    }
}

fn utf16<'a>(
    path: &Path,
    bytes: &[u8],
    unit: fn([u8; 2]) -> u16,
) -> Result<Cow<'a, str>, Diagnostic> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Diagnostic::file(
            path,
            "UTF-16 text with an odd number of bytes (cut short?)",
        ));
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => text.push(c),
            Err(_) => {
                let line = line_of(&text, text.len());
                return Err(Diagnostic::at(path, line, "invalid UTF-16 text"));
            }
        }
    }
    Ok(Cow::Owned(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    #[test]
    fn every_encoding_windows_writes() {
        let p = Path::new("x.hosts");
        let text = "10.0.0.1 a.blob.core.windows.net\r\n";
        assert_eq!(decode(p, text.as_bytes()).unwrap(), text);
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(p, &bom).unwrap(), text);
        assert_eq!(decode(p, &utf16le(text)).unwrap(), text);
        let mut be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode(p, &be).unwrap(), text);
    }

    #[test]
    fn bad_bytes_name_the_line() {
        let p = Path::new("x.hosts");
        let e = decode(p, b"ok\nok\n\xE9t\xE9\n").unwrap_err();
        assert!(
            e.to_string().starts_with("x.hosts:3: not UTF-8 text"),
            "{e}"
        );
        let no_bom: Vec<u8> = utf16le("10.0.0.1 a.b\r\n")[2..].to_vec();
        let e = decode(p, &no_bom).unwrap_err();
        assert!(
            e.to_string().contains("UTF-16 without a byte-order mark"),
            "{e}"
        );
        let e = decode(p, &utf16le("ab")[..5]).unwrap_err();
        assert!(e.to_string().contains("odd number of bytes"), "{e}");
    }
}
