//! The one integration test binary (one link step keeps the build fast).
