//! The one integration test binary (one link step keeps the build fast).

mod kube;
mod kube_faults;
mod kube_kubectl;
