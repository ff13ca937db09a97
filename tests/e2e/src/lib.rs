//! Black-box HTTP tests live in `tests/`; they need a running `cargo lambda watch`
//! (`WRISTBAND_E2E_URL`), which `make test` starts on a free port.
