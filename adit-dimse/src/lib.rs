//! # adit-dimse
//!
//! DIMSE networking on `dicom-ul`: a typed message codec and async drivers for C-ECHO,
//! C-FIND, C-GET, C-MOVE and C-STORE as SCU, plus the C-STORE SCP receiver. It implements
//! the `adit-core` `Source` and `Sink` traits for DIMSE servers.
