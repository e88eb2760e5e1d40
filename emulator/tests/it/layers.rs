//! One direction per layer: no import cycle crosses a module boundary of `sessions-emulator` or
//! `sessions-runtime`. The crate boundary itself is enforced by the compiler (the runtime
//! cannot name anything of the emulator); inside each crate this test reads every source file,
//! collects the modules each one refers to (`crate::...`, `super::...`, `self::...` paths,
//! `use` groups included; test modules at the foot of a file excluded) and, for every module
//! and its direct children, checks that the "refers to" graph has no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every `.rs` file under `src` as its module path (`lib.rs`/`mod.rs` name their directory;
/// `main.rs` and `bin/` are binaries, not modules of the library).
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<Module, PathBuf>) {
        for e in std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
        {
            if e.is_dir() {
                walk(&e, src, out);
                continue;
            }
            if e.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let rel = e.strip_prefix(src).expect("under src").with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.first().is_some_and(|p| p == "bin") || parts == ["main"] {
                continue;
            }
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts, e);
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The source without line comments and without the `#[cfg(test)]` module at its foot.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Paths `text` refers to, relative to the crate root, from module `m`.
fn references(m: &Module, text: &str) -> Vec<Module> {
    let mut out = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !is_ident(bytes[i - 1]);
        let rest: String = bytes[i..bytes.len().min(i + 8)].iter().collect();
        let base = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|b| starts_word && rest.starts_with(b));
        let Some(base) = base else {
            i += 1;
            continue;
        };
        // Read `a::b::{c, d::e}` style paths starting here.
        let mut j = i;
        let mut prefix: Module = Vec::new();
        let mut ups = 0;
        let mut segs: Vec<String> = Vec::new();
        let mut grouped = false;
        loop {
            let start = j;
            while j < bytes.len() && is_ident(bytes[j]) {
                j += 1;
            }
            let seg: String = bytes[start..j].iter().collect();
            match seg.as_str() {
                "crate" if segs.is_empty() && ups == 0 => prefix = Vec::new(),
                "self" if segs.is_empty() && ups == 0 => prefix = m.clone(),
                "super" if segs.is_empty() => {
                    ups += 1;
                    prefix = m[..m.len().saturating_sub(ups)].to_vec();
                }
                "" => break,
                s => segs.push(s.to_string()),
            }
            if bytes.get(j) == Some(&':') && bytes.get(j + 1) == Some(&':') {
                j += 2;
                if bytes.get(j) == Some(&'{') {
                    let end = group_end(&bytes, j);
                    let inner: String = bytes[j + 1..end].iter().collect();
                    let mut base_path = prefix.clone();
                    base_path.extend(segs.iter().cloned());
                    for item in split_group(&inner) {
                        let mut p = base_path.clone();
                        p.extend(
                            item.split("::")
                                .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                                .filter(|s| !s.is_empty() && s != "self" && !s.starts_with('{')),
                        );
                        out.push(p);
                    }
                    j = end + 1;
                    grouped = true;
                    break;
                }
                continue;
            }
            break;
        }
        if !grouped && (!segs.is_empty() || base == "super::") {
            let mut p = prefix;
            p.extend(segs);
            out.push(p);
        }
        i = j.max(i + 1);
    }
    out
}

fn group_end(bytes: &[char], open: usize) -> usize {
    let mut depth = 0;
    for (k, c) in bytes.iter().enumerate().skip(open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    bytes.len() - 1
}

fn split_group(inner: &str) -> Vec<String> {
    let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for c in inner.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// The longest known module that `path` starts with.
fn resolve(path: &Module, known: &BTreeSet<Module>) -> Module {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
        .unwrap_or_default()
}

/// The cycles (as lists of module names) among the children of every module of the crate at
/// `src`, each with the files that close it.
fn cycles(src: &Path) -> Vec<String> {
    let mods = modules(src);
    let known: BTreeSet<Module> = mods.keys().cloned().collect();
    let mut edges: BTreeMap<Module, BTreeSet<(Module, Module)>> = BTreeMap::new();
    for (m, file) in &mods {
        let text = code(&std::fs::read_to_string(file).expect("read source"));
        for r in references(m, &text) {
            let t = resolve(&r, &known);
            if &t != m {
                edges.entry(m.clone()).or_default().insert((t, m.clone()));
            }
        }
    }
    let name = |m: &Module| {
        if m.is_empty() {
            "(crate root)".to_string()
        } else {
            m.join("::")
        }
    };
    let parents: BTreeSet<Module> = mods
        .keys()
        .filter(|m| !m.is_empty())
        .map(|m| m[..m.len() - 1].to_vec())
        .collect();
    let mut found = Vec::new();
    for parent in parents {
        // Nodes: the parent itself and each direct child (with everything below it).
        let node = |m: &Module| -> Option<Module> {
            if !m.starts_with(&parent) {
                return None;
            }
            Some(m[..(parent.len() + 1).min(m.len())].to_vec())
        };
        let mut graph: BTreeMap<Module, BTreeMap<Module, BTreeSet<String>>> = BTreeMap::new();
        for (from, targets) in &edges {
            let Some(a) = node(from) else { continue };
            for (to, via) in targets {
                let Some(b) = node(to) else { continue };
                if a != b {
                    graph
                        .entry(a.clone())
                        .or_default()
                        .entry(b)
                        .or_default()
                        .insert(name(via));
                }
            }
        }
        for mut comp in strongly_connected(&graph) {
            comp.sort();
            if comp.len() > 1 {
                let mut lines = vec![format!(
                    "cycle among the children of {}: {}",
                    name(&parent),
                    comp.iter().map(name).collect::<Vec<_>>().join(", ")
                )];
                for a in &comp {
                    for (b, via) in graph.get(a).into_iter().flatten() {
                        if comp.contains(b) {
                            lines.push(format!(
                                "  {} -> {} (in {})",
                                name(a),
                                name(b),
                                via.iter().cloned().collect::<Vec<_>>().join(", ")
                            ));
                        }
                    }
                }
                found.push(lines.join("\n"));
            }
        }
    }
    found
}

/// Tarjan's strongly connected components.
fn strongly_connected<T: Ord + Clone, V>(graph: &BTreeMap<T, BTreeMap<T, V>>) -> Vec<Vec<T>> {
    struct State<T> {
        index: BTreeMap<T, usize>,
        low: BTreeMap<T, usize>,
        stack: Vec<T>,
        on: BTreeSet<T>,
        out: Vec<Vec<T>>,
    }
    fn visit<T: Ord + Clone, V>(v: &T, g: &BTreeMap<T, BTreeMap<T, V>>, s: &mut State<T>) {
        let i = s.index.len();
        s.index.insert(v.clone(), i);
        s.low.insert(v.clone(), i);
        s.stack.push(v.clone());
        s.on.insert(v.clone());
        for w in g.get(v).into_iter().flat_map(|m| m.keys()) {
            if !s.index.contains_key(w) {
                visit(w, g, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(&w);
                let done = &w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    let nodes: BTreeSet<T> = graph
        .iter()
        .flat_map(|(k, m)| std::iter::once(k.clone()).chain(m.keys().cloned()))
        .collect();
    for v in &nodes {
        if !s.index.contains_key(v) {
            visit(v, graph, &mut s);
        }
    }
    s.out
}

#[test]
fn no_import_cycle_crosses_a_module_boundary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for (krate, src) in [
        ("sessions-emulator", root.join("src")),
        ("sessions-runtime", root.join("runtime/src")),
    ] {
        assert!(
            modules(&src).len() > 10,
            "{krate}: no sources under {}",
            src.display()
        );
        found.extend(cycles(&src).into_iter().map(|c| format!("{krate}: {c}")));
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).expect("mkdir");
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").expect("write");
    std::fs::write(src.join("a/mod.rs"), "pub mod x;\nuse crate::b::Thing;\n").expect("write");
    std::fs::write(src.join("a/x.rs"), "use super::super::b;\n").expect("write");
    std::fs::write(
        src.join("b.rs"),
        "use crate::{a::x::Y, c};\n#[cfg(test)]\nmod tests { use crate::z; }\n",
    )
    .expect("write");
    let found = cycles(src);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("a, b"), "{}", found[0]);
    std::fs::write(src.join("b.rs"), "// use crate::a;\npub struct Thing;\n").expect("write");
    assert!(cycles(src).is_empty());
    // A child naming a sibling through `super::sibling::{..}` does not refer to its parent.
    std::fs::write(
        src.join("a/mod.rs"),
        "pub mod x;\npub mod y;\nuse self::x::X;\n",
    )
    .expect("write");
    std::fs::write(src.join("a/x.rs"), "use super::y::{Y, self};\n").expect("write");
    std::fs::write(src.join("a/y.rs"), "pub struct Y;\n").expect("write");
    assert!(cycles(src).is_empty(), "{:?}", cycles(src));
    std::fs::write(src.join("a/y.rs"), "use super::X;\n").expect("write");
    assert_eq!(cycles(src).len(), 1, "y -> a -> x -> y");
}
