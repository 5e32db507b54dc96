//! KQL lexer.
