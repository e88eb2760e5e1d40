//! Terraform data sources, one file per type.
