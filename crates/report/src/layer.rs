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
        for technique in &f.techniques {
            // The technique's tactics that the finding claims; all of them if it claims none
            // of the technique's.
            let tactics: Vec<String> = match attack.technique(technique) {
                Some(t) => {
                    let claimed: Vec<String> = t
                        .tactics
                        .iter()
                        .filter(|x| f.tactics.contains(x))
                        .cloned()
                        .collect();
                    if claimed.is_empty() {
                        t.tactics.clone()
                    } else {
                        claimed
                    }
                }
                None => f.tactics.clone(),
            };
            for tactic in tactics {
                let cell = cells
                    .entry((technique.clone(), tactic))
                    .or_insert((0, Vec::new()));
                cell.0 = cell.0.max(f.score);
                cell.1.push(format!("{} ({} hits)", f.title, f.hits()));
            }
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
