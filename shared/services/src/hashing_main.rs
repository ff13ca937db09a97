//! `main` of the three functions that run argon2id: login, register and password.
//!
//! Those binaries are linked at opt-level 3 (`Cargo.toml`): under fat LTO the linking
//! package's opt-level is the one the whole program is optimised at, and argon2id needs 3
//! to be fast. Everything monomorphised in a binary's own crate is compiled at that level
//! too, and `serve` is generic over the handler (the runtime, the service stack, every
//! future): so it is instantiated here, in a crate compiled for size, and the binaries'
//! `main` is one call to a function that is not generic.

use wristband_http::{Endpoint, Error};

use crate::{endpoints, App, Keys};

fn block_on(main: impl std::future::Future<Output = Result<(), Error>>) -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(main)
}

/// `main` of the `login` function.
pub fn login() -> Result<(), Error> {
    block_on(async {
        let app = App::init(Keys::ISSUE)?;
        let cors = app.cors.clone();
        wristband_http::serve(&[Endpoint::Login], cors, app, |app, _, req| {
            endpoints::login(app, req)
        })
        .await
    })
}

/// `main` of the `register` function.
pub fn register() -> Result<(), Error> {
    block_on(async {
        let app = App::init(Keys::NONE)?;
        let cors = app.cors.clone();
        wristband_http::serve(&[Endpoint::Register], cors, app, |app, _, req| {
            endpoints::register(app, req)
        })
        .await
    })
}

/// `main` of the `password` function.
pub fn password() -> Result<(), Error> {
    block_on(async {
        let app = App::init(Keys::VERIFY)?;
        let cors = app.cors.clone();
        wristband_http::serve(&[Endpoint::Password], cors, app, |app, _, req| {
            endpoints::change_password(app, req)
        })
        .await
    })
}
