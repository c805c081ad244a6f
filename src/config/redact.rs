//! A configuration file as it may leave the building: every secret and password hash
//! replaced by `"<redacted>"`, for evidence bundles that go to whoever investigates.

use toml_edit::{Item, TableLike, Value};

/// Key names that hold secrets (any case, anywhere in the file): passwords and their
/// hashes, tokens, keys and credentials. A value `env:NAME` names a variable, not a
/// secret, and is kept.
const SECRET_WORDS: [&str; 9] =
    ["password", "passwd", "secret", "token", "credential", "jaas", "private", "api_key", "apikey"];

fn is_secret(key: &str, value: &Value) -> bool {
    let key = key.to_ascii_lowercase();
    let named = SECRET_WORDS.iter().any(|w| key.contains(w)) || key.ends_with(".pem") || key.ends_with("key.pem");
    named && !value.as_str().is_some_and(|v| v.starts_with("env:"))
}

/// The text of a TOML configuration with every secret's value replaced, and the dotted
/// keys replaced. Text that is not valid TOML is withheld whole (it cannot be checked).
pub fn redacted(text: &str) -> (String, Vec<String>) {
    let Ok(doc) = toml_edit::Document::parse(text.to_string()) else {
        return ("# withheld: not valid TOML, so its secrets cannot be redacted\n".into(), vec!["*".into()]);
    };
    let mut found: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    walk(doc.as_table(), "", &mut found);
    found.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_string();
    let mut keys = Vec::new();
    for (span, key) in found {
        out.replace_range(span, "\"<redacted>\"");
        keys.push(key);
    }
    keys.reverse();
    (out, keys)
}

fn walk(table: &dyn TableLike, path: &str, found: &mut Vec<(std::ops::Range<usize>, String)>) {
    for (key, item) in table.iter() {
        let full = if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
        match item {
            Item::Value(Value::InlineTable(t)) => walk(t, &full, found),
            Item::Value(v) => {
                if let (true, Some(span)) = (is_secret(key, v), v.span()) {
                    found.push((span, full));
                }
            }
            Item::Table(t) => walk(t, &full, found),
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    walk(t, &format!("{full}[{i}]"), found);
                }
            }
            Item::None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_hashes_are_redacted_and_the_rest_kept() {
        let text = r#"
[kafka.properties]
"sasl.password" = "hunter2"
"sasl.username" = "accesswatch"
"ssl.key.password" = "env:KEY_PASSWORD"
[dashboard.users.acu]
password = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
role = "supervisor"
[rules.custody.uninvolved]
after_release = "7d"
"#;
        let (out, keys) = redacted(text);
        assert!(!out.contains("hunter2") && !out.contains("argon2id"), "{out}");
        assert!(out.contains("\"sasl.username\" = \"accesswatch\"") && out.contains("env:KEY_PASSWORD"), "{out}");
        assert!(out.contains("after_release = \"7d\""));
        assert_eq!(keys, vec!["kafka.properties.sasl.password", "dashboard.users.acu.password"]);
        assert!(toml_edit::Document::parse(out).is_ok(), "still TOML");
        assert_eq!(redacted("not = [toml").1, vec!["*"]);
    }
}
