//! The `login` Lambda function: `wristband_services::services` has what it does, and
//! `wristband_services::hashing_main` its wiring (this binary is linked at opt-level 2 for argon2id).

fn main() -> Result<(), wristband_http::Error> {
    wristband_services::hashing_main::login()
}
