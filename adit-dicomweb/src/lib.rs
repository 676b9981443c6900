//! # adit-dicomweb
//!
//! DICOMweb for ADIT-RS: a streaming QIDO-RS / WADO-RS / STOW-RS client and the
//! `multipart/related` and DICOM JSON codecs shared with the server's DICOMweb facade.
