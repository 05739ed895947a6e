//! ec2ops: an event-driven incident responder for Amazon EC2.
//!
//! The pipeline is parse ([`event`]) → gather ([`gather`], through the [`ports`]) → analyze ([`analyze`]) →
//! render ([`report`]) → publish. Everything but gathering and publishing is pure and takes the clock as data.
//! The AWS adapters that implement the ports are another crate, `ec2ops-aws` (`aws/`): this one has no AWS SDK
//! dependency.

pub mod analyze;
pub mod budget;
pub mod catalogue;
pub mod config;
pub mod credits;
pub mod diagnostics;
mod documentation;
pub mod event;
pub mod evidence;
pub mod facts;
pub mod gather;
pub mod insights;
mod layering;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod message;
pub mod model;
pub mod pipeline;
pub mod ports;
pub mod pricing;
#[cfg(test)]
mod purity;
pub mod remediation;
pub mod report;
pub mod silence;
#[cfg(feature = "test-util")]
pub mod sim;
pub mod source;
pub mod storm;
pub mod text;
