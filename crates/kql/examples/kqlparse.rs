//! Parse a KQL query from a file or stdin and print the AST or the rendered errors.
use std::io::Read;

fn main() {
    let mut text = String::new();
    let origin = match std::env::args().nth(1) {
        Some(path) => {
            text = std::fs::read_to_string(&path).expect("read file");
            path
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .expect("read stdin");
            "<stdin>".to_string()
        }
    };
    match spoor_kql::syntax::parse(&text) {
        Ok(q) => println!("{q:#?}"),
        Err(errors) => {
            for e in errors {
                print!("{}", e.render(&text, &origin));
            }
            std::process::exit(1);
        }
    }
}
