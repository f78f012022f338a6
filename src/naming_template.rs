//! The naming template (`{publisher}_{purpose}_{connector}`): its placeholders, what each one
//! accepts, and matching a logical name against it. Config validation and the naming and
//! identity rules all read it from here.

use crate::model::MAX_LOGICAL_NAME_CHARS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Lit(String),
    Publisher,
    Purpose,
    Connector,
}

pub fn tokens(template: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        let next = ["{publisher}", "{purpose}", "{connector}"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, *p)))
            .min_by_key(|(i, _)| *i);
        match next {
            Some((i, p)) => {
                if i > 0 {
                    out.push(Token::Lit(rest[..i].to_owned()));
                }
                out.push(match p {
                    "{publisher}" => Token::Publisher,
                    "{purpose}" => Token::Purpose,
                    _ => Token::Connector,
                });
                rest = &rest[i + p.len()..];
            }
            None => {
                out.push(Token::Lit(rest.to_owned()));
                rest = "";
            }
        }
    }
    out
}

pub fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

pub fn is_purpose(s: &str) -> bool {
    s.split('_').all(is_word)
}

/// What each placeholder accepts.
pub struct Matcher<'a> {
    pub publisher: Option<&'a str>,
    pub purposes: Option<&'a [String]>,
    /// `None`: any word (to find the connector segment for CR103).
    pub connectors: Option<&'a [String]>,
}

impl Matcher<'_> {
    pub fn accepts(&self, token: &Token, s: &str) -> bool {
        match token {
            Token::Lit(l) => l.eq_ignore_ascii_case(s),
            Token::Publisher => match self.publisher {
                Some(p) => p.eq_ignore_ascii_case(s),
                None => is_word(s),
            },
            Token::Purpose => is_purpose(s) && self.purposes.is_none_or(|list| list.iter().any(|p| p.eq_ignore_ascii_case(s))),
            Token::Connector => match self.connectors {
                Some(list) => list.iter().any(|c| c.eq_ignore_ascii_case(s)),
                None => is_word(s),
            },
        }
    }

    /// Matches the whole name; returns the connector segment on success.
    pub fn matches<'n>(&self, tokens: &[Token], name: &'n str) -> Option<&'n str> {
        self.segment(tokens, name, &Token::Connector)
    }

    /// Matches the whole name; returns the segment that the placeholder `want` took.
    pub fn segment<'n>(&self, tokens: &[Token], name: &'n str, want: &Token) -> Option<&'n str> {
        let Some((first, rest)) = tokens.split_first() else {
            return name.is_empty().then_some("");
        };
        if let Token::Lit(l) = first {
            let n = l.len();
            return (name.len() >= n && name.is_char_boundary(n) && self.accepts(first, &name[..n]))
                .then(|| self.segment(rest, &name[n..], want))
                .flatten();
        }
        // Placeholders: try every split, longest first so that a purpose with `_` wins.
        (1..=name.len()).rev().filter(|&j| name.is_char_boundary(j)).find_map(|j| {
            let (head, tail) = name.split_at(j);
            if !self.accepts(first, head) {
                return None;
            }
            let inner = self.segment(rest, tail, want)?;
            Some(if first == want { head } else { inner })
        })
    }
}

/// The purpose segment of `name` under the naming `template`, with any publisher word and any
/// connector word: what the identity checks group references by.
pub fn purpose_of<'n>(template: &str, name: &'n str) -> Option<&'n str> {
    if too_long(name) {
        return None;
    }
    let any = Matcher {
        publisher: None,
        purposes: None,
        connectors: None,
    };
    any.segment(&tokens(template), name, &Token::Purpose)
}

/// The template with its placeholders filled in.
pub fn render(template: &str, publisher: &str, purpose: &str, connector: &str) -> String {
    template
        .replace("{publisher}", publisher)
        .replace("{purpose}", purpose)
        .replace("{connector}", connector)
}

/// Longer than Dataverse allows: the template matcher tries every split of the name, so such a
/// name is reported before it is matched.
pub fn too_long(name: &str) -> bool {
    name.len() > MAX_LOGICAL_NAME_CHARS && name.chars().count() > MAX_LOGICAL_NAME_CHARS
}

/// Why a template cannot be used, if it cannot.
pub fn template_problem(template: &str) -> Option<&'static str> {
    (!template.contains("{purpose}") || !template.contains("{connector}"))
        .then_some("naming.template must contain {purpose} and {connector}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m<'a>(publisher: Option<&'a str>, connectors: Option<&'a [String]>) -> Matcher<'a> {
        Matcher {
            publisher,
            purposes: None,
            connectors,
        }
    }

    #[test]
    fn template_matching() {
        let t = tokens("{publisher}_{purpose}_{connector}");
        let outlook = vec!["office365".to_owned(), "outlook".to_owned()];
        assert_eq!(
            m(Some("contoso"), Some(&outlook)).matches(&t, "contoso_invoiceapproval_outlook"),
            Some("outlook")
        );
        assert_eq!(
            m(Some("contoso"), Some(&outlook)).matches(&t, "contoso_invoice_approval_outlook"),
            Some("outlook")
        );
        assert_eq!(
            m(Some("contoso"), Some(&outlook)).matches(&t, "contoso_invoiceapproval_sharepoint"),
            None
        );
        assert_eq!(
            m(Some("contoso"), None).matches(&t, "contoso_billing_sharepoint"),
            Some("sharepoint")
        );
        assert_eq!(m(Some("contoso"), Some(&outlook)).matches(&t, "contoso_outlook"), None);
        assert_eq!(m(Some("contoso"), Some(&outlook)).matches(&t, "contoso__outlook"), None);
    }

    #[test]
    fn purpose_segments() {
        let t = "{publisher}_{purpose}_{connector}";
        assert_eq!(purpose_of(t, "contoso_servicewriter_dataverse"), Some("servicewriter"));
        assert_eq!(purpose_of(t, "contoso_invoice_approval_outlook"), Some("invoice_approval"));
        assert_eq!(purpose_of(t, "contoso_dataverse"), None);
        assert_eq!(purpose_of("{purpose}-{connector}", "reporting-sql"), Some("reporting"));
    }
}
