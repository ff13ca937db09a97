//! The tables are defined once (`wristband_dynamodb_lite::schema::TABLES`): create-tables
//! makes them from it, and this holds template.yaml's declarations to it.

use std::path::Path;

use wristband_dynamodb_lite::schema::{TableDef, TABLES};

fn template() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("workspace root (shared/dynamodb/..)");
    std::fs::read_to_string(root.join("template.yaml")).expect("template.yaml")
}

/// The lines of resource `name` (from `  Name:` to the next resource at that depth).
fn resource<'a>(template: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| l.trim_end() != header);
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{name} in template.yaml"));
    std::iter::once(first)
        .chain(lines.take_while(|l| {
            l.is_empty() || l.starts_with("   ") || l.trim_start().starts_with('#')
        }))
        .collect()
}

/// (attribute, value) pairs of a list under `key:` with `- AttributeName:` items.
fn pairs(lines: &[&str], key: &str, second: &str) -> Pairs {
    let start = lines
        .iter()
        .position(|l| l.trim() == format!("{key}:"))
        .unwrap_or_else(|| panic!("{key}"));
    let mut out = Vec::new();
    let mut name = None;
    for line in &lines[start + 1..] {
        let t = line.trim();
        if let Some(n) = t.strip_prefix("- AttributeName: ") {
            name = Some(n.to_owned());
        } else if let Some(v) = t.strip_prefix(&format!("{second}: ")) {
            out.push((name.take().expect("AttributeName first"), v.to_owned()));
        } else {
            break;
        }
    }
    out
}

/// (attribute, key type or attribute type) pairs, as the template lists them.
type Pairs = Vec<(String, String)>;

/// The table's key schema, attribute definitions and TTL attribute in template.yaml.
fn declared(def: &TableDef) -> (Pairs, Pairs, Option<String>) {
    let template = template();
    let lines = resource(&template, def.resource);
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == "Type: AWS::DynamoDB::Table"),
        "{}",
        def.resource
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == "BillingMode: PAY_PER_REQUEST"),
        "{}",
        def.resource
    );
    let ttl = lines
        .iter()
        .position(|l| l.trim() == "TimeToLiveSpecification:")
        .map(|i| {
            assert_eq!(lines[i + 2].trim(), "Enabled: true", "{}", def.resource);
            lines[i + 1]
                .trim()
                .strip_prefix("AttributeName: ")
                .expect("TTL AttributeName")
                .to_owned()
        });
    (
        pairs(&lines, "KeySchema", "KeyType"),
        pairs(&lines, "AttributeDefinitions", "AttributeType"),
        ttl,
    )
}

#[test]
fn template_declares_the_tables_of_the_schema() {
    for def in TABLES {
        let (keys, attributes, ttl) = declared(&def);
        let mut want_keys = vec![(def.partition_key.to_owned(), "HASH".to_owned())];
        want_keys.extend(def.sort_key.map(|k| (k.to_owned(), "RANGE".to_owned())));
        assert_eq!(keys, want_keys, "{} KeySchema", def.resource);
        let want_attributes: Vec<_> = want_keys
            .iter()
            .map(|(name, _)| (name.clone(), "S".to_owned()))
            .collect();
        assert_eq!(
            attributes, want_attributes,
            "{} AttributeDefinitions",
            def.resource
        );
        assert_eq!(ttl.as_deref(), def.ttl_attribute, "{} TTL", def.resource);
    }
}

#[test]
fn template_has_no_other_table() {
    let template = template();
    let declared = template.matches("Type: AWS::DynamoDB::Table").count();
    assert_eq!(declared, TABLES.len());
}
