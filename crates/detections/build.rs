//! Embeds the built-in detection pack (`rules/` at the workspace root) so that the binary
//! needs no files.
use std::{env, fs, path::Path};

fn collect(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("the rules folder is readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, base, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            let rel = p.strip_prefix(base).expect("under the rules folder");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn main() {
    let rules = Path::new("../../rules");
    println!("cargo:rerun-if-changed=../../rules");
    let mut names = Vec::new();
    collect(rules, rules, &mut names);
    let mut out = String::from(
        "/// (path under rules/, contents) of every file of the built-in pack.\n\
         pub static BUILT_IN_PACK: &[(&str, &str)] = &[\n",
    );
    // Paths relative to the crate, resolved when the crate compiles (see crates/kql/build.rs).
    for n in &names {
        let file = format!("/../../rules/{n}");
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {file:?}))),\n"
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("built_in_pack.rs"),
        out,
    )
    .unwrap();
}
