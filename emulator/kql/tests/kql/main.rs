//! Integration tests of the KQL engine over fixture tables: Microsoft's documented example
//! queries, every supported operator and function, error shapes, snapshots and properties.

mod docs;
mod errors;
mod fixture;
mod operators;
mod props;
mod pushdown;
