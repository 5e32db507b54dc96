//! Embeds the built-in workspace functions (`functions/*.kql`) so that the binary needs no files.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("functions");
    println!("cargo:rerun-if-changed=functions");
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("crates/kql/functions exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".kql"))
        .collect();
    names.sort();
    let mut out = String::from(
        "/// (file name, contents) of every built-in function.\npub static BUILTIN_FUNCTIONS: &[(&str, &str)] = &[\n",
    );
    // Paths relative to the crate, resolved when the crate compiles: an absolute path written
    // here would outlive a move of the checkout (another clone sharing the target directory
    // reuses this output without running the script again).
    for n in &names {
        let file = format!("/functions/{n}");
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {file:?}))),\n"
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_functions.rs"),
        out,
    )
    .unwrap();
}
