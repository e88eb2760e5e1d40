//! The session `identifier` rule: 4 to 128 characters from the data-plane TypeSpec character
//! set (`common.tsp`): ASCII letters and digits plus
//! ``_ | } { [ ] : " ; ' < > ? / . , @ # $ % ^ & * ( ) - + = ! ~ ` ``.
//! This is a superset of the documented set (letters, digits, `| - & ^ % $ # ( ) { } [ ] ; < >`),
//! so every identifier the docs allow is accepted.

/// Shortest identifier.
pub const MIN_LEN: usize = 4;
/// Longest identifier.
pub const MAX_LEN: usize = 128;

/// Why an identifier was refused (the message is shown to the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// No `identifier` query parameter.
    #[error("the query parameter `identifier` is required: add ?identifier=<4-128 characters> to the request")]
    Missing,
    /// Wrong length.
    #[error(
        "the query parameter `identifier` must be {MIN_LEN} to {MAX_LEN} characters long, got {0}"
    )]
    Length(usize),
    /// A character outside the allowed set.
    #[error("the query parameter `identifier` contains the character {0:?}, which is not allowed; use letters, digits and _|{{}}[]:\";'<>?/.,@#$%^&*()-+=!~`")]
    Character(char),
}

/// True for a character the identifier rule allows.
pub fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_|}{[]:\";'<>?/.,@#$%^&*()-+=!~`".contains(c)
}

/// Checks an identifier (already percent-decoded).
pub fn validate(identifier: &str) -> Result<&str, IdentifierError> {
    let len = identifier.chars().count();
    if let Some(bad) = identifier.chars().find(|c| !allowed(*c)) {
        return Err(IdentifierError::Character(bad));
    }
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(IdentifierError::Length(len));
    }
    Ok(identifier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_documented_examples() {
        for ok in [
            "user-1234",
            "abcd",
            "a|b-c&d^e%f$g#h(i)j{k}l[m]n;o<p>",
            &"x".repeat(128),
        ] {
            assert_eq!(validate(ok), Ok(ok));
        }
    }

    #[test]
    fn rejects_bad_ones_naming_the_problem() {
        assert_eq!(validate("abc"), Err(IdentifierError::Length(3)));
        assert_eq!(
            validate(&"x".repeat(129)),
            Err(IdentifierError::Length(129))
        );
        assert_eq!(validate("has space"), Err(IdentifierError::Character(' ')));
        assert_eq!(
            validate("back\\slash"),
            Err(IdentifierError::Character('\\'))
        );
        assert_eq!(validate("ünïcode"), Err(IdentifierError::Character('ü')));
        assert!(IdentifierError::Missing.to_string().contains("identifier"));
    }

    proptest! {
        #[test]
        fn every_string_of_allowed_chars_with_right_length_is_accepted(
            s in r#"[a-zA-Z0-9_|}{\[\]:";'<>?/.,@#$%^&*()\-+=!~`]{4,128}"#
        ) {
            prop_assert_eq!(validate(&s), Ok(s.as_str()));
        }

        #[test]
        fn validation_never_panics_and_matches_the_rule(s in ".{0,140}") {
            let expected = s.chars().all(allowed) && (MIN_LEN..=MAX_LEN).contains(&s.chars().count());
            prop_assert_eq!(validate(&s).is_ok(), expected);
        }
    }
}
