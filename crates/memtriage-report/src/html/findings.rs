//! The findings section: one card per finding, most severe first.

use std::fmt::{self, Write};

use super::escape::{Esc, EscOpt};
use super::page::{finding_anchor, process_anchor};
use crate::model::{Finding, Report};

/// The page URL of an ATT&CK technique id (`T1055` or `T1055.001`), or `None` when the id does
/// not have that shape (it is then shown as plain text).
pub fn attack_url(id: &str) -> Option<String> {
    let rest = id.strip_prefix('T')?;
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(main) || !sub.is_none_or(digits) {
        return None;
    }
    Some(match sub {
        Some(sub) => format!("https://attack.mitre.org/techniques/T{main}/{sub}/"),
        None => format!("https://attack.mitre.org/techniques/T{main}/"),
    })
}

/// The indices of `report.findings`, most severe first, report order within a severity.
pub fn by_severity(report: &Report) -> Vec<usize> {
    let mut order: Vec<usize> = (0..report.findings.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(
            report
                .findings
                .get(i)
                .map(|f| f.severity)
                .unwrap_or_default(),
        )
    });
    order
}

/// Writes the findings section.
pub fn write_findings(out: &mut String, report: &Report) -> fmt::Result {
    write!(
        out,
        r#"<section id="findings"><h2>Findings ({})</h2>"#,
        report.findings.len()
    )?;
    if report.suppressed > 0 {
        write!(
            out,
            r#"<p class="muted">{} finding(s) removed by the suppression list.</p>"#,
            report.suppressed
        )?;
    }
    if report.findings.is_empty() {
        out.push_str(r#"<p class="muted">No findings.</p>"#);
    }
    for i in by_severity(report) {
        if let Some(f) = report.findings.get(i) {
            write_finding(out, report, i, f)?;
        }
    }
    out.push_str("</section>");
    Ok(())
}

fn write_finding(out: &mut String, report: &Report, index: usize, f: &Finding) -> fmt::Result {
    write!(
        out,
        r#"<article class="finding {sev}" id="{anchor}" data-rule="{rule}"><h3><span class="sev sev-{sev}">{sev}</span> <code>{rule}</code>"#,
        sev = f.severity,
        anchor = finding_anchor(index),
        rule = Esc(&f.rule),
    )?;
    if let Some(pid) = f.pid {
        let target = report
            .process_for(pid, f.process.as_deref())
            .and_then(|p| report.processes.iter().position(|q| std::ptr::eq(p, q)));
        match target {
            Some(pi) => write!(
                out,
                r##" · <a href="#{}">{} (pid {pid})</a>"##,
                process_anchor(pi),
                EscOpt(f.process.as_deref())
            )?,
            None => write!(out, " · {} (pid {pid})", EscOpt(f.process.as_deref()))?,
        }
    }
    write!(out, r#"</h3><p class="desc">{}</p>"#, Esc(&f.description))?;
    out.push_str(r#"<dl class="evidence">"#);
    match (f.address, f.end) {
        (Some(a), Some(e)) => write!(
            out,
            r#"<div><dt>range</dt><dd class="addr">{a} – {e}</dd></div>"#
        )?,
        (Some(a), None) => write!(
            out,
            r#"<div><dt>address</dt><dd class="addr">{a}</dd></div>"#
        )?,
        (None, Some(e)) => write!(out, r#"<div><dt>end</dt><dd class="addr">{e}</dd></div>"#)?,
        (None, None) => {}
    }
    for (key, value) in &f.evidence {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        write!(
            out,
            r#"<div><dt>{}</dt><dd class="mono">{}</dd></div>"#,
            Esc(key),
            Esc(&text)
        )?;
    }
    if !f.mitre.is_empty() {
        out.push_str("<div><dt>ATT&amp;CK</dt><dd>");
        for (n, t) in f.mitre.iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            match attack_url(t) {
                Some(url) => write!(
                    out,
                    r#"<a class="attack" href="{}" rel="noopener noreferrer">{}</a>"#,
                    Esc(&url),
                    Esc(t)
                )?,
                None => write!(out, "{}", Esc(t))?,
            }
        }
        out.push_str("</dd></div>");
    }
    out.push_str("</dl></article>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_urls() {
        assert_eq!(
            attack_url("T1055.001").as_deref(),
            Some("https://attack.mitre.org/techniques/T1055/001/")
        );
        assert_eq!(
            attack_url("T1014").as_deref(),
            Some("https://attack.mitre.org/techniques/T1014/")
        );
        for bad in [
            "",
            "T",
            "1055",
            "T10x5",
            "T1055.",
            "T1055.0a1",
            "T1\"><script>",
        ] {
            assert_eq!(attack_url(bad), None, "{bad:?}");
        }
    }
}
