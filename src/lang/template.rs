//! Template syntax in files that are meant to be rendered first (cookiecutter / copier projects,
//! Ansible roles, Helm charts): `{% if ... %}`, `{{ name }}`, `{# ... #}`.
//!
//! A file that fails to parse because of template tags is not broken: it is not the file that
//! runs. Readers ask [`first_tag_line`] after a parse failure, to answer "skipped: template, run
//! scalepatch on the rendered project" instead of a syntax error at a misleading line.

/// The 1-based line of the first template tag (`{% %}`, `{# #}`, or `{{ name }}` written with
/// Jinja's inner spaces), if the text has one. A bare `{{x}}` is not taken: Python f-strings and
/// `str.format` templates escape braces that way, and a real syntax error must stay an error.
pub fn first_tag_line(text: &str) -> Option<usize> {
    let start = [("{%", "%}"), ("{{ ", " }}"), ("{{cookiecutter", "}}"), ("{#", "#}")]
        .iter()
        .filter_map(|(open, close)| {
            let at = text.find(open)?;
            text[at + open.len()..].contains(close).then_some(at)
        })
        .min()?;
    Some(crate::text::location::line_at(text, start))
}

/// `text` with each template expression (`{{ .Values.x }}`, `{% if a %}`, `{# note #}`) replaced
/// by one `_`: the literal text a renderer keeps, in which a word can be looked for without
/// matching a values path or being glued to a generated name. An unclosed tag is left as is.
pub fn literal_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, close)) = [("{{", "}}"), ("{%", "%}"), ("{#", "#}")]
        .iter()
        .filter_map(|(open, close)| Some((rest.find(open)?, *close)))
        .min()
    {
        let Some(end) = rest[at + 2..].find(close).map(|i| at + 2 + i + close.len()) else { break };
        out.push_str(&rest[..at]);
        out.push('_');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The skip message for a file in `language` that only parses once rendered.
pub fn skip_reason(language: &str, line: usize) -> String {
    format!(
        "a template (template tag at line {line}): it is not {language} until rendered; run scalepatch on the \
         rendered project, or edit the template by hand"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_earliest_tag_of_any_kind() {
        assert_eq!(first_tag_line("a: 1\nb: {{ x }}\n{% if y %}\n"), Some(2));
        assert_eq!(first_tag_line("# x\n\n{%- if a == 'y' %}\nb\n{%- endif %}\n"), Some(3));
        assert_eq!(first_tag_line("{# note #}\n"), Some(1));
    }

    #[test]
    fn literal_text_drops_expressions() {
        assert_eq!(literal_text("{{- if .Values.django.uwsgi.enabled }}"), "_");
        assert_eq!(literal_text("name: {{ $name }}-celery-beat # {# x #}"), "name: _-celery-beat # _");
        assert_eq!(literal_text("{{ venv }}/bin/gunicorn app:wsgi"), "_/bin/gunicorn app:wsgi");
        assert_eq!(literal_text("a {{ open"), "a {{ open");
    }

    #[test]
    fn an_unclosed_brace_pair_is_not_a_tag() {
        assert_eq!(first_tag_line("x = '{%'\n"), None);
        assert_eq!(first_tag_line("services:\n  web: {}\n"), None);
    }

    #[test]
    fn escaped_format_braces_are_not_a_tag() {
        assert_eq!(first_tag_line("LOG = f\"{{x}}\"\nDATABASES = {\n"), None);
        assert_eq!(first_tag_line("SLUG = {{cookiecutter.slug}}\n"), Some(1));
    }
}
