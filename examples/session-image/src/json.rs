//! A tiny JSON object writer (no dependencies): enough for the server's answers.

/// Builds one JSON object, fields in insertion order.
pub struct Json {
    out: String,
    first: bool,
}

/// Appends `s` as a JSON string literal.
pub fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Json {
    /// Starts an object.
    pub fn object() -> Self {
        Json {
            out: String::from("{"),
            first: true,
        }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        escape_into(&mut self.out, k);
        self.out.push(':');
    }

    /// Adds a string field.
    pub fn str(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        escape_into(&mut self.out, v);
        self
    }

    /// Adds an integer field.
    pub fn num(mut self, k: &str, v: i64) -> Self {
        self.key(k);
        self.out.push_str(&v.to_string());
        self
    }

    /// Adds a field whose value is already JSON.
    pub fn raw(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        self.out.push_str(v);
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials() {
        let j = Json::object()
            .str("a\"b", "x\ny\u{1}")
            .num("n", -3)
            .raw("o", "{}")
            .finish();
        assert_eq!(j, r#"{"a\"b":"x\ny\u0001","n":-3,"o":{}}"#);
    }
}
