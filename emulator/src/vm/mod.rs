//! Session backends: trait Backend, qemu microVMs, in-process fake.
