//! The administration routes over HTTP, through the `admin` function, with an `admin`
//! token made as an operator would (`wristband-admin roles <u> set admin`, then a login):
//! list, show, disable (the account's tokens refused, its login 403), enable, logout-all,
//! delete (the name free again). Also what the IAM stage of make test needs to see the
//! function call (every grant of its policy used).

use reqwest::{Method, StatusCode};
use serde_json::json;
use wristband_e2e::{call, login, register, set_roles, token, try_login, unique, PASSWORD};

/// A new user with the `admin` role, logged in: its access token.
async fn administrator() -> String {
    let name = unique("admin");
    let credentials = register(&name).await;
    set_roles(&name, "admin");
    token(&login(&credentials).await, "access_token")
}

#[tokio::test]
async fn an_administrator_manages_an_account_over_http() {
    let admin = administrator().await;
    // With an address: deletion frees its claim and sends a notice to it.
    let name = unique("managed");
    let (status, body) = call(
        Method::POST,
        "/register",
        None,
        Some(json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.test")})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let credentials = json!({"username": name, "password": PASSWORD});
    let first = login(&credentials).await;
    let access = token(&first, "access_token");
    let refresh = token(&first, "refresh_token");
    let user_path = format!("/admin/users/{name}");

    // Not an administrator: 403; an unknown name: 404.
    let (status, body) = call(Method::GET, "/admin/users", Some(&access), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    let (status, body) = call(
        Method::GET,
        "/admin/users/nobody-here-at-all",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );

    // The list pages through every account: this one is on some page.
    let mut after: Option<String> = None;
    let mut found = false;
    for _ in 0..1000 {
        let path = match &after {
            Some(a) => format!("/admin/users?after={a}"),
            None => "/admin/users".to_owned(),
        };
        let (status, page) = call(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let users = page["users"].as_array().expect("users");
        assert!(users.len() <= 100);
        found |= users.iter().any(|u| u["username"] == name.as_str());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(found, "{name} in the list");

    let (status, user) = call(Method::GET, &user_path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        (user["username"].as_str(), user["disabled"].as_bool()),
        (Some(name.as_str()), Some(false))
    );
    assert!(user.get("password_hash").is_none() && !user.to_string().contains("argon2"));

    // Disable: its tokens are refused at once, refresh included, and its login is 403.
    let (status, user) = call(
        Method::POST,
        &format!("{user_path}/disable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, user["disabled"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{user}"
    );
    let (status, body) = call(Method::GET, "/protected", Some(&access), None).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("token_revoked"))
    );
    let (status, _) = call(Method::POST, "/refresh", Some(&refresh), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = try_login(&name, PASSWORD).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::FORBIDDEN, json!("account_disabled"))
    );
    // A wrong password stays what it is: no hint that the account exists but is disabled.
    let (status, body) = try_login(&name, "not the password at all").await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::UNAUTHORIZED, json!("invalid_credentials"))
    );

    // Enable: a login works again; no earlier token comes back.
    let (status, user) = call(
        Method::POST,
        &format!("{user_path}/enable"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, user["disabled"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{user}"
    );
    let (status, _) = call(Method::GET, "/protected", Some(&access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Logout-all: two live sessions, both ended.
    let one = token(&login(&credentials).await, "access_token");
    let two = token(&login(&credentials).await, "access_token");
    let (status, body) = call(
        Method::POST,
        &format!("{user_path}/logout-all"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (status, body["message"].clone()),
        (StatusCode::OK, json!("All sessions revoked"))
    );
    for t in [&one, &two] {
        let (status, _) = call(Method::GET, "/protected", Some(t), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    // Delete: 204, then the account is gone and its name free again.
    let live = token(&login(&credentials).await, "access_token");
    let (status, _) = call(Method::DELETE, &user_path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(Method::GET, &user_path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(Method::GET, "/protected", Some(&live), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = try_login(&name, PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    register(&name).await;
}
