//! Escaping of text from a capture before it enters the HTML page.
//!
//! Every string that comes from a report (process names, paths, command lines, evidence,
//! warnings …) is written through [`Esc`], which escapes `&`, `<`, `>`, `"` and `'` with the
//! `html-escape` crate. The same escaping is safe both in element text and inside quoted
//! attribute values, so one wrapper serves every place where the page shows capture data.

use std::fmt;

/// Display wrapper that writes its string HTML-escaped (text and quoted-attribute safe).
#[derive(Debug, Clone, Copy)]
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&html_escape::encode_quoted_attribute(self.0))
    }
}

/// Display wrapper for an optional string: escaped, or an en dash when absent.
#[derive(Debug, Clone, Copy)]
pub struct EscOpt<'a>(pub Option<&'a str>);

impl fmt::Display for EscOpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(s) => Esc(s).fmt(f),
            None => f.write_str("–"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_both_quotes() {
        let s = Esc(r#"<script>alert(1)</script>" onmouseover='x' &amp;"#).to_string();
        assert_eq!(
            s,
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&#x27;x&#x27; &amp;amp;"
        );
        assert_eq!(EscOpt(None).to_string(), "–");
        assert_eq!(EscOpt(Some("a<b")).to_string(), "a&lt;b");
    }
}
