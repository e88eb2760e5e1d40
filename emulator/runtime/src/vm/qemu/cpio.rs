//! A `newc` cpio writer (the initramfs format the kernel unpacks), plus a walker that adds a
//! directory tree (regular files, directories, symlinks; other node types are skipped).

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Writes a newc archive entry by entry.
pub struct CpioWriter<W: Write> {
    out: W,
    written: u64,
    ino: u32,
}

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

impl<W: Write> CpioWriter<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            written: 0,
            ino: 1,
        }
    }

    fn pad(&mut self) -> io::Result<()> {
        let pad = (4 - (self.written % 4)) % 4;
        self.out.write_all(&[0u8; 3][..pad as usize])?;
        self.written += pad;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn header(
        &mut self,
        name: &str,
        mode: u32,
        uid: u32,
        gid: u32,
        size: u64,
        rdev: (u32, u32),
    ) -> io::Result<()> {
        let size32 = u32::try_from(size).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name}: larger than 4 GiB"),
            )
        })?;
        let namesize = name.len() + 1;
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino, mode, uid, gid, 1, 0, size32, 0, 0, rdev.0, rdev.1, namesize, 0
        );
        self.ino += 1;
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.written += header.len() as u64 + namesize as u64;
        self.pad()
    }

    /// A directory.
    pub fn dir(&mut self, name: &str, perm: u32, uid: u32, gid: u32) -> io::Result<()> {
        self.header(name, S_IFDIR | (perm & 0o7777), uid, gid, 0, (0, 0))
    }

    /// A regular file with `size` bytes read from `data`.
    pub fn file(
        &mut self,
        name: &str,
        perm: u32,
        uid: u32,
        gid: u32,
        size: u64,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        self.header(name, S_IFREG | (perm & 0o7777), uid, gid, size, (0, 0))?;
        let copied = io::copy(&mut data.take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: file changed while packing"),
            ));
        }
        self.written += size;
        self.pad()
    }

    /// A symlink.
    pub fn symlink(&mut self, name: &str, target: &str, uid: u32, gid: u32) -> io::Result<()> {
        self.header(name, S_IFLNK | 0o777, uid, gid, target.len() as u64, (0, 0))?;
        self.out.write_all(target.as_bytes())?;
        self.written += target.len() as u64;
        self.pad()
    }

    /// A character device node.
    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        self.header(name, S_IFCHR | (perm & 0o7777), 0, 0, 0, (major, minor))
    }

    /// Adds everything under `root` with names relative to it (prefixed by `prefix`).
    pub fn tree(&mut self, root: &Path, prefix: &str) -> io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(root)?.collect::<io::Result<Vec<_>>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: name is not UTF-8", entry.path().display()),
                ));
            };
            let name = if prefix.is_empty() {
                file_name.to_owned()
            } else {
                format!("{prefix}/{file_name}")
            };
            let meta = std::fs::symlink_metadata(entry.path())?;
            let (perm, uid, gid) = (meta.mode() & 0o7777, meta.uid(), meta.gid());
            let ft = meta.file_type();
            if ft.is_dir() {
                self.dir(&name, perm, uid, gid)?;
                self.tree(&entry.path(), &name)?;
            } else if ft.is_file() {
                let mut f = std::fs::File::open(entry.path())?;
                self.file(&name, perm, uid, gid, meta.len(), &mut f)?;
            } else if ft.is_symlink() {
                let target = std::fs::read_link(entry.path())?;
                self.symlink(&name, &target.to_string_lossy(), uid, gid)?;
            }
        }
        Ok(())
    }

    /// Writes the trailer and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header("TRAILER!!!", 0, 0, 0, 0, (0, 0))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_is_aligned_and_readable_by_cpio() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("a/b")).expect("mkdir");
        std::fs::write(dir.path().join("a/b/file.txt"), b"hello").expect("write");
        std::os::unix::fs::symlink("b/file.txt", dir.path().join("a/link")).expect("symlink");
        let mut w = CpioWriter::new(Vec::new());
        w.tree(dir.path(), "").expect("tree");
        w.char_device("console", 0o600, 5, 1).expect("dev");
        let bytes = w.finish().expect("finish");
        assert_eq!(bytes.len() % 4, 0);
        assert!(bytes.starts_with(b"070701"));
        let text = String::from_utf8_lossy(&bytes);
        for name in ["a/b/file.txt", "a/link", "TRAILER!!!", "hello"] {
            assert!(text.contains(name), "{name} missing");
        }
        // Cross-check with the system cpio when present.
        if let Ok(mut child) = std::process::Command::new("cpio")
            .args(["-t", "--quiet"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(&bytes).expect("feed cpio");
            }
            let out = child.wait_with_output().expect("cpio -t");
            let list = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                list.lines().collect::<Vec<_>>(),
                ["a", "a/b", "a/b/file.txt", "a/link", "console"]
            );
        }
    }
}
