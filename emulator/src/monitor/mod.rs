//! Azure Monitor metrics and Log Analytics query.
