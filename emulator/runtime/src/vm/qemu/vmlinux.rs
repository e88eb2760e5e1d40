//! The uncompressed guest kernel for PVH direct boot.
//!
//! A distro `vmlinuz` is a bzImage: under TCG the guest spends over a second decompressing it
//! before the kernel proper starts, and QEMU keeps the whole bzImage in each VM's heap (fw_cfg),
//! about 14 MiB per idle clone. Kernels built with `CONFIG_PVH` (Debian's are) can instead be
//! booted as an ELF `vmlinux` through their PVH entry point: QEMU maps the file (shared page
//! cache, nothing copied per VM) and the guest starts in the kernel at once.
//!
//! [`prepare`] extracts the ELF from the bzImage once (LZ4 payloads, the Debian cloud kernel's
//! format, decoded by [`lz4_legacy`]), checks it has the PVH note, and caches it host-wide as
//! `/tmp/sessions-vm/kernel/<version>-<hash>.vmlinux` (keyed by the bzImage's path, size and
//! mtime; written to a temp file and renamed). Anything unexpected returns an error and the
//! caller boots the bzImage as before.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Largest uncompressed kernel we accept (a sanity bound for the size field).
const MAX_VMLINUX: usize = 512 * 1024 * 1024;
/// LZ4 legacy frame magic.
const LZ4_LEGACY_MAGIC: u32 = 0x184C_2102;
/// Xen ELF note type of the 32-bit PVH entry point.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// Why a bzImage could not be turned into a PVH-bootable vmlinux.
#[derive(Debug, thiserror::Error)]
pub enum VmlinuxError {
    /// Reading or writing a file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The bzImage header or payload is not what we can unpack.
    #[error("{0}")]
    Format(String),
}

fn format_err(message: impl Into<String>) -> VmlinuxError {
    VmlinuxError::Format(message.into())
}

fn le32(bytes: &[u8], at: usize) -> Result<u32, VmlinuxError> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| format_err(format!("truncated at offset {at}")))
}

/// Decodes an LZ4 "legacy" stream (magic, then blocks each prefixed by a little-endian
/// compressed size) into at most `max_out` bytes.
pub fn lz4_legacy(input: &[u8], max_out: usize) -> Result<Vec<u8>, VmlinuxError> {
    if le32(input, 0)? != LZ4_LEGACY_MAGIC {
        return Err(format_err("payload is not an LZ4 legacy stream"));
    }
    let mut out = Vec::with_capacity(max_out.min(64 * 1024 * 1024));
    let mut at = 4;
    while at + 4 <= input.len() {
        let size = le32(input, at)? as usize;
        at += 4;
        let block = input.get(at..at + size).ok_or_else(|| {
            format_err(format!(
                "LZ4 block of {size} bytes at offset {at} runs past the end"
            ))
        })?;
        lz4_block(block, &mut out, max_out)?;
        at += size;
    }
    Ok(out)
}

fn lz4_len(input: &[u8], at: &mut usize, base: usize) -> Result<usize, VmlinuxError> {
    let mut len = base;
    if base == 15 {
        loop {
            let b = *input
                .get(*at)
                .ok_or_else(|| format_err("LZ4 length runs past the block"))?;
            *at += 1;
            len += usize::from(b);
            if b != 255 {
                break;
            }
        }
    }
    Ok(len)
}

/// Decodes one raw LZ4 block, appending to `out` (matches may reach into earlier output).
fn lz4_block(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Result<(), VmlinuxError> {
    let mut at = 0;
    while at < input.len() {
        let token = input[at];
        at += 1;
        let literals = lz4_len(input, &mut at, usize::from(token >> 4))?;
        let lit = input
            .get(at..at + literals)
            .ok_or_else(|| format_err("LZ4 literals run past the block"))?;
        if out.len() + literals > max_out {
            return Err(format_err(format!("output larger than {max_out} bytes")));
        }
        out.extend_from_slice(lit);
        at += literals;
        if at == input.len() {
            break; // the last sequence has literals only
        }
        let offset = usize::from(u16::from_le_bytes([
            input[at],
            *input
                .get(at + 1)
                .ok_or_else(|| format_err("LZ4 offset runs past the block"))?,
        ]));
        at += 2;
        let len = lz4_len(input, &mut at, usize::from(token & 15))? + 4;
        if offset == 0 || offset > out.len() {
            return Err(format_err(format!(
                "LZ4 match offset {offset} outside the {} bytes decoded",
                out.len()
            )));
        }
        if out.len() + len > max_out {
            return Err(format_err(format!("output larger than {max_out} bytes")));
        }
        let start = out.len() - offset;
        if offset >= len {
            out.extend_from_within(start..start + len);
        } else {
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    Ok(())
}

/// Extracts the ELF kernel from a bzImage (LZ4 payload only).
pub fn extract(bzimage: &[u8]) -> Result<Vec<u8>, VmlinuxError> {
    if bzimage.get(0x202..0x206) != Some(b"HdrS") {
        return Err(format_err("not a bzImage (no HdrS setup header)"));
    }
    let setup_sects = match bzimage.get(0x1f1).copied() {
        Some(0) => 4,
        Some(n) => usize::from(n),
        None => return Err(format_err("truncated setup header")),
    };
    let pm_start = (setup_sects + 1) * 512;
    let payload_offset = le32(bzimage, 0x248)? as usize;
    let payload_length = le32(bzimage, 0x24c)? as usize;
    let start = pm_start + payload_offset;
    let payload = bzimage
        .get(start..start + payload_length)
        .ok_or_else(|| format_err("payload outside the file"))?;
    if payload_length < 8 {
        return Err(format_err("payload too short"));
    }
    // The build appends the uncompressed size (little endian) after the compressed stream.
    let size = le32(payload, payload_length - 4)? as usize;
    if size > MAX_VMLINUX {
        return Err(format_err(format!(
            "uncompressed size {size} is implausible"
        )));
    }
    let out = lz4_legacy(&payload[..payload_length - 4], size)?;
    if out.len() != size {
        return Err(format_err(format!(
            "decoded {} bytes, header says {size}",
            out.len()
        )));
    }
    if !has_pvh_note(&out) {
        return Err(format_err(
            "the kernel has no PVH entry note (built without CONFIG_PVH)",
        ));
    }
    Ok(out)
}

/// Whether an ELF64 image has a `Xen` note of type `XEN_ELFNOTE_PHYS32_ENTRY`.
pub fn has_pvh_note(elf: &[u8]) -> bool {
    let ok = || -> Option<bool> {
        if elf.get(0..5)? != b"\x7fELF\x02" {
            return Some(false);
        }
        let u64_at = |at: usize| -> Option<u64> {
            Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?))
        };
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(elf.get(at..at + 4)?.try_into().ok()?))
        };
        let u16_at = |at: usize| -> Option<u16> {
            Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?))
        };
        let phoff = usize::try_from(u64_at(0x20)?).ok()?;
        let phentsize = usize::from(u16_at(0x36)?);
        let phnum = usize::from(u16_at(0x38)?);
        for i in 0..phnum {
            let ph = phoff + i * phentsize;
            if u32_at(ph)? != 4 {
                continue; // not PT_NOTE
            }
            let mut at = usize::try_from(u64_at(ph + 8)?).ok()?;
            let end = at.checked_add(usize::try_from(u64_at(ph + 32)?).ok()?)?;
            while at.checked_add(12)? <= end {
                let namesz = u32_at(at)? as usize;
                let descsz = u32_at(at + 4)? as usize;
                let kind = u32_at(at + 8)?;
                let name = elf.get(at + 12..(at + 12).checked_add(namesz)?)?;
                if name.starts_with(b"Xen") && kind == XEN_ELFNOTE_PHYS32_ENTRY {
                    return Some(true);
                }
                at = at
                    .checked_add(12 + namesz.div_ceil(4) * 4)?
                    .checked_add(descsz.div_ceil(4) * 4)?;
            }
        }
        Some(false)
    };
    ok().unwrap_or(false)
}

/// The cached vmlinux for `bzimage`, extracted on first use into `cache_dir`.
pub fn prepare(bzimage: &Path, version: &str, cache_dir: &Path) -> Result<PathBuf, VmlinuxError> {
    let io = |what, path: &Path| {
        let path = path.to_path_buf();
        move |source| VmlinuxError::Io { what, path, source }
    };
    let meta = std::fs::metadata(bzimage).map_err(io("reading", bzimage))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let key = Sha256::digest(format!("{}|{}|{mtime}", bzimage.display(), meta.len()));
    let safe: String = version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .collect();
    let path = cache_dir.join(format!("{safe}-{}.vmlinux", hex::encode(&key[..6])));
    if path.is_file() {
        return Ok(path);
    }
    let bytes = std::fs::read(bzimage).map_err(io("reading", bzimage))?;
    let elf = extract(&bytes)?;
    std::fs::create_dir_all(cache_dir).map_err(io("creating", cache_dir))?;
    let tmp = cache_dir.join(format!(".{safe}.{}.tmp", std::process::id()));
    if let Err(e) = std::fs::write(&tmp, &elf) {
        let _ = std::fs::remove_file(&tmp);
        return Err(VmlinuxError::Io {
            what: "writing",
            path: tmp,
            source: e,
        });
    }
    std::fs::rename(&tmp, &path).map_err(io("renaming", &tmp))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid LZ4 block holding `data` as literals only.
    fn literal_block(data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        let n = data.len();
        if n < 15 {
            b.push((n as u8) << 4);
        } else {
            b.push(0xf0);
            let mut rest = n - 15;
            while rest >= 255 {
                b.push(255);
                rest -= 255;
            }
            b.push(rest as u8);
        }
        b.extend_from_slice(data);
        b
    }

    fn legacy(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut s = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
        for b in blocks {
            s.extend_from_slice(&(b.len() as u32).to_le_bytes());
            s.extend_from_slice(b);
        }
        s
    }

    #[test]
    fn decodes_literals_and_overlapping_matches() {
        // "abc" then a match of 9 at offset 3 ("abcabcabc"), then literals "xy".
        let block = vec![
            0x35, b'a', b'b', b'c', 3, 0, // token: 3 literals, match len 5+4=9
            0x20, b'x', b'y',
        ];
        let out = lz4_legacy(&legacy(&[block]), 100).expect("decode");
        assert_eq!(out, b"abcabcabcabcxy");
    }

    #[test]
    fn rejects_bad_offsets_and_oversized_output() {
        let block = vec![0x10, b'a', 5, 0];
        assert!(lz4_legacy(&legacy(&[block]), 100).is_err());
        let block = literal_block(b"0123456789");
        assert!(lz4_legacy(&legacy(&[block]), 5).is_err());
        assert!(lz4_legacy(b"nope", 5).is_err());
    }

    #[test]
    fn real_host_kernel_extracts_with_a_pvh_note() {
        let k = super::super::host::find_kernel(Path::new("/boot"), Path::new("/lib/modules"))
            .expect("a guest kernel (scripts/setup installs linux-image-cloud-amd64)");
        let bytes = std::fs::read(&k.image).expect("read kernel");
        match extract(&bytes) {
            Ok(elf) => assert!(has_pvh_note(&elf)),
            // Other compressions are allowed to fail; they fall back to the bzImage.
            Err(e) => eprintln!("not extractable here: {e}"),
        }
    }

    proptest! {
        #[test]
        fn literal_streams_round_trip(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..600), 0..4)) {
            let blocks: Vec<Vec<u8>> = chunks.iter().map(|c| literal_block(c)).collect();
            let out = lz4_legacy(&legacy(&blocks), 1 << 20).expect("decode");
            prop_assert_eq!(out, chunks.concat());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut s = LZ4_LEGACY_MAGIC.to_le_bytes().to_vec();
            s.extend_from_slice(&bytes);
            let _ = lz4_legacy(&s, 4096);
            let _ = extract(&bytes);
            let _ = has_pvh_note(&bytes);
        }
    }
}
