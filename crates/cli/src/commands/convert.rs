//! `spoor convert`: a query planned by its front-end, written in another language.

use std::process::ExitCode;

use crate::Failure;
use crate::args::{ConvertArgs, Lang};
use crate::input::{load_macros, read_query_file};

pub fn run(args: ConvertArgs) -> Result<ExitCode, Failure> {
    let target = spoor_export::Target::parse(&args.to).ok_or_else(|| {
        let names: Vec<&str> = spoor_export::Target::ALL.iter().map(|t| t.name()).collect();
        Failure::Usage(format!(
            "--to {}: not a language spoor knows ({})",
            args.to,
            names.join(", ")
        ))
    })?;
    let (text, origin) = match (&args.file, &args.query) {
        (Some(f), _) => (read_query_file(f)?, f.display().to_string()),
        (None, Some(q)) => (q.clone(), "<query>".to_string()),
        (None, None) => {
            return Err(Failure::Usage(
                "nothing to convert: give a query or -f FILE".into(),
            ));
        }
    };
    let render = |ds: Vec<spoor_core::Diagnostic>| {
        Failure::Query(ds.iter().map(|d| d.render(&text, &origin)).collect())
    };
    // Planned without evidence, with `now` left for the target to take at run time.
    let plan = match args.from {
        Lang::Kql => {
            spoor_kql::compile(&text, &spoor_detections::run::checking_options())
                .map_err(render)?
                .plan
        }
        Lang::Sql => spoor_sql::compile(&text, 0).map_err(render)?.plan,
        Lang::Cwl => {
            spoor_cwl::compile(&text, &Default::default())
                .map_err(render)?
                .plan
        }
        Lang::Spl => {
            let macros = load_macros(&args.macros)?;
            spoor_spl::compile(&text, &macros, &Default::default())
                .map_err(render)?
                .plan
        }
        Lang::Sumo => {
            spoor_sumo::compile(&text, &Default::default())
                .map_err(render)?
                .plan
        }
        Lang::Sigma => {
            return Err(Failure::Usage(
                "a Sigma rule plans once per table its log source maps to; converting Sigma is \
                 not supported yet"
                    .into(),
            ));
        }
    };
    let written =
        spoor_export::export(&plan, target).map_err(|e| Failure::Query(format!("error: {e}")))?;
    println!("{written}");
    Ok(ExitCode::SUCCESS)
}
