//! AWS VPC flow logs as S3 delivery writes them: space-separated text whose first line names the
//! fields (the default v2 set or any custom set of versions 3 to 8, in any order); `-` is null.
//!
//! Fills `AWSVPCFlow` (Log Analytics names; `start` and `end` as datetimes, TimeGenerated =
//! start) and `vpc_flow_logs` (the column names of AWS's Athena table; start and end stay Unix
//! seconds).

use std::borrow::Cow;
use std::io::BufRead;
use std::path::Path;

use spoor_catalog::{KqlType, TableDef};

use crate::batch::{Batcher, Decoding, RowDecoder, Scalar, convert};
use crate::lines::Lines;
use crate::{Batches, Format, Position, SourceError, check_table};

/// The VPC flow log format.
pub struct VpcFlow;

pub const AWS_VPC_FLOW: &str = "AWSVPCFlow";
pub const VPC_FLOW_LOGS: &str = "vpc_flow_logs";

/// Every flow log field: (name in the header, AWSVPCFlow column, vpc_flow_logs column, numeric).
const FIELDS: &[(&str, &str, &str, bool)] = &[
    ("version", "Version", "version", true),
    ("account-id", "AccountId", "account", false),
    ("interface-id", "InterfaceId", "interfaceid", false),
    ("srcaddr", "SrcAddr", "sourceaddress", false),
    ("dstaddr", "DstAddr", "destinationaddress", false),
    ("srcport", "SrcPort", "sourceport", true),
    ("dstport", "DstPort", "destinationport", true),
    ("protocol", "Protocol", "protocol", true),
    ("packets", "Packets", "numpackets", true),
    ("bytes", "Bytes", "numbytes", true),
    ("start", "Start", "starttime", true),
    ("end", "End", "endtime", true),
    ("action", "Action", "action", false),
    ("log-status", "LogStatus", "logstatus", false),
    ("vpc-id", "VpcId", "vpcid", false),
    ("subnet-id", "SubnetId", "subnetid", false),
    ("instance-id", "InstanceId", "instanceid", false),
    ("tcp-flags", "TcpFlags", "tcpflags", true),
    ("type", "TrafficType", "type", false),
    ("pkt-srcaddr", "PktSrcAddr", "pktsrcaddr", false),
    ("pkt-dstaddr", "PktDstAddr", "pktdstaddr", false),
    ("region", "Region", "region", false),
    ("az-id", "AzId", "azid", false),
    (
        "sublocation-type",
        "SublocationType",
        "sublocationtype",
        false,
    ),
    ("sublocation-id", "SublocationId", "sublocationid", false),
    (
        "pkt-src-aws-service",
        "PktSrcAwsService",
        "pktsrcawsservice",
        false,
    ),
    (
        "pkt-dst-aws-service",
        "PktDstAwsService",
        "pktdstawsservice",
        false,
    ),
    ("flow-direction", "FlowDirection", "flowdirection", false),
    ("traffic-path", "TrafficPath", "trafficpath", true),
    ("ecs-cluster-arn", "EcsClusterArn", "ecsclusterarn", false),
    (
        "ecs-cluster-name",
        "EcsClusterName",
        "ecsclustername",
        false,
    ),
    (
        "ecs-container-instance-arn",
        "EcsContainerInstanceArn",
        "ecscontainerinstancearn",
        false,
    ),
    (
        "ecs-container-instance-id",
        "EcsContainerInstanceId",
        "ecscontainerinstanceid",
        false,
    ),
    (
        "ecs-container-id",
        "EcsContainerId",
        "ecscontainerid",
        false,
    ),
    (
        "ecs-second-container-id",
        "EcsSecondContainerId",
        "ecssecondcontainerid",
        false,
    ),
    (
        "ecs-service-name",
        "EcsServiceName",
        "ecsservicename",
        false,
    ),
    (
        "ecs-task-definition-arn",
        "EcsTaskDefinitionArn",
        "ecstaskdefinitionarn",
        false,
    ),
    ("ecs-task-arn", "EcsTaskArn", "ecstaskarn", false),
    ("ecs-task-id", "EcsTaskId", "ecstaskid", false),
    ("reject-reason", "RejectReason", "rejectreason", false),
    ("resource-id", "ResourceId", "resourceid", false),
];

/// The index in `FIELDS` of a header name (`account-id`, also written `account_id`).
fn field_index(name: &str) -> Option<usize> {
    FIELDS.iter().position(|(f, ..)| {
        f.len() == name.len()
            && f.bytes()
                .zip(name.bytes())
                .all(|(a, b)| a == b.to_ascii_lowercase() || (a == b'-' && b == b'_'))
    })
}

/// Splits on runs of spaces and tabs; the byte ranges of the tokens.
pub(crate) fn split_tokens(line: &[u8], out: &mut Vec<(usize, usize)>) {
    out.clear();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
            i += 1;
        }
        let s = i;
        while i < line.len() && line[i] != b' ' && line[i] != b'\t' {
            i += 1;
        }
        if i > s {
            out.push((s, i));
        }
    }
}

/// The header fields of a line, if every token is a flow log field name.
fn header_fields(line: &str) -> Option<Vec<usize>> {
    let names: Vec<&str> = line.split_ascii_whitespace().collect();
    if names.len() < 3 {
        return None;
    }
    names.iter().map(|n| field_index(n)).collect()
}

impl Format for VpcFlow {
    fn name(&self) -> &'static str {
        "vpcflow"
    }

    fn description(&self) -> &'static str {
        "AWS VPC flow logs: space-separated text with a header line naming the fields (default or custom \
         format, versions 2 to 8)"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[AWS_VPC_FLOW, VPC_FLOW_LOGS]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let Some(line) = head
            .split(|&b| b == b'\n')
            .find(|l| !l.trim_ascii().is_empty())
        else {
            return false;
        };
        let Ok(line) = std::str::from_utf8(line) else {
            return false;
        };
        match header_fields(line) {
            // An address or an interface, so that a line of three known words is not enough.
            Some(fields) => fields
                .iter()
                .any(|&f| matches!(FIELDS[f].0, "srcaddr" | "dstaddr" | "interface-id")),
            None => false,
        }
    }

    fn decode(
        &self,
        input: Box<dyn BufRead + Send>,
        file: &Path,
        table: &TableDef,
        projection: &[usize],
        batch_size: usize,
    ) -> Result<Batches, SourceError> {
        check_table(self, table)?;
        let batcher = Batcher::new(table, projection, batch_size)?;
        let athena = table.name == VPC_FLOW_LOGS;
        let columns = projection
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                let want = match c.name.as_str() {
                    "TimeGenerated" if !athena => {
                        field_index("start").map_or(Want::Null, Want::Field)
                    }
                    "Type" if !athena => Want::Const(AWS_VPC_FLOW),
                    name => FIELDS
                        .iter()
                        .position(|f| if athena { f.2 == name } else { f.1 == name })
                        .map_or(Want::Null, Want::Field),
                };
                (want, c.ty)
            })
            .collect();
        let decoder = FlowDecoder {
            columns,
            header: None,
            tokens: Vec::new(),
        };
        Ok(Box::new(Decoding::new(
            Lines::new(input),
            decoder,
            batcher,
            file,
        )))
    }
}

/// What a projected column wants.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// The field with this index in `FIELDS`.
    Field(usize),
    Const(&'static str),
    Null,
}

struct Header {
    /// `FIELDS` index of each position in a line.
    fields: Vec<usize>,
    /// For each projected column, the position of its field in a line.
    positions: Vec<Option<usize>>,
    /// Positions of numeric fields (checked on every line).
    numeric: Vec<usize>,
    line: u64,
}

struct FlowDecoder {
    columns: Vec<(Want, KqlType)>,
    header: Option<Header>,
    tokens: Vec<(usize, usize)>,
}

impl FlowDecoder {
    fn set_header(&mut self, fields: Vec<usize>, line: u64) {
        let positions = self
            .columns
            .iter()
            .map(|(w, _)| match w {
                Want::Field(f) => fields.iter().position(|x| x == f),
                _ => None,
            })
            .collect();
        let numeric = (0..fields.len()).filter(|&p| FIELDS[fields[p]].3).collect();
        self.header = Some(Header {
            fields,
            positions,
            numeric,
            line,
        });
    }
}

impl RowDecoder for FlowDecoder {
    fn decode(
        &mut self,
        record: &[u8],
        position: Position,
        batcher: &mut Batcher,
    ) -> Result<(), String> {
        // Bytes that are not UTF-8 (raw bytes in a request line are often the attack) are kept as
        // U+FFFD rather than losing the line.
        let line = String::from_utf8_lossy(record);
        let line = line.as_ref();
        let line_no = match position {
            Position::Line(n) => n,
            _ => 0,
        };
        split_tokens(line.as_bytes(), &mut self.tokens);
        let starts_with_letter = line
            .trim_start()
            .starts_with(|c: char| c.is_ascii_alphabetic());
        if starts_with_letter && let Some(fields) = header_fields(line) {
            self.set_header(fields, line_no);
            return Ok(());
        }
        let Some(h) = &self.header else {
            return Err("data before the header line that names the fields; a flow log file starts with a line \
                        such as `version account-id interface-id srcaddr ...`"
                .into());
        };
        if self.tokens.len() != h.fields.len() {
            return Err(format!(
                "expected {} fields (header at line {}), found {}",
                h.fields.len(),
                h.line,
                self.tokens.len()
            ));
        }
        let tok = |p: usize| &line[self.tokens[p].0..self.tokens[p].1];
        for &p in &h.numeric {
            let t = tok(p);
            if t != "-" && t.parse::<i64>().is_err() {
                return Err(format!(
                    "field {}: expected a whole number, found {t:?}",
                    FIELDS[h.fields[p]].0
                ));
            }
        }
        let mut values = Vec::with_capacity(self.columns.len());
        for (i, &(want, ty)) in self.columns.iter().enumerate() {
            values.push(match (want, h.positions[i]) {
                (Want::Const(s), _) => Scalar::Str(Cow::Borrowed(s)),
                (Want::Field(_), Some(p)) if tok(p) != "-" => convert(Cow::Borrowed(tok(p)), ty)
                    .map_err(|e| format!("field {}: {e}", FIELDS[h.fields[p]].0))?,
                _ => Scalar::Null,
            });
        }
        batcher.push(&values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int32Array, Int64Array, StringArray, TimestampNanosecondArray};
    use arrow::record_batch::RecordBatch;

    const V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status
2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK
2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT
2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 port 3389 6 20 4249 1418530010 1418530070 REJECT OK
";

    fn run(input: &str, table: &str, columns: &[&str]) -> (Vec<RecordBatch>, Vec<String>) {
        crate::testing::decode_text(&VpcFlow, input, "f.log", table, columns, 100)
    }

    #[test]
    fn sniffs_headers_only() {
        assert!(VpcFlow.sniff(V2.as_bytes()));
        assert!(
            VpcFlow.sniff(b"region vpc-id az-id srcaddr dstaddr flow-direction traffic-path\n")
        );
        assert!(!VpcFlow.sniff(b"version action log-status\n"));
        assert!(!VpcFlow.sniff(b"#Software: Microsoft Internet Information Services 10.0\n"));
        assert!(!VpcFlow.sniff(b"2 123456789010 eni-1 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 ACCEPT OK\n"));
    }

    #[test]
    fn decodes_default_format_with_bad_lines() {
        let (batches, bad) = run(
            V2,
            AWS_VPC_FLOW,
            &[
                "TimeGenerated",
                "SrcAddr",
                "DstPort",
                "Bytes",
                "Action",
                "Type",
            ],
        );
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(
            bad[0],
            "f.log:line 4: expected 14 fields (header at line 1), found 13"
        );
        assert_eq!(
            bad[1],
            "f.log:line 5: field srcport: expected a whole number, found \"port\""
        );
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        let t = b
            .column(0)
            .as_any()
            .downcast_ref::<TimestampNanosecondArray>()
            .unwrap();
        assert_eq!(t.value(0), 1_418_530_010_000_000_000);
        let src = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(src.value(0), "172.31.16.139");
        assert!(src.is_null(1));
        let port = b.column(2).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(port.value(0), 22);
        let bytes = b.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(bytes.value(0), 4249);
        let ty = b.column(5).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(ty.value(1), "AWSVPCFlow");
    }

    #[test]
    fn athena_names_and_custom_field_order() {
        let input = "srcaddr dstaddr dstport start action vpc-id flow-direction traffic-path\n\
                     10.0.0.5 10.0.1.9 22 1418530010 REJECT vpc-1 ingress -\n";
        let (batches, bad) = run(
            input,
            VPC_FLOW_LOGS,
            &[
                "sourceaddress",
                "destinationport",
                "starttime",
                "vpcid",
                "flowdirection",
                "numbytes",
            ],
        );
        assert!(bad.is_empty(), "{bad:?}");
        let b = &batches[0];
        assert_eq!(
            b.column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "10.0.0.5"
        );
        assert_eq!(
            b.column(1)
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap()
                .value(0),
            22
        );
        assert_eq!(
            b.column(2)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .value(0),
            1_418_530_010
        );
        assert_eq!(
            b.column(3)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "vpc-1"
        );
        assert_eq!(
            b.column(4)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "ingress"
        );
        assert!(
            b.column(5).is_null(0),
            "a field the file does not have is null"
        );
    }

    #[test]
    fn data_before_a_header_is_bad() {
        let (batches, bad) = run(
            "2 1 eni-1 1.2.3.4 5.6.7.8 1 2 6 1 1 1 1 ACCEPT OK\n",
            AWS_VPC_FLOW,
            &["SrcAddr"],
        );
        assert!(batches.is_empty());
        assert!(bad[0].contains("before the header"), "{bad:?}");
    }
}
