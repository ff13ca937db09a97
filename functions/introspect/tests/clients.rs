//! INTROSPECTION_CLIENTS and the client check, as properties: any set of clients parses
//! and admits exactly its own (id, secret) pairs; any text parses or is refused naming the
//! variable, never a panic.

use introspect::clients::{secret_hash, Clients, VARIABLE};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn clients_admit_exactly_their_own_secrets(
        clients in proptest::collection::btree_map("[a-z0-9._-]{1,20}", "[ -~]{0,30}", 1..5),
        stranger in "[A-Z]{1,5}",
        other_secret in "[ -~]{0,30}",
    ) {
        let text = serde_json::to_string(
            &clients.iter().map(|(id, secret)| (id.clone(), secret_hash(secret))).collect::<std::collections::BTreeMap<_, _>>(),
        ).unwrap();
        let parsed = Clients::parse(&text).unwrap();
        for (id, secret) in &clients {
            prop_assert!(parsed.check(id, secret).is_ok());
            if other_secret != *secret {
                prop_assert!(parsed.check(id, &other_secret).is_err());
            }
            prop_assert!(parsed.check(&stranger, secret).is_err());
        }
    }

    #[test]
    fn any_text_parses_or_is_refused_by_name(text in any::<String>()) {
        if let Err(err) = Clients::parse(&text) {
            prop_assert!(err.to_string().contains(VARIABLE));
        }
    }
}
