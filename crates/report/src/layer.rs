//! The ATT&CK Navigator layer of a hunt: every technique that fired, scored by its most
//! severe finding, with the findings in the comment.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use spoor_detections::{AttackTable, Finding};

/// A layer in the Navigator's format (layer 4.5), for `domain: enterprise-attack`.
pub fn navigator_layer(findings: &[Finding], attack: &AttackTable, name: &str) -> Value {
    // (technique, tactic) -> (score, comments)
    let mut cells: BTreeMap<(String, String), (u32, Vec<String>)> = BTreeMap::new();
    for f in findings {
        for cell in f.matrix_cells(attack) {
            let entry = cells.entry(cell).or_insert((0, Vec::new()));
            entry.0 = entry.0.max(f.score);
            entry.1.push(format!("{} ({} hits)", f.title, f.hits()));
        }
    }
    let techniques: Vec<Value> = cells
        .into_iter()
        .map(|((technique, tactic), (score, comments))| {
            json!({
                "techniqueID": technique,
                "tactic": tactic,
                "score": score,
                "comment": comments.join("; "),
                "enabled": true,
                "showSubtechniques": true,
            })
        })
        .collect();
    json!({
        "name": name,
        "versions": {"layer": "4.5", "navigator": "5.1.0"},
        "domain": "enterprise-attack",
        "description": format!("Techniques found by spoor hunt ({} findings); ATT&CK table: {}",
            findings.len(), attack.source),
        "sorting": 3,
        "layout": {"layout": "side", "showName": true, "showID": true},
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#fff3b0", "#ff9f43", "#e8413c"], "minValue": 0, "maxValue": 100},
        "legendItems": [],
        "showTacticRowBackground": true,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}
