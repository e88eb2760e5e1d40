//! Terraform resources, one file per type.
