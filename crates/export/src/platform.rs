//! spoor's tables under the names each platform documents for the same events.
//!
//! spoor's tables are Sentinel's (`AWSCloudTrail`, `AWSVPCFlow`). Athena, CloudWatch Logs
//! Insights and Splunk's AWS add-on read the same events under AWS's names: CloudTrail's JSON
//! fields (`eventName`, `userIdentity.arn`; https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html)
//! and the flow log fields of Athena's table (`sourceaddress`, `destinationport`;
//! https://docs.aws.amazon.com/athena/latest/ug/vpc-flow-logs.html). A writer for such a
//! platform reads a pipeline over `AWSCloudTrail` as one over spoor's `cloudtrail` table (which
//! holds CloudTrail's names) and `AWSVPCFlow` as one over `vpc_flow_logs`: each column the
//! query reads becomes an expression over the platform's fields. A column with no such field
//! is an error that names it.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{Expr, lit};
use spoor_catalog::catalog;

use crate::pipeline::{Pipeline, Source, Stage};

/// A spoor table read as a platform's table.
#[derive(Clone, Copy)]
pub(crate) struct Remap {
    /// spoor's table holding the platform's names.
    pub table: &'static str,
    /// A column of spoor's table as an expression over the platform table's columns.
    pub column: fn(&str) -> Option<Expr>,
    /// A text at a JSON path into a column of spoor's table (`userIdentity.arn`), when the
    /// platform has a column for it.
    pub path: fn(&str, &[String]) -> Option<Expr>,
}

fn no_path(_: &str, _: &[String]) -> Option<Expr> {
    None
}

/// The Sentinel table for Athena's and CloudTrail's tables (`vpc_flow_logs`, `cloudtrail`):
/// the correspondences of [`aws`], read the other way.
pub(crate) fn sentinel(table: &str) -> Option<Remap> {
    match table {
        "cloudtrail" => Some(Remap {
            table: "AWSCloudTrail",
            column: |c| inverse("AWSCloudTrail", cloudtrail, c, &[]),
            path: |c, keys| inverse("AWSCloudTrail", cloudtrail, c, keys),
        }),
        "vpc_flow_logs" => Some(Remap {
            table: "AWSVPCFlow",
            column: |c| inverse("AWSVPCFlow", vpc_flow, c, &[]),
            path: no_path,
        }),
        _ => None,
    }
}

/// The column of `table` that `forward` reads from `column` (at `keys`, for a JSON path).
fn inverse(
    table: &str,
    forward: fn(&str) -> Option<Expr>,
    column: &str,
    keys: &[String],
) -> Option<Expr> {
    let def = catalog().table(table)?;
    def.columns.iter().find_map(|c| {
        let reads = match forward(&c.name)? {
            Expr::Column(col) => keys.is_empty() && col.name == column,
            // A time the platform keeps in unix seconds (the flow's start and end).
            Expr::ScalarFunction(f)
                if f.func.name() == "kql_unixtime_seconds_todatetime"
                    && keys.is_empty()
                    && matches!(&f.args[0], Expr::Column(col) if col.name == column) =>
            {
                return Some(datafusion::functions::datetime::expr_fn::to_unixtime(vec![
                    field(&c.name),
                ]));
            }
            Expr::ScalarFunction(f) if f.func.name() == "kql_json_text" => {
                matches!(&f.args[0], Expr::Column(col) if col.name == column)
                    && f.args.len() == keys.len() + 1
                    && f.args[1..].iter().zip(keys).all(|(a, k)| {
                        matches!(a, Expr::Literal(v, _)
                            if v.try_as_str().flatten().is_some_and(|a| a.eq_ignore_ascii_case(k)))
                    })
            }
            _ => false,
        };
        reads.then(|| field(&c.name))
    })
}

/// The platform table for `AWSCloudTrail` and `AWSVPCFlow`.
pub(crate) fn aws(table: &str) -> Option<Remap> {
    match table {
        "AWSCloudTrail" => Some(Remap {
            table: "cloudtrail",
            column: cloudtrail,
            path: no_path,
        }),
        "AWSVPCFlow" => Some(Remap {
            table: "vpc_flow_logs",
            column: vpc_flow,
            path: no_path,
        }),
        _ => None,
    }
}

fn field(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// A text field inside a JSON column.
fn path(column: &str, keys: &[&str]) -> Expr {
    let mut args = vec![field(column)];
    args.extend(keys.iter().map(|k| lit(*k)));
    spoor_events::spoor("kql_json_text", args)
}

/// `AWSCloudTrail`'s columns as CloudTrail's fields (Sentinel's AWS connector fills them from
/// these; the same correspondence spoor's CloudTrail source uses).
fn cloudtrail(column: &str) -> Option<Expr> {
    let top = |name: &str| Some(field(name));
    let identity = |keys: &[&str]| Some(path("userIdentity", keys));
    match column {
        "TimeGenerated" => top("eventTime"),
        "AwsEventId" => top("eventID"),
        "EventVersion" => top("eventVersion"),
        "EventSource" => top("eventSource"),
        "EventTypeName" => top("eventType"),
        "EventName" => top("eventName"),
        "AWSRegion" => top("awsRegion"),
        "SourceIpAddress" => top("sourceIPAddress"),
        "UserAgent" => top("userAgent"),
        "ErrorCode" => top("errorCode"),
        "ErrorMessage" => top("errorMessage"),
        "RequestParameters" => top("requestParameters"),
        "ResponseElements" => top("responseElements"),
        "AdditionalEventData" => top("additionalEventData"),
        "AwsRequestId" | "AwsRequestId_" => top("requestID"),
        "Resources" => top("resources"),
        "APIVersion" => top("apiVersion"),
        "RecipientAccountId" => top("recipientAccountId"),
        "ServiceEventDetails" => top("serviceEventDetails"),
        "SharedEventId" => top("sharedEventID"),
        "VpcEndpointId" => top("vpcEndpointId"),
        "Category" => top("eventCategory"),
        "UserIdentityType" => identity(&["type"]),
        "UserIdentityPrincipalid" => identity(&["principalId"]),
        "UserIdentityArn" => identity(&["arn"]),
        "UserIdentityAccountId" => identity(&["accountId"]),
        "UserIdentityInvokedBy" => identity(&["invokedBy"]),
        "UserIdentityAccessKeyId" => identity(&["accessKeyId"]),
        "UserIdentityUserName" => identity(&["userName"]),
        "SessionIssuerType" => identity(&["sessionContext", "sessionIssuer", "type"]),
        "SessionIssuerPrincipalId" => identity(&["sessionContext", "sessionIssuer", "principalId"]),
        "SessionIssuerArn" => identity(&["sessionContext", "sessionIssuer", "arn"]),
        "SessionIssuerAccountId" => identity(&["sessionContext", "sessionIssuer", "accountId"]),
        "SessionIssuerUserName" => identity(&["sessionContext", "sessionIssuer", "userName"]),
        "SessionCreationDate" => identity(&["sessionContext", "attributes", "creationDate"])
            .map(|e| datafusion::functions::datetime::expr_fn::to_timestamp(vec![e])),
        // CloudTrail writes the flag as the text "true" or "false".
        "SessionMfaAuthenticated" => {
            identity(&["sessionContext", "attributes", "mfaAuthenticated"])
                .map(|e| e.eq(lit("true")))
        }
        "EC2RoleDelivery" => identity(&["sessionContext", "ec2RoleDelivery"]),
        "ReadOnly" => top("readOnly"),
        "ManagementEvent" => top("managementEvent"),
        "UserIdentityUserId" => identity(&["onBehalfOf", "userId"]),
        "UserIdentityStoreArn" => identity(&["onBehalfOf", "identityStoreArn"]),
        "TlsVersion" => Some(path("tlsDetails", &["tlsVersion"])),
        "CipherSuite" => Some(path("tlsDetails", &["cipherSuite"])),
        "ClientProvidedHostHeader" => Some(path("tlsDetails", &["clientProvidedHostHeader"])),
        _ => None,
    }
}

/// `AWSVPCFlow`'s columns as the columns of Athena's flow log table.
fn vpc_flow(column: &str) -> Option<Expr> {
    let name = match column {
        "Version" => "version",
        "AccountId" => "account",
        "InterfaceId" => "interfaceid",
        "SrcAddr" => "sourceaddress",
        "DstAddr" => "destinationaddress",
        "SrcPort" => "sourceport",
        "DstPort" => "destinationport",
        "Protocol" => "protocol",
        "Packets" => "numpackets",
        "Bytes" => "numbytes",
        "Action" => "action",
        "LogStatus" => "logstatus",
        "VpcId" => "vpcid",
        "SubnetId" => "subnetid",
        "InstanceId" => "instanceid",
        "TcpFlags" => "tcpflags",
        "TrafficType" => "type",
        "PktSrcAddr" => "pktsrcaddr",
        "PktDstAddr" => "pktdstaddr",
        "Region" => "region",
        "AzId" => "azid",
        "SublocationType" => "sublocationtype",
        "SublocationId" => "sublocationid",
        "PktSrcAwsService" => "pktsrcawsservice",
        "PktDstAwsService" => "pktdstawsservice",
        "FlowDirection" => "flowdirection",
        // Athena keeps the interval's start in unix seconds.
        "TimeGenerated" | "Start" => {
            return Some(spoor_events::spoor(
                "kql_unixtime_seconds_todatetime",
                vec![field("starttime")],
            ));
        }
        "End" => {
            return Some(spoor_events::spoor(
                "kql_unixtime_seconds_todatetime",
                vec![field("endtime")],
            ));
        }
        _ => return None,
    };
    Some(field(name))
}

/// Reads every table `choose` remaps as the platform's table: the source is renamed, and the
/// stages that read the table's own columns read the platform's fields instead.
pub(crate) fn remap(p: &mut Pipeline, choose: fn(&str) -> Option<Remap>) -> Result<(), String> {
    match &mut p.source {
        Source::Union(branches) => {
            for b in branches {
                remap(b, choose)?;
            }
            Ok(())
        }
        Source::Join { left, right, .. } => {
            remap(left, choose)?;
            remap(right, choose)?;
            Ok(())
        }
        Source::Table(table) => {
            let Some(r) = choose(table) else {
                return Ok(());
            };
            let spoor_table = table.clone();
            *table = r.table.to_string();
            let def = catalog()
                .table(&spoor_table)
                .ok_or_else(|| format!("the table {spoor_table}"))?;
            let platform = catalog()
                .table(r.table)
                .ok_or_else(|| format!("the table {}", r.table))?;
            let platform_schema = DFSchema::try_from(platform.schema().as_ref().clone())
                .map_err(|e| e.to_string())?;
            // The table's columns still in scope, each with its expression (None: no field).
            let mut scope: HashMap<String, Option<Expr>> = def
                .columns
                .iter()
                .map(|c| (c.name.clone(), (r.column)(&c.name)))
                .collect();
            for (stage, schema) in &mut p.stages {
                let mut merged = schema.as_ref().clone();
                merged.merge(&platform_schema);
                *schema = Arc::new(merged);
                let read = |e: &Expr, scope: &HashMap<String, Option<Expr>>| {
                    // JSON paths the platform has a column for, then columns.
                    let paths = e.clone().transform_up(|e| {
                        let Expr::ScalarFunction(f) = &e else {
                            return Ok(Transformed::no(e));
                        };
                        if !matches!(f.func.name(), "kql_json_text" | "kql_json_text_ignore_case") {
                            return Ok(Transformed::no(e));
                        }
                        let Some(Expr::Column(c)) = f.args.first() else {
                            return Ok(Transformed::no(e));
                        };
                        let keys: Option<Vec<String>> = f.args[1..]
                            .iter()
                            .map(|a| match a {
                                Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_string),
                                _ => None,
                            })
                            .collect();
                        match keys.and_then(|k| {
                            scope
                                .contains_key(&c.name)
                                .then(|| (r.path)(&c.name, &k))
                                .flatten()
                        }) {
                            Some(mapped) => Ok(Transformed::yes(mapped)),
                            None => Ok(Transformed::no(e)),
                        }
                    });
                    let e = paths.map(|t| t.data).map_err(|e| e.to_string())?;
                    e.transform_up(|e| match &e {
                        Expr::Column(c) => match scope.get(&c.name) {
                            Some(Some(mapped)) => Ok(Transformed::yes(mapped.clone())),
                            Some(None) => Err(datafusion::error::DataFusionError::Plan(format!(
                                "{spoor_table}.{} (the platform's {} has no such field)",
                                c.name, r.table
                            ))),
                            None => Ok(Transformed::no(e)),
                        },
                        _ => Ok(Transformed::no(e)),
                    })
                    .map(|t| t.data)
                    .map_err(|e| match e {
                        datafusion::error::DataFusionError::Plan(m) => m,
                        other => other.to_string(),
                    })
                    .and_then(json_paths_as_text)
                };
                let read_all = |items: &mut Vec<(String, Expr)>,
                                scope: &HashMap<String, Option<Expr>>|
                 -> Result<(), String> {
                    for (_, e) in items.iter_mut() {
                        *e = read(e, scope)?;
                    }
                    Ok(())
                };
                match stage {
                    Stage::Where(e) => *e = read(e, &scope)?,
                    Stage::Extend(items) => {
                        read_all(items, &scope)?;
                        for (n, _) in items.iter() {
                            scope.remove(n);
                        }
                    }
                    Stage::Project(items) => {
                        read_all(items, &scope)?;
                        scope.clear();
                    }
                    Stage::Summarize { aggregates, by } => {
                        read_all(aggregates, &scope)?;
                        read_all(by, &scope)?;
                        scope.clear();
                    }
                    Stage::Sort(keys) => {
                        for k in keys.iter_mut() {
                            k.expr = read(&k.expr, &scope)?;
                        }
                    }
                    Stage::Window { items, order } => {
                        read_all(items, &scope)?;
                        for k in order.iter_mut() {
                            k.expr = read(&k.expr, &scope)?;
                        }
                        for (n, _) in items.iter() {
                            scope.remove(n);
                        }
                    }
                    Stage::Take(_) | Stage::Distinct | Stage::MvExpand { .. } => {}
                }
            }
            Ok(())
        }
    }
}

/// `tostring(parse_json(column).key.key)`, as KQL reads a field inside a JSON column, is the
/// text at a path (`kql_json_text(column, 'key', 'key')`): the platforms name such a field by
/// its dotted path (`requestParameters.bucketName`).
fn json_paths_as_text(e: Expr) -> Result<Expr, String> {
    let is = |e: &Expr, name: &str| match e {
        Expr::ScalarFunction(f) if f.func.name() == name => Some(f.args.clone()),
        _ => None,
    };
    e.transform_up(|e| {
        let Some(outer) = is(&e, "kql_dyn_to_string") else {
            return Ok(Transformed::no(e));
        };
        let Some(get) = outer.first().and_then(|a| is(a, "kql_json_get")) else {
            return Ok(Transformed::no(e));
        };
        let root = match get.first().and_then(|r| is(r, "kql_parse_json")) {
            Some(parsed) => parsed[0].clone(),
            None => get[0].clone(),
        };
        let keys_are_text = get[1..]
            .iter()
            .all(|k| matches!(k, Expr::Literal(v, _) if v.try_as_str().flatten().is_some()));
        if !matches!(root, Expr::Column(_)) || !keys_are_text {
            return Ok(Transformed::no(e));
        }
        let mut args = vec![root];
        args.extend(get[1..].iter().cloned());
        Ok(Transformed::yes(spoor_events::spoor("kql_json_text", args)))
    })
    .map(|t| t.data)
    .map_err(|e| e.to_string())
}
