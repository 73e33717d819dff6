//! `.json` record files: what `az network private-endpoint show` (or `list`)
//! prints, whose `customDnsConfigs[]` carry `fqdn` + `ipAddresses`, or a bare
//! list of such objects. serde_json cannot say on which line a value starts,
//! and every error must name one, so this file reads JSON itself
//! (RFC 8259, with line tracking) into a small tree.

use std::net::IpAddr;
use std::path::Path;

use super::{Entry, EntryData};
use crate::diag::{Diagnostic, Diagnostics};
use crate::name::Name;

/// A JSON value and the line it starts on.
#[derive(Debug)]
struct Node {
    line: usize,
    value: Value,
}

#[derive(Debug)]
enum Value {
    Null,
    Bool,
    Number,
    Str(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

pub fn parse(path: &Path, text: &str, out: &mut dyn FnMut(Entry), diags: &mut Diagnostics) {
    let root = match Parser::new(text).document() {
        Ok(root) => root,
        Err((line, msg)) => {
            diags.push(Diagnostic::at(path, line, format!("invalid JSON: {msg}")));
            return;
        }
    };
    let mut ctx = Ctx { path, out, diags };
    match &root.value {
        Value::Array(items) => {
            for item in items {
                if item.get("customDnsConfigs").is_some() {
                    ctx.endpoint(item);
                } else {
                    ctx.dns_config(item);
                }
            }
        }
        Value::Object(_) if root.get("customDnsConfigs").is_some() => ctx.endpoint(&root),
        Value::Object(_) if root.get("fqdn").is_some() => ctx.dns_config(&root),
        _ => ctx.error(
            root.line,
            "expected `az network private-endpoint show` output (an object with customDnsConfigs) \
             or a list of {fqdn, ipAddresses} objects",
        ),
    }
}

struct Ctx<'a> {
    path: &'a Path,
    out: &'a mut dyn FnMut(Entry),
    diags: &'a mut Diagnostics,
}

impl Ctx<'_> {
    fn error(&mut self, line: usize, msg: impl Into<String>) {
        self.diags.push(Diagnostic::at(self.path, line, msg));
    }

    fn endpoint(&mut self, pe: &Node) {
        match pe.get("customDnsConfigs").map(|n| &n.value) {
            Some(Value::Array(configs)) => configs.iter().for_each(|c| self.dns_config(c)),
            // `az` prints null when the endpoint's DNS is managed by a zone group.
            Some(Value::Null) => {}
            _ => self.error(pe.line, "customDnsConfigs is not a list"),
        }
    }

    fn dns_config(&mut self, item: &Node) {
        let line = item.line;
        let fqdn = match item.get("fqdn").map(|n| &n.value) {
            Some(Value::Str(s)) => s,
            Some(_) => return self.error(line, "fqdn is not a string"),
            None => return self.error(line, "entry has no fqdn"),
        };
        let name = match Name::from_text(fqdn) {
            Ok(n) => n,
            Err(e) => return self.error(line, format!("invalid fqdn: {e}")),
        };
        let addrs = match item.get("ipAddresses").map(|n| &n.value) {
            Some(Value::Array(list)) if !list.is_empty() => list,
            Some(Value::Array(_)) | None => {
                return self.error(line, format!("{name}: no ipAddresses"));
            }
            Some(_) => return self.error(line, format!("{name}: ipAddresses is not a list")),
        };
        for addr in addrs {
            match &addr.value {
                Value::Str(s) => match s.parse::<IpAddr>() {
                    Ok(ip) => (self.out)(Entry {
                        name: name.clone(),
                        data: EntryData::from(ip),
                        ttl: None,
                        line,
                    }),
                    Err(_) => self.error(line, format!("{name}: invalid IP address {s:?}")),
                },
                _ => self.error(line, format!("{name}: ipAddresses holds a non-string")),
            }
        }
    }
}

type ParseResult<T> = Result<T, (usize, String)>;

/// Nesting deeper than this is not `az` output, and the limit keeps a
/// hostile file from exhausting the stack during a reload.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        Parser {
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    fn err<T>(&self, msg: impl Into<String>) -> ParseResult<T> {
        Err((self.line, msg.into()))
    }

    fn document(&mut self) -> ParseResult<Node> {
        let node = self.value()?;
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return self.err("trailing characters after the JSON value");
        }
        Ok(node)
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> ParseResult<()> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(format!("expected '{}'", b as char))
        }
    }

    fn value(&mut self) -> ParseResult<Node> {
        self.skip_ws();
        let line = self.line;
        let value = match self.peek() {
            None => return self.err("unexpected end of input"),
            Some(b'{') => self.nested(Self::object)?,
            Some(b'[') => self.nested(Self::array)?,
            Some(b'"') => Value::Str(self.string()?),
            Some(b't') => self.literal("true", Value::Bool)?,
            Some(b'f') => self.literal("false", Value::Bool)?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(c) => return self.err(format!("unexpected character {:?}", c as char)),
        };
        Ok(Node { line, value })
    }

    fn nested(&mut self, f: fn(&mut Self) -> ParseResult<Value>) -> ParseResult<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err("nested too deeply");
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn literal(&mut self, word: &str, v: Value) -> ParseResult<Value> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            self.err("invalid literal")
        }
    }

    fn number(&mut self) -> ParseResult<Value> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.peek() {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("");
        match text.parse::<f64>() {
            Ok(_) => Ok(Value::Number),
            Err(_) => self.err(format!("invalid number {text:?}")),
        }
    }

    fn string(&mut self) -> ParseResult<String> {
        self.pos += 1; // opening quote
        let mut s = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return self.err("unterminated string");
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => s.push(e),
                        b'b' => s.push(8),
                        b'f' => s.push(12),
                        b'n' => s.push(b'\n'),
                        b'r' => s.push(b'\r'),
                        b't' => s.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0; 4];
                            s.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return self.err("invalid escape in string"),
                    }
                }
                b'\n' => return self.err("newline inside a string"),
                _ => s.push(b),
            }
        }
        String::from_utf8(s).or_else(|_| self.err("string is not valid UTF-8"))
    }

    fn hex4(&mut self) -> ParseResult<u32> {
        let digits = self.bytes.get(self.pos..self.pos + 4);
        let v = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match v {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.err("invalid \\u escape"),
        }
    }

    fn unicode_escape(&mut self) -> ParseResult<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.bytes[self.pos..].starts_with(b"\\u") {
                return self.err("unpaired surrogate in \\u escape");
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return self.err("unpaired surrogate in \\u escape");
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).map_or_else(|| self.err("invalid \\u escape"), Ok)
    }

    fn array(&mut self) -> ParseResult<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return self.err("expected ',' or ']' in list"),
            }
        }
    }

    fn object(&mut self) -> ParseResult<Value> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return self.err("expected a key in quotes");
            }
            let key = self.string()?;
            self.expect(b':')?;
            let value = self.value()?;
            members.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return self.err("expected ',' or '}' in object"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (Vec<Entry>, Vec<String>) {
        let mut out = Vec::new();
        let mut diags = Diagnostics::default();
        parse(Path::new("pe.json"), text, &mut |e| out.push(e), &mut diags);
        (out, diags.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn az_show_output() {
        let (out, errs) = run(r#"{
  "customDnsConfigs": [
    {
      "fqdn": "contoso-vault-001-ab-pod01-fc1.eus.backup.windowsazure.com",
      "ipAddresses": ["10.10.0.4"]
    },
    {
      "fqdn": "acct.blob.core.windows.net",
      "ipAddresses": ["10.10.0.5", "10.10.0.6"]
    }
  ],
  "id": "/subscriptions/x",
  "location": "eastus",
  "provisioningState": "Succeeded",
  "tags": null,
  "weight": 1.5e3,
  "escaped": "a\"b\u00e9\ud83d\ude00"
}"#);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].line, 3);
        assert_eq!(out[1].line, 7);
        assert_eq!(out[2].line, 7);
    }

    #[test]
    fn bare_list_and_endpoint_list() {
        let (out, errs) = run(
            r#"[{"fqdn": "a.blob.core.windows.net", "ipAddresses": ["10.0.0.1"]},
{"customDnsConfigs": [{"fqdn": "b.queue.core.windows.net", "ipAddresses": ["fd00::1"]}]}]"#,
        );
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].line, 2);
    }

    #[test]
    fn errors_name_the_line() {
        let (_, errs) = run(
            "[\n{\"fqdn\": \"a.b\", \"ipAddresses\": [\"10.0.0.999\"]},\n{\"ipAddresses\": []},\n{\"fqdn\": \"c.d\"}\n]",
        );
        assert_eq!(
            errs,
            vec![
                "pe.json:2: a.b: invalid IP address \"10.0.0.999\"",
                "pe.json:3: entry has no fqdn",
                "pe.json:4: c.d: no ipAddresses",
            ]
        );
        let (_, errs) = run("{\n  \"customDnsConfigs\": [\n    {\"fqdn\": \"x\",}\n  ]\n}");
        assert_eq!(
            errs,
            vec!["pe.json:3: invalid JSON: expected a key in quotes"]
        );
        let (_, errs) = run(&"[".repeat(100));
        assert_eq!(errs, vec!["pe.json:1: invalid JSON: nested too deeply"]);
        let (_, errs) = run("42");
        assert!(errs[0].starts_with("pe.json:1: expected `az"), "{errs:?}");
    }
}
