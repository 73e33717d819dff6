//! The status page as HTML: server-rendered, no script, one inline style
//! sheet, readable on a phone (tables scroll sideways inside their box).
//! Every text that comes from outside (names clients asked, file paths,
//! error messages) goes through [`esc`]. The markup passes the Nu HTML
//! Checker (tests/browser.rs).

use std::fmt::Write;

use super::time::{ago, span, utc};
use super::words::{
    forwarder_state, last_reload, loaded, replication, sentence, source_state, sync_state,
};
use super::{MissingName, StatusPage, count};

/// The Content-Security-Policy the page is served with: nothing but its
/// own inline style (and the empty icon) may load.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:.5rem 1rem 2rem;max-width:72rem;color:#1b1b1b;background:#fff;line-height:1.4}
h1{font-size:1.4rem;margin:.6rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid #ddd}h3{font-size:1rem;margin:1rem 0 .3rem}
nav a{margin-right:.8rem;display:inline-block;white-space:nowrap}.missing-name{border-left:3px solid #ddd;padding:.1rem 0 .1rem .7rem;margin:.6rem 0}.missing-name p{margin:.2rem 0}.box{overflow-x:auto}table{border-collapse:collapse;font-size:.9rem}
th,td{text-align:left;padding:.25rem .6rem .25rem 0;border-bottom:1px solid #eee;vertical-align:top}td.n,th.n{text-align:right}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}pre{background:#f5f5f5;padding:.4rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.2rem 0}
.ok{color:#1a7f37}.bad{color:#b42318;font-weight:600}.warn{color:#9a6700}.banner{padding:.5rem .8rem;border-radius:4px;margin:.5rem 0}
.banner.ok{background:#e7f6ec}.banner.bad{background:#fdecea}.muted{color:#666}ul.errors li{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}";

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls have no business in a page (and are not XML).
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The missing names a zone shows on the page; the rest are counted (the
/// JSON and `pldns missing` have them all).
pub const NAMES_SHOWN: usize = 100;

/// The whole page.
pub fn render(p: &StatusPage) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let state = if p.healthy && p.reload.valid {
        "ok"
    } else {
        "bad"
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>pldns {}: {}</title><link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head><body>\n",
        esc(&p.host),
        if state == "ok" {
            "ok"
        } else {
            "needs attention"
        },
    );
    let _ = writeln!(
        h,
        "<header><h1>pldns on {}</h1><p class=\"muted\">version {} · up {} (since {}) · config <code>{}</code></p>\
         <p id=\"health\" class=\"banner {state}\">{}</p>\
         <nav><a href=\"#missing\">Missing names</a><a href=\"#zones\">Zones</a><a href=\"#forwarders\">Forwarders</a>\
         <a href=\"#reload\">Reload</a><a href=\"#sync\">Azure sync</a><a href=\"#queries\">Queries</a></nav></header>",
        esc(&p.host),
        esc(&p.version),
        span(p.uptime_s),
        utc(p.started),
        esc(&p.config),
        esc(&p.health).replace('\n', "<br>"),
    );
    if !p.reload.errors.is_empty() {
        let _ = write!(
            h,
            "<section id=\"errors\"><h2 class=\"bad\">Broken ({} lines)</h2><ul class=\"errors\">",
            p.reload.errors.len()
        );
        for e in &p.reload.errors {
            let _ = write!(h, "<li>{}</li>", esc(e));
        }
        h.push_str("</ul></section>\n");
    }
    missing(&mut h, p);
    zones(&mut h, p);
    forwarders(&mut h, p);
    reload(&mut h, p);
    sync(&mut h, p);
    queries(&mut h, p);
    let _ = write!(
        h,
        "<footer><p class=\"muted\">Made {} · <a href=\"/status.json\">status.json</a> · \
         <a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">healthz</a></p></footer>\n</body></html>\n",
        utc(p.now)
    );
    h
}

fn missing(h: &mut String, p: &StatusPage) {
    let total: usize = p.missing.iter().map(|z| z.names.len()).sum();
    let _ = write!(
        h,
        "<section id=\"missing\"><h2>Missing names ({total})</h2>"
    );
    if total == 0 {
        h.push_str("<p class=\"ok\">No name asked in a zone with records was missing from its table since the daemon started.</p></section>\n");
        return;
    }
    h.push_str("<p>Asked by clients inside a zone with records, but not in its table: typically a storage account Azure Backup just created. Add its private address, or fix the name's source.</p>");
    for z in &p.missing {
        let _ = write!(
            h,
            "<h3>{} <span class=\"muted\">({})</span></h3>",
            esc(&z.zone),
            count(z.names.len() as u64, "name", "names")
        );
        for n in z.names.iter().take(NAMES_SHOWN) {
            missing_name(h, n, p.now);
        }
        if z.names.len() > NAMES_SHOWN {
            let _ = write!(
                h,
                "<p class=\"muted\">{} more: <code>pldns missing --zone {}</code> or /status.json</p>",
                z.names.len() - NAMES_SHOWN,
                esc(&z.zone)
            );
        }
    }
    h.push_str("</section>\n");
}

/// One name as a card (a table would scroll sideways on a phone).
fn missing_name(h: &mut String, n: &MissingName, now: u64) {
    let asked = n.public_name.as_deref().unwrap_or(&n.name);
    let _ = write!(
        h,
        "<div class=\"missing-name\" data-name=\"{}\"><p><code class=\"asked\">{}</code> {}<br><span class=\"muted\">",
        esc(&n.name),
        esc(asked),
        if n.answered_now {
            "<span class=\"ok\">answered now</span>"
        } else {
            "<span class=\"bad\">missing</span>"
        }
    );
    if n.public_name.is_some() {
        let _ = write!(h, "{} · ", esc(&n.name));
    }
    let _ = write!(
        h,
        "asked <span class=\"count\">{}</span>, first {}, last {}</span></p>",
        count(n.count, "time", "times"),
        ago(n.first_seen, now),
        ago(n.last_seen, now),
    );
    if !n.answered_now {
        if let Some(find) = &n.hint.find_address {
            let _ = write!(h, "<p>Its private address:</p><pre>{}</pre>", esc(find));
        }
        if let Some(add) = &n.hint.add {
            let _ = write!(h, "<p>Then:</p><pre class=\"add\">{}</pre>", esc(add));
        }
        if let Some(note) = &n.hint.note {
            let _ = write!(h, "<p class=\"muted\">{}</p>", esc(note));
        }
    }
    h.push_str("</div>");
}

fn zones(h: &mut String, p: &StatusPage) {
    let _ = write!(
        h,
        "<section id=\"zones\"><h2>Zones ({})</h2><div class=\"box\"><table><thead><tr><th>zone</th><th>kind</th>\
         <th class=\"n\">records</th><th class=\"n\">serial</th><th>on miss</th><th class=\"n\">missed</th><th>forwarders</th><th>transfer</th></tr></thead><tbody>",
        p.zones.len()
    );
    let dash = || "–".to_string();
    for z in &p.zones {
        let activity = z.replication.as_ref().map(|r| replication(r, p.now));
        let activity = match activity {
            Some((tone, line)) if !line.is_empty() => format!(
                "<br><span class=\"{}\" data-replication>{}</span>",
                tone.class(),
                esc(&line)
            ),
            _ => String::new(),
        };
        let _ = write!(
            h,
            "<tr class=\"zone\" data-zone=\"{}\"><td><code>{}</code></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}{activity}</td></tr>",
            esc(&z.name),
            esc(&z.name),
            esc(&z.kind),
            z.records.map_or_else(dash, |n| n.to_string()),
            z.serial.map_or_else(dash, |n| n.to_string()),
            esc(z.on_miss.as_deref().unwrap_or("–")),
            z.missing_total.map_or_else(dash, |n| n.to_string()),
            esc(&z.forwarders.join(", ")),
            esc(z.transfer.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</tbody></table></div></section>\n");
}

fn forwarders(h: &mut String, p: &StatusPage) {
    let _ = write!(
        h,
        "<section id=\"forwarders\"><h2>Forwarders ({})</h2>",
        p.forwarders.len()
    );
    if p.forwarders.is_empty() {
        h.push_str("<p class=\"muted\">None configured: every zone is answered from the table.</p></section>\n");
        return;
    }
    h.push_str(
        "<div class=\"box\"><table><thead><tr><th>server</th><th>state</th><th class=\"n\">rtt</th><th class=\"n\">queries</th>\
         <th class=\"n\">failures</th><th class=\"n\">SERVFAIL</th><th class=\"n\">REFUSED</th><th>last failure</th><th>used by</th></tr></thead><tbody>",
    );
    for f in &p.forwarders {
        let (tone, text) = forwarder_state(f);
        let state = format!("<span class=\"{}\">{text}</span>", tone.class());
        let _ = write!(
            h,
            "<tr class=\"forwarder\" data-server=\"{}\"><td><code>{}</code></td><td>{state}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.server),
            esc(&f.server),
            f.srtt_ms
                .map_or_else(|| "–".into(), |ms| format!("{ms:.1} ms")),
            f.requests,
            f.failures,
            f.servfails,
            f.refused,
            f.last_failure_ago_s
                .map_or_else(|| "never".into(), |s| format!("{} ago", span(s))),
            esc(&f.used_by.join(", ")),
        );
    }
    h.push_str("</tbody></table></div></section>\n");
}

fn reload(h: &mut String, p: &StatusPage) {
    let r = &p.reload;
    let _ = write!(
        h,
        "<section id=\"reload\"><h2>Reload</h2><p>{}.</p>",
        esc(&sentence(&loaded(r, p.now)))
    );
    if let Some(l) = &r.last {
        let _ = write!(
            h,
            "<p id=\"last-reload\">{}.</p>",
            esc(&sentence(&last_reload(l, p.now)))
        );
    }
    let _ = write!(
        h,
        "<p>{}</p>",
        if r.valid {
            "<span class=\"ok\">Every source loads as it is on disk.</span>"
        } else {
            "<span class=\"bad\">Something is broken: see the lines at the top; what is broken keeps its last good contents.</span>"
        }
    );
    h.push_str("<h3>Record sources</h3><div class=\"box\"><table><thead><tr><th>source</th><th class=\"n\">entries</th><th>state</th></tr></thead><tbody>");
    for s in &r.sources {
        let (tone, text) = source_state(s);
        let state = format!("<span class=\"{}\">{text}</span>", tone.class());
        let _ = write!(
            h,
            "<tr class=\"source\"><td><code>{}</code></td><td class=\"n\">{}</td><td>{state}</td></tr>",
            esc(&s.source),
            s.entries
        );
    }
    h.push_str("</tbody></table></div>");
    if !r.warnings.is_empty() {
        let _ = write!(
            h,
            "<h3 class=\"warn\">Warnings ({})</h3><ul class=\"errors\">",
            r.warnings.len()
        );
        for w in &r.warnings {
            let _ = write!(h, "<li>{}</li>", esc(w));
        }
        h.push_str("</ul>");
    }
    let _ = writeln!(
        h,
        "<p class=\"muted\">State directory <code>{}</code>{}</p></section>",
        esc(&r.state_dir),
        r.state_error
            .as_deref()
            .map(|e| format!(": <span class=\"bad\">{}</span>", esc(e)))
            .unwrap_or_default()
    );
}

fn sync(h: &mut String, p: &StatusPage) {
    h.push_str("<section id=\"sync\"><h2>Azure sync</h2>");
    if p.syncs.is_empty() {
        h.push_str("<p class=\"muted\">No [[sync]] configured: records come from files only.</p></section>\n");
        return;
    }
    for s in &p.syncs {
        let (tone, text) = sync_state(s);
        let state = format!("<span class=\"{}\">{}</span>", tone.class(), esc(&text));
        let _ = write!(
            h,
            "<div class=\"sync\" data-source=\"{}\"><h3>{} {state}</h3><p class=\"muted\">{} · {} cloud · {} · reads {} · every {} (early pulls at most every {})</p><p>",
            esc(&s.source),
            esc(&s.source),
            esc(&s.scope),
            esc(&s.cloud),
            esc(&s.credential),
            esc(&s.pulls.join(", ")),
            span(s.interval_s),
            span(s.min_interval_s),
        );
        if let Some(n) = s.records {
            let _ = write!(h, "{} in service. ", count(n as u64, "record", "records"));
        }
        if let Some(l) = &s.last_pull {
            let _ = write!(
                h,
                "Last pull {} ({}, {} ms{}). ",
                esc(&l.result),
                ago(l.ended, p.now),
                l.took_ms,
                if l.early { ", early" } else { "" }
            );
        }
        if let Some(t) = s.last_success {
            let _ = write!(h, "Last good pull {}. ", ago(t, p.now));
        }
        if let Some(t) = s.serving_kept_pull_from {
            let _ = write!(h, "Serving the pull that ended {}. ", utc(t));
        }
        if s.pulling {
            h.push_str("Pulling now. ");
        } else if let Some(t) = s.next_pull {
            let _ = write!(h, "Next pull in {}. ", span(t.saturating_sub(p.now)));
        }
        let _ = write!(
            h,
            "{} after misses ({} more absorbed){}.</p>",
            count(s.early_pulls, "early pull", "early pulls"),
            s.early_coalesced,
            if s.early_pending { ", one pending" } else { "" }
        );
        let errors: Vec<&String> = s
            .errors
            .iter()
            .chain(s.last_pull.iter().flat_map(|l| l.error.iter()))
            .chain(s.kept_error.iter())
            .collect();
        if !errors.is_empty() {
            h.push_str("<ul class=\"errors\">");
            for e in errors {
                let _ = write!(h, "<li>{}</li>", esc(e));
            }
            h.push_str("</ul>");
        }
        h.push_str("</div>");
    }
    h.push_str("</section>\n");
}

fn queries(h: &mut String, p: &StatusPage) {
    let q = &p.queries;
    let _ = write!(
        h,
        "<section id=\"queries\"><h2>Queries ({} answered{})</h2><div class=\"box\"><table><tbody>",
        q.total,
        q.mean_latency_us
            .map(|us| format!(", mean {:.2} ms", us as f64 / 1000.0))
            .unwrap_or_default()
    );
    for o in q.by_outcome.iter().filter(|o| o.count > 0) {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
            esc(&o.outcome),
            o.count
        );
    }
    h.push_str("</tbody></table></div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_clients_send() {
        assert_eq!(
            esc("<script>alert('x\"&')</script>"),
            "&lt;script&gt;alert(&#39;x&quot;&amp;&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("a\u{1b}b"), "a\u{FFFD}b");
    }
}
