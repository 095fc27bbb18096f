//! One TLS crypto provider for the whole process: ring. Every HTTP client (the model
//! endpoint, embeddings, model downloads, the Kubernetes API) uses the process default,
//! so no second provider (aws-lc-rs) needs to be compiled into the default build.

/// Install ring as the process default unless a provider is installed already.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
