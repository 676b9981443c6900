//! # adit-queue
//!
//! A durable job queue on `sqlx`: PostgreSQL for scaled deployments, SQLite as the embedded
//! default. It implements the `adit-core` `Queue` trait.
