//! The secret file of a `[[tsig]]` key: either the base64 secret alone, or
//! the key block BIND's `tsig-keygen` prints (and `named.conf` includes):
//!
//! ```text
//! key "xfr-key" {
//!         algorithm hmac-sha256;
//!         secret "R3Jl...ZQ==";
//! };
//! ```

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

/// What a secret file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// The key's name, when the file is a key block.
    pub name: Option<String>,
    /// The algorithm, when the key block names one.
    pub algorithm: Option<String>,
    pub secret: Vec<u8>,
}

/// Reads a secret file's text. `want` is the configured key name: a file of
/// several key blocks gives the one of that name.
pub fn parse(text: &str, want: &str) -> Result<SecretFile, String> {
    let tokens = tokenize(text)?;
    if !tokens
        .iter()
        .any(|t| matches!(t, Token::Word(w) if w == "key"))
    {
        let secret = decode(text)?;
        return Ok(SecretFile {
            name: None,
            algorithm: None,
            secret,
        });
    }
    let blocks = key_blocks(&tokens)?;
    let want_trimmed = want.trim_end_matches('.');
    match blocks
        .iter()
        .find(|b| {
            b.name
                .trim_end_matches('.')
                .eq_ignore_ascii_case(want_trimmed)
        })
        .or(if blocks.len() == 1 {
            blocks.first()
        } else {
            None
        }) {
        Some(b) => {
            let secret = b
                .secret
                .as_deref()
                .ok_or_else(|| format!("key \"{}\" has no secret", b.name))
                .and_then(decode)?;
            Ok(SecretFile {
                name: Some(b.name.clone()),
                algorithm: b.algorithm.clone(),
                secret,
            })
        }
        None => Err(format!("no key block named \"{want}\"")),
    }
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err("the secret is empty".into());
    }
    let secret = STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| STANDARD_NO_PAD.decode(compact.as_bytes()))
        .map_err(|e| format!("the secret is not base64 ({e})"))?;
    if secret.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(secret)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
    Semi,
}

/// named.conf tokens: words, quoted strings, braces and semicolons;
/// comments in the three styles named.conf allows.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '#' => {
                chars.by_ref().find(|&c| c == '\n');
            }
            '/' if chars.peek() == Some(&'/') => {
                chars.by_ref().find(|&c| c == '\n');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                let mut closed = false;
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    prev = c;
                }
                if !closed {
                    return Err("unterminated /* comment".into());
                }
            }
            '{' => tokens.push(Token::Open),
            '}' => tokens.push(Token::Close),
            ';' => tokens.push(Token::Semi),
            '"' => {
                let mut s = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err("unterminated quoted string".into());
                }
                tokens.push(Token::Quoted(s));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || "{};\"".contains(n) {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                tokens.push(Token::Word(s));
            }
        }
    }
    Ok(tokens)
}

struct Block {
    name: String,
    algorithm: Option<String>,
    secret: Option<String>,
}

/// `key NAME { algorithm ALG; secret "B64"; };`, repeated.
fn key_blocks(tokens: &[Token]) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut i = 0;
    let text = |t: Option<&Token>| match t {
        Some(Token::Word(w)) | Some(Token::Quoted(w)) => Some(w.clone()),
        _ => None,
    };
    while i < tokens.len() {
        if tokens[i] != Token::Word("key".into()) {
            return Err("expected `key \"NAME\" { ... };`".into());
        }
        let name = text(tokens.get(i + 1)).ok_or("`key` without a name")?;
        if tokens.get(i + 2) != Some(&Token::Open) {
            return Err(format!("key \"{name}\": expected `{{`"));
        }
        i += 3;
        let mut block = Block {
            name,
            algorithm: None,
            secret: None,
        };
        loop {
            match tokens.get(i) {
                Some(Token::Close) => break,
                Some(Token::Word(w)) if w == "algorithm" || w == "secret" => {
                    let value = text(tokens.get(i + 1))
                        .ok_or_else(|| format!("key \"{}\": {w} without a value", block.name))?;
                    if tokens.get(i + 2) != Some(&Token::Semi) {
                        return Err(format!("key \"{}\": expected `;` after {w}", block.name));
                    }
                    if w == "algorithm" {
                        block.algorithm = Some(value);
                    } else {
                        block.secret = Some(value);
                    }
                    i += 3;
                }
                Some(t) => return Err(format!("key \"{}\": unexpected {t:?}", block.name)),
                None => return Err(format!("key \"{}\": missing `}};`", block.name)),
            }
        }
        // `}` then an optional `;`.
        i += 1;
        if tokens.get(i) == Some(&Token::Semi) {
            i += 1;
        }
        blocks.push(block);
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "key \"xfr-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\";\n};\n";

    #[test]
    fn bare_secret_with_newline() {
        let f = parse("c2VjcmV0LXNlY3JldC1zZWNyZXQ=\n", "k").unwrap();
        assert_eq!(f.secret, b"secret-secret-secret");
        assert_eq!(f.name, None);
    }

    #[test]
    fn tsig_keygen_block() {
        let f = parse(BLOCK, "xfr-key").unwrap();
        assert_eq!(f.secret, b"secret-secret-secret");
        assert_eq!(f.name.as_deref(), Some("xfr-key"));
        assert_eq!(f.algorithm.as_deref(), Some("hmac-sha256"));
    }

    #[test]
    fn picks_the_named_block_and_skips_comments() {
        let two = format!(
            "# keys\n// more\n/* and\n more */ key other {{ algorithm hmac-sha512; secret \"AAAA\"; }};\n{BLOCK}"
        );
        let f = parse(&two, "xfr-key.").unwrap();
        assert_eq!(f.secret, b"secret-secret-secret");
        assert!(parse(&two, "third").unwrap_err().contains("no key block"));
        // One block: taken whatever its name; the config check compares names.
        assert_eq!(
            parse(BLOCK, "else").unwrap().name.as_deref(),
            Some("xfr-key")
        );
    }

    #[test]
    fn bad_files() {
        assert!(parse("", "k").unwrap_err().contains("empty"));
        assert!(parse("not base64!", "k").unwrap_err().contains("base64"));
        assert!(parse("key \"k\" { secret \"AAAA\";", "k").is_err());
        assert!(
            parse("key \"k\" { algorithm hmac-sha256; };", "k")
                .unwrap_err()
                .contains("no secret")
        );
        assert!(parse("key \"k\" { secret \"AAAA\" };", "k").is_err());
    }
}
