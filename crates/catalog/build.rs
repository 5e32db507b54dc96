//! Embeds every table definition in `tables/` so that the catalog needs no files at run time.
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new("tables");
    println!("cargo:rerun-if-changed=tables");
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("crates/catalog/tables exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tsv"))
        .collect();
    names.sort();
    let mut out = String::from(
        "/// (file name, contents) of every table definition.\npub static TABLE_FILES: &[(&str, &str)] = &[\n",
    );
    // Paths relative to the crate, resolved when the crate compiles: an absolute path written
    // here would outlive a move of the checkout (a CI clone elsewhere sharing the target
    // directory reuses this output without running the script again).
    for n in &names {
        let file = format!("/tables/{n}");
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {file:?}))),\n"
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("table_files.rs"),
        out,
    )
    .unwrap();
}
