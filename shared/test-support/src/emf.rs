//! The CloudWatch Embedded Metric Format specification, as a check of one log line: what the
//! tests hold every audit line to. From the specification
//! (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
//!
//! - the root is a JSON object with an `_aws` object holding `Timestamp` (a non-negative
//!   integer, milliseconds since the epoch) and `CloudWatchMetrics`, an array of metric
//!   directives;
//! - a directive has `Namespace` (1 to 1024 characters, not `AWS/...`), `Dimensions` (an
//!   array of dimension sets, each an array of at most 30 strings that each name a root
//!   member whose value is a non-empty string of at most 1024 characters) and `Metrics`
//!   (an array of at most 100 metric definitions);
//! - a definition has `Name` (1 to 1024 characters), naming a root member that is a number
//!   or an array of at most 100 numbers, and an optional `Unit` from the specification's
//!   list (and an optional `StorageResolution` of 1 or 60).

use serde_json::Value;

const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// `Ok` when `line` is a valid Embedded Metric Format record, else why not.
pub fn check(line: &Value) -> Result<(), String> {
    let root = line.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    aws.get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a non-negative integer")?;
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    for directive in directives {
        let namespace = directive["Namespace"]
            .as_str()
            .ok_or("a directive without a Namespace string")?;
        if namespace.is_empty() || namespace.chars().count() > 1024 || namespace.starts_with("AWS/")
        {
            return Err(format!("bad Namespace {namespace:?}"));
        }
        let sets = directive["Dimensions"]
            .as_array()
            .ok_or("Dimensions is not an array")?;
        for set in sets {
            let keys = set.as_array().ok_or("a dimension set is not an array")?;
            if keys.len() > 30 {
                return Err("a dimension set of more than 30 dimensions".into());
            }
            for key in keys {
                let key = key.as_str().ok_or("a dimension name is not a string")?;
                match root.get(key).and_then(Value::as_str) {
                    Some(value) if !value.is_empty() && value.chars().count() <= 1024 => {}
                    _ => return Err(format!("dimension {key:?} is not a root string member")),
                }
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics".into());
        }
        for metric in metrics {
            let name = metric["Name"].as_str().ok_or("a metric without a Name")?;
            if name.is_empty() || name.chars().count() > 1024 {
                return Err(format!("bad metric Name {name:?}"));
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                _ => return Err(format!("metric {name:?} is not a root number member")),
            }
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().ok_or("a Unit that is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("unknown Unit {unit:?}"));
                }
            }
            if let Some(resolution) = metric.get("StorageResolution") {
                if !matches!(resolution.as_u64(), Some(1 | 60)) {
                    return Err("StorageResolution is neither 1 nor 60".into());
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_specification_example_passes_and_broken_records_do_not() {
        // The example of the specification.
        let good = json!({
            "_aws": {
                "Timestamp": 1574109732004u64,
                "CloudWatchMetrics": [{
                    "Namespace": "lambda-function-metrics",
                    "Dimensions": [["functionVersion"]],
                    "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}]
                }]
            },
            "functionVersion": "$LATEST",
            "time": 100,
            "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"
        });
        assert_eq!(check(&good), Ok(()));
        let broken = |edit: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            edit(&mut v);
            check(&v).is_err()
        };
        assert!(broken(&|v| v["_aws"]["Timestamp"] = json!("now")));
        assert!(broken(&|v| v["functionVersion"] = json!(3)));
        assert!(broken(&|v| {
            v.as_object_mut().unwrap().remove("time");
        }));
        assert!(broken(
            &|v| v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Apples")
        ));
        assert!(broken(
            &|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("AWS/Lambda")
        ));
        assert!(broken(&|v| {
            v.as_object_mut().unwrap().remove("_aws");
        }));
    }
}
