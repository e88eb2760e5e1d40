//! Azure Resource Manager routes and the ARM error table.
