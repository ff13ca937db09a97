//! The `login` Lambda function: `shared::services` has what it does, and
//! `shared::hashing_main` its wiring (this binary is linked at opt-level 2 for argon2id).

fn main() -> Result<(), wristband_http::Error> {
    shared::hashing_main::login()
}
