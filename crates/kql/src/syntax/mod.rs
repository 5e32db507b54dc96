//! KQL syntax: [`lexer`] (text → tokens), [`ast`] (the tree) and [`parser`]
//! (tokens → tree, recursive descent with a Pratt expression parser).

pub mod ast;
pub mod lexer;
pub mod parser;

pub use parser::parse;
