//! KQL syntax: [`lexer`] (text → tokens), [`ast`] (the tree) and [`parser`]
//! (tokens → tree, recursive descent with a Pratt expression parser).

pub mod ast;
pub mod lexer;
mod literals;
mod operators;
pub mod parser;

pub use parser::parse;
