//! Helpers shared by the parser tests.

use spoor_kql::syntax::ast::Query;

/// Check that every span in the tree lies inside the span of the node that contains it.
///
/// Works on the pretty `Debug` output, where every node with a span prints `span: a..b`
/// (spans print as `a..b`), so new AST nodes are covered without a visitor. Returns the
/// violations, each with the parent and child spans.
pub fn span_violations(query: &Query) -> Vec<String> {
    let text = format!("{query:#?}");
    // Each open bracket starts a frame: (own span, spans found below it).
    struct Frame {
        own: Option<(u32, u32)>,
        inner: Vec<(u32, u32)>,
        line: usize,
    }
    let mut stack = vec![Frame {
        own: None,
        inner: Vec::new(),
        line: 0,
    }];
    let mut violations = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        let closes = t.starts_with('}') || t.starts_with(')') || t.starts_with(']');
        if closes {
            let frame = stack.pop().expect("balanced debug output");
            let parent = stack.last_mut().expect("root frame");
            if let Some((s, e)) = frame.own {
                for &(cs, ce) in &frame.inner {
                    if cs < s || ce > e {
                        violations.push(format!(
                            "span {cs}..{ce} lies outside its parent {s}..{e} (debug line {})",
                            frame.line + 1
                        ));
                    }
                }
                parent.inner.push((s, e));
            } else {
                parent.inner.extend(frame.inner);
            }
        }
        let value = t.strip_prefix("span: ").unwrap_or(t).trim_end_matches(',');
        if let Some(span) = parse_span(value) {
            let frame = stack.last_mut().expect("frame");
            if t.starts_with("span: ") && frame.own.is_none() {
                frame.own = Some(span);
            } else {
                frame.inner.push(span);
            }
        }
        if t.ends_with('{') || t.ends_with('(') || t.ends_with('[') {
            stack.push(Frame {
                own: None,
                inner: Vec::new(),
                line: n,
            });
        }
    }
    violations
}

fn parse_span(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once("..")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
