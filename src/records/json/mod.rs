//! `.json` record files, as Azure tools write them (the shapes are in
//! `azure.rs`). serde_json reads the text; every value is kept as a
//! borrowed `&RawValue` slice of the file, so the slice's offset gives the
//! line an entry starts on, and `FILE:LINE` needs no JSON parser of our own.
//! serde_json skips a raw value without recursing and we look only a few
//! levels deep, so a hostile file cannot exhaust the stack of a reload.

mod azure;

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use super::Entry;
use crate::diag::{Diagnostic, Diagnostics};

/// Parses az / PowerShell / ARM JSON into entries.
pub fn parse(
    path: &Path,
    text: &str,
    out: &mut dyn FnMut(Entry),
    diags: &mut Diagnostics,
    warnings: &mut Vec<Diagnostic>,
) {
    let root: &RawValue = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg);
            diags.push(Diagnostic::at(
                path,
                e.line().max(1),
                format!("invalid JSON: {msg}"),
            ));
            return;
        }
    };
    let doc = Doc::new(text);
    let mut ctx = azure::Ctx {
        path,
        doc: &doc,
        out,
        diags,
        warnings,
        line_override: None,
    };
    ctx.document(root);
}

/// The text being read, with its line starts.
pub(super) struct Doc<'a> {
    text: &'a str,
    newlines: Vec<usize>,
}

impl<'a> Doc<'a> {
    pub(super) fn new(text: &'a str) -> Doc<'a> {
        Doc {
            text,
            newlines: text
                .bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// The 1-based line a value starts on (values borrowed from this text).
    pub(super) fn line(&self, v: &RawValue) -> usize {
        let offset = (v.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

/// What kind of JSON value a raw slice holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Object,
    Array,
    Str,
    Null,
    Other,
}

pub(super) fn kind(v: &RawValue) -> Kind {
    match v.get().trim_start().as_bytes().first() {
        Some(b'{') => Kind::Object,
        Some(b'[') => Kind::Array,
        Some(b'"') => Kind::Str,
        Some(b'n') => Kind::Null,
        _ => Kind::Other,
    }
}

/// An object's members, in order, values still raw.
pub(super) struct Obj<'a> {
    pub(super) raw: &'a RawValue,
    members: Vec<(String, &'a RawValue)>,
}

impl<'a> Obj<'a> {
    pub(super) fn of(v: &'a RawValue) -> Option<Obj<'a>> {
        if kind(v) != Kind::Object {
            return None;
        }
        let Members(members) = serde_json::from_str(v.get()).ok()?;
        Some(Obj { raw: v, members })
    }

    /// A member by name, in any case (az writes camelCase, PowerShell
    /// PascalCase).
    pub(super) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.members
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| *v)
    }

    /// A member, or the same member under `properties` (the ARM REST shape
    /// that `az rest` saves; az itself flattens it).
    pub(super) fn field(&self, key: &str) -> Option<&'a RawValue> {
        self.get(key).or_else(|| {
            self.get("properties")
                .and_then(Obj::of)
                .and_then(|p| p.get(key))
        })
    }
}

pub(super) fn array(v: &RawValue) -> Option<Vec<&RawValue>> {
    if kind(v) != Kind::Array {
        return None;
    }
    serde_json::from_str(v.get()).ok()
}

pub(super) fn string(v: &RawValue) -> Option<String> {
    if kind(v) != Kind::Str {
        return None;
    }
    serde_json::from_str(v.get()).ok()
}

pub(super) fn number(v: &RawValue) -> Option<f64> {
    serde_json::from_str(v.get()).ok()
}

/// Deserialises an object as (key, raw value) pairs: keys with escapes
/// need owned strings, values stay borrowed.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests;
