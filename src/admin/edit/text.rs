//! The text edits of `pldns records`, per format, leaving every other line
//! (comments, blank lines, other records) as it was. A hosts line names one
//! address and several names: removing one name keeps the others on it. A
//! TOML `[[record]]` table runs from its header to the next header; the
//! comments and blank lines before that header stay with what follows.
//! The caller parses the result and checks it holds exactly what it should.

/// Appends `ip name` to hosts text.
pub fn hosts_add(text: &str, ip: &str, name: &str, stamp: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{ip} {name}  # {stamp}\n"));
    out
}

/// Removes the names `matches` picks from every hosts line; a line left
/// without names goes whole. Returns the new text and the lines touched.
pub fn hosts_remove(text: &str, matches: impl Fn(&str) -> bool) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(text.len());
    let mut touched = Vec::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let (body, ending) = split_ending(raw);
        let (content, comment) = match body.find('#') {
            Some(at) => body.split_at(at),
            None => (body, ""),
        };
        let mut fields = content.split_whitespace();
        let Some(addr) = fields.next() else {
            out.push_str(raw);
            continue;
        };
        let names: Vec<&str> = fields.collect();
        let kept: Vec<&str> = names.iter().copied().filter(|n| !matches(n)).collect();
        if kept.len() == names.len() {
            out.push_str(raw);
            continue;
        }
        touched.push(i + 1);
        if kept.is_empty() {
            continue;
        }
        let indent = &content[..content.len() - content.trim_start().len()];
        out.push_str(indent);
        out.push_str(addr);
        for n in kept {
            out.push(' ');
            out.push_str(n);
        }
        if !comment.is_empty() {
            out.push_str("  ");
            out.push_str(comment);
        }
        out.push_str(ending);
    }
    (out, touched)
}

fn split_ending(line: &str) -> (&str, &str) {
    if let Some(body) = line.strip_suffix("\r\n") {
        (body, "\r\n")
    } else if let Some(body) = line.strip_suffix('\n') {
        (body, "\n")
    } else {
        (line, "")
    }
}

/// Appends a `[[record]]` table to TOML record text.
pub fn toml_add(text: &str, name: &str, ip: std::net::IpAddr, stamp: &str) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let key = if ip.is_ipv4() { "a" } else { "aaaa" };
    out.push_str(&format!(
        "# {stamp}\n[[record]]\nname = {}\n{key} = [\"{ip}\"]\n",
        toml_string(name)
    ));
    out
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Removes the `[[record]]` tables whose headers are on `lines` (1-based).
/// `Err(line)`: that line is not a `[[record]]` header (an inline table or
/// an array written another way), which this does not edit.
pub fn toml_remove(text: &str, lines: &[usize]) -> Result<String, usize> {
    let all: Vec<&str> = text.split_inclusive('\n').collect();
    let is_header = |l: &str| l.trim_start().starts_with('[');
    for &line in lines {
        let ok = all
            .get(line.wrapping_sub(1))
            .is_some_and(|l| l.trim_start().starts_with("[[record]]"));
        if !ok {
            return Err(line);
        }
    }
    let mut drop = vec![false; all.len()];
    for &line in lines {
        let start = line - 1;
        let mut end = start + 1;
        while end < all.len() && !is_header(all[end]) {
            end += 1;
        }
        // Comments and blank lines just before the next header belong to
        // it.
        while end > start + 1 {
            let t = all[end - 1].trim();
            if t.is_empty() || t.starts_with('#') {
                end -= 1;
            } else {
                break;
            }
        }
        // A comment right above the header belongs to the table.
        let mut from = start;
        while from > 0 && all[from - 1].trim_start().starts_with('#') {
            from -= 1;
        }
        for d in &mut drop[from..end] {
            *d = true;
        }
    }
    Ok(all
        .iter()
        .zip(drop)
        .filter(|(_, d)| !d)
        .map(|(l, _)| *l)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_lines() {
        let text = "# site\r\n10.0.0.1 a.example b.example # both\r\n10.0.0.2 b.example\r\n\r\n10.0.0.3 c.example";
        let (out, touched) = hosts_remove(text, |n| n.eq_ignore_ascii_case("B.example"));
        assert_eq!(
            out,
            "# site\r\n10.0.0.1 a.example  # both\r\n\r\n10.0.0.3 c.example"
        );
        assert_eq!(touched, [2, 3]);
        assert_eq!(
            hosts_add("10.0.0.3 c.example", "10.0.0.4", "d.example", "added"),
            "10.0.0.3 c.example\n10.0.0.4 d.example  # added\n"
        );
        assert_eq!(
            hosts_add("", "10.0.0.4", "d.example", "x"),
            "10.0.0.4 d.example  # x\n"
        );
    }

    #[test]
    fn toml_tables() {
        let text = "# records of vault 1\n[[record]]\nname = \"a\"\na = [\"10.0.0.1\"]\n\n# vault 2\n[[record]]\nname = \"b\"\ncname = \"c\"\n";
        assert_eq!(
            toml_remove(text, &[2]).unwrap(),
            "\n# vault 2\n[[record]]\nname = \"b\"\ncname = \"c\"\n"
        );
        assert_eq!(
            toml_remove(text, &[7]).unwrap(),
            "# records of vault 1\n[[record]]\nname = \"a\"\na = [\"10.0.0.1\"]\n\n"
        );
        assert_eq!(toml_remove(text, &[3]), Err(3));
        let added = toml_add("", "d.example", "fd00::1".parse().unwrap(), "added");
        assert_eq!(
            added,
            "# added\n[[record]]\nname = \"d.example\"\naaaa = [\"fd00::1\"]\n"
        );
    }
}
