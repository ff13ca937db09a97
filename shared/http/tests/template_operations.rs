//! template.yaml's alarms held to its functions (issue 20, item 4): every function's
//! errors reach an alarm, the throttles alarm watches exactly the functions with reserved
//! concurrency, and no alarm's metric math takes more than the 10 metrics CloudWatch
//! allows. Read line by line, as the other template tests read it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn template() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Each top-level resource's logical id and its lines.
fn resources(template: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_resources = false;
    let mut current = None;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_resources = line.trim_end() == "Resources:";
            current = None;
            continue;
        }
        if !in_resources {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if indent == 2 && text.ends_with(':') && !text.starts_with('#') {
            current = Some(text.trim_end_matches(':').to_owned());
        } else if let Some(id) = &current {
            out.entry(id.clone()).or_default().push(text.to_owned());
        }
    }
    out
}

fn of_type<'a>(resources: &'a BTreeMap<String, Vec<String>>, ty: &str) -> BTreeSet<&'a str> {
    resources
        .iter()
        .filter(|(_, lines)| lines.iter().any(|l| l == &format!("Type: {ty}")))
        .map(|(id, _)| id.as_str())
        .collect()
}

/// The functions whose Lambda metric `metric` the alarms read, once per alarm that reads it.
fn watched(resources: &BTreeMap<String, Vec<String>>, metric: &str) -> Vec<String> {
    of_type(resources, "AWS::CloudWatch::Alarm")
        .into_iter()
        .flat_map(|alarm| &resources[alarm])
        .filter(|l| {
            l.contains("Namespace: AWS/Lambda") && l.contains(&format!("MetricName: {metric},"))
        })
        .filter_map(|l| l.split("Value: !Ref ").nth(1))
        .map(|rest| {
            rest.split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn every_function_has_its_errors_in_exactly_one_alarm() {
    let resources = resources(&template());
    let functions = of_type(&resources, "AWS::Serverless::Function");
    assert!(
        functions.contains("LoginFunction") && functions.len() > 20,
        "{functions:?}"
    );
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in watched(&resources, "Errors") {
        *seen.entry(f).or_default() += 1;
    }
    let missing: Vec<_> = functions
        .iter()
        .filter(|f| !seen.contains_key(**f))
        .collect();
    assert!(
        missing.is_empty(),
        "functions whose errors no alarm reads: {missing:?}"
    );
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "in two alarms: {twice:?}");
    let unknown: Vec<_> = seen
        .keys()
        .filter(|f| !functions.contains(f.as_str()))
        .collect();
    assert!(unknown.is_empty(), "alarms on no function: {unknown:?}");
}

#[test]
fn the_throttles_alarm_watches_the_functions_with_reserved_concurrency() {
    let resources = resources(&template());
    let reserved: BTreeSet<String> = of_type(&resources, "AWS::Serverless::Function")
        .into_iter()
        .filter(|f| {
            resources[*f]
                .iter()
                .any(|l| l.starts_with("ReservedConcurrentExecutions:"))
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(reserved.len(), 6, "the argon2id functions: {reserved:?}");
    let throttled: BTreeSet<String> = watched(&resources, "Throttles").into_iter().collect();
    assert_eq!(throttled, reserved);
}

#[test]
fn no_alarm_takes_more_than_ten_metrics() {
    let resources = resources(&template());
    for alarm in of_type(&resources, "AWS::CloudWatch::Alarm") {
        let metrics = resources[alarm]
            .iter()
            .filter(|l| l.starts_with("MetricStat:"))
            .count();
        assert!(
            metrics <= 10,
            "{alarm}: {metrics} metrics (CloudWatch allows 10)"
        );
    }
}
