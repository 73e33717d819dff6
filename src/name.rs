//! Domain names as the table stores them: lowercase, absolute, in DNS wire
//! format. Keeping the wire form lets the query path look a name and all its
//! parent zones up with plain byte slices, never building a string.

use std::fmt;

use thiserror::Error;

/// RFC 1035 §3.1: at most 255 octets on the wire, labels of 1..=63 octets.
pub const MAX_WIRE_LEN: usize = 255;
const MAX_LABEL_LEN: usize = 63;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum NameError {
    #[error("empty name")]
    Empty,
    #[error("empty label in {0:?}")]
    EmptyLabel(String),
    #[error("label longer than 63 characters in {0:?}")]
    LabelTooLong(String),
    #[error("name longer than 253 characters: {0:?}")]
    TooLong(String),
    #[error("invalid character {1:?} in name {0:?}")]
    BadChar(String, char),
}

/// A canonical (lowercase, absolute) domain name in wire format, root label
/// included.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Box<[u8]>);

impl Name {
    /// Parses presentation text (`acct.blob.core.windows.net`, trailing dot
    /// optional). Host names only: letters, digits, `-` and `_` (Azure uses
    /// neither escapes nor other characters in Private Link names).
    pub fn from_text(text: &str) -> Result<Name, NameError> {
        let trimmed = text.strip_suffix('.').unwrap_or(text);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        if trimmed.len() > 253 {
            return Err(NameError::TooLong(text.to_string()));
        }
        let mut wire = Vec::with_capacity(trimmed.len() + 2);
        for label in trimmed.split('.') {
            if label.is_empty() {
                return Err(NameError::EmptyLabel(text.to_string()));
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(NameError::LabelTooLong(text.to_string()));
            }
            if let Some(c) = label
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(NameError::BadChar(text.to_string(), c));
            }
            wire.push(label.len() as u8);
            wire.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
        }
        wire.push(0);
        Ok(Name(wire.into_boxed_slice()))
    }

    /// Wraps wire bytes that are already canonical (lowercase, absolute,
    /// well-formed), as produced by [`crate::wire`] or by slicing a `Name`.
    pub fn from_canonical_wire(wire: &[u8]) -> Name {
        debug_assert!(is_canonical_wire(wire));
        Name(wire.into())
    }

    pub fn wire(&self) -> &[u8] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.len() == 1
    }

    /// The label count, root excluded.
    pub fn label_count(&self) -> usize {
        suffixes(&self.0).count() - 1
    }

    /// True when `self` is `zone` or lies below it.
    pub fn is_in(&self, zone: &Name) -> bool {
        is_suffix(&self.0, &zone.0)
    }

    /// The name with its first label removed; `None` for the root.
    pub fn parent(&self) -> Option<Name> {
        if self.is_root() {
            None
        } else {
            let skip = self.0[0] as usize + 1;
            Some(Name(self.0[skip..].into()))
        }
    }

    /// The first label, as text (lowercase).
    pub fn first_label(&self) -> &str {
        let len = self.0[0] as usize;
        std::str::from_utf8(&self.0[1..1 + len]).unwrap_or("")
    }

    /// The public twin of a Private Link zone: its name without the leading
    /// `privatelink` label (`privatelink.blob.core.windows.net` ->
    /// `blob.core.windows.net`). `None` for other zones.
    pub fn public_twin(&self) -> Option<Name> {
        if self.first_label() == "privatelink" {
            self.parent().filter(|p| !p.is_root())
        } else {
            None
        }
    }

    /// Every name from this one up to the root, this one first.
    pub fn suffixes(&self) -> impl Iterator<Item = &[u8]> {
        suffixes(&self.0)
    }
}

/// Iterates over the label-boundary suffixes of a well-formed wire name,
/// the whole name first and the root (`[0]`) last.
pub fn suffixes(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = Some(0usize);
    std::iter::from_fn(move || {
        let start = at?;
        let len = *wire.get(start)? as usize;
        at = if len == 0 {
            None
        } else {
            Some(start + 1 + len)
        };
        Some(&wire[start..])
    })
}

/// True when `zone` is a label-boundary suffix of `name` (both wire format).
pub fn is_suffix(name: &[u8], zone: &[u8]) -> bool {
    name.len() >= zone.len() && suffixes(name).any(|s| s.len() == zone.len() && s == zone)
}

fn is_canonical_wire(wire: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&len) = wire.get(i) {
        if len == 0 {
            return i + 1 == wire.len();
        }
        if len as usize > MAX_LABEL_LEN {
            return false;
        }
        let Some(label) = wire.get(i + 1..i + 1 + len as usize) else {
            return false;
        };
        if label.iter().any(u8::is_ascii_uppercase) {
            return false;
        }
        i += 1 + len as usize;
    }
    false
}

/// Writes a wire name as presentation text, absolute (trailing dot omitted
/// except for the root, which reads ".").
pub fn write_text(wire: &[u8], f: &mut impl fmt::Write) -> fmt::Result {
    if wire.first() == Some(&0) {
        return f.write_char('.');
    }
    let mut first = true;
    for suffix in suffixes(wire) {
        let len = suffix[0] as usize;
        if len == 0 {
            break;
        }
        if !first {
            f.write_char('.')?;
        }
        first = false;
        for &b in &suffix[1..=len] {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                f.write_char(b as char)?;
            } else {
                write!(f, "\\{b:03}")?;
            }
        }
    }
    Ok(())
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_text(&self.0, f)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lowercases_and_accepts_trailing_dot() {
        let a = Name::from_text("Acct.Blob.Core.Windows.NET.").unwrap();
        let b = Name::from_text("acct.blob.core.windows.net").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "acct.blob.core.windows.net");
        assert_eq!(a.label_count(), 5);
    }

    #[test]
    fn rejects_bad_names() {
        assert_eq!(Name::from_text(""), Err(NameError::Empty));
        assert!(matches!(
            Name::from_text("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(
            Name::from_text("a b.com"),
            Err(NameError::BadChar(_, ' '))
        ));
        assert!(matches!(
            Name::from_text(&"x".repeat(64)),
            Err(NameError::LabelTooLong(_))
        ));
        let long = vec!["abcdefghi"; 26].join(".");
        assert!(matches!(Name::from_text(&long), Err(NameError::TooLong(_))));
    }

    #[test]
    fn suffix_relations() {
        let zone = Name::from_text("privatelink.blob.core.windows.net").unwrap();
        let name = Name::from_text("acct.privatelink.blob.core.windows.net").unwrap();
        let lookalike = Name::from_text("xprivatelink.blob.core.windows.net").unwrap();
        assert!(name.is_in(&zone));
        assert!(zone.is_in(&zone));
        assert!(!lookalike.is_in(&zone));
        assert!(!zone.is_in(&name));
        assert_eq!(name.parent().unwrap(), zone);
        assert_eq!(name.suffixes().count(), 7);
    }
}
