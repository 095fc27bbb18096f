# Shared build settings for scripts/ and .ci/run: one build cache outside the clone.
# No RUSTFLAGS are set: flags enter every crate's fingerprint, so a flag that depends on
# what is installed (a faster linker, say) would make the first run on a fresh machine
# and every later one build the whole dependency tree twice.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/triage-target}"
export CARGO_TERM_PROGRESS_WHEN=never
