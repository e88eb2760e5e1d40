//! Terraform actions, one file per type.
