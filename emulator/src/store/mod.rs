//! SQLite persistence.
