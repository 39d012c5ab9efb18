//! Signatures: DSSE envelopes in Sigstore bundles, ECDSA keys, and the OpenSSF Model Signing
//! (OMS) format that the `model-signing` package reads and writes.

pub mod chain;
pub mod dsse;
pub mod keys;
pub mod oms;
pub mod sigstore;
