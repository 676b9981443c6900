//! DIMSE [`Status`] codes, their classes (PS3.7 Annex C) and names.

use std::fmt;

/// A DIMSE status code (0000,0900).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub u16);

/// The class a status belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// 0x0000.
    Success,
    /// 0xFF00 or 0xFF01: more responses follow.
    Pending,
    /// 0xFE00: the operation was cancelled.
    Cancel,
    /// 0x0001, 0x0107, 0x0116, 0xBxxx.
    Warning,
    /// Everything else (0xAxxx, 0xCxxx, 0x01xx, 0x02xx, ...).
    Failure,
}

impl Status {
    /// Success.
    pub const SUCCESS: Status = Status(0x0000);
    /// Pending.
    pub const PENDING: Status = Status(0xFF00);
    /// Pending, some optional keys were not supported.
    pub const PENDING_WARNING: Status = Status(0xFF01);
    /// Cancelled by C-CANCEL.
    pub const CANCEL: Status = Status(0xFE00);
    /// Sub-operations complete, one or more failures or warnings.
    pub const SUB_OPERATIONS_WITH_FAILURES: Status = Status(0xB000);
    /// Out of resources, unable to perform sub-operations (also: our storage failed).
    pub const OUT_OF_RESOURCES_SUB_OPERATIONS: Status = Status(0xA702);
    /// Processing failure.
    pub const PROCESSING_FAILURE: Status = Status(0x0110);
    /// SOP class not supported.
    pub const SOP_CLASS_NOT_SUPPORTED: Status = Status(0x0122);

    /// The class of this status.
    pub fn class(self) -> StatusClass {
        match self.0 {
            0x0000 => StatusClass::Success,
            0xFF00 | 0xFF01 => StatusClass::Pending,
            0xFE00 => StatusClass::Cancel,
            0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => StatusClass::Warning,
            _ => StatusClass::Failure,
        }
    }

    /// Whether more responses follow.
    pub fn is_pending(self) -> bool {
        self.class() == StatusClass::Pending
    }

    /// Success or warning: the operation did what was asked.
    pub fn is_good(self) -> bool {
        matches!(self.class(), StatusClass::Success | StatusClass::Warning)
    }

    /// An "out of resources" failure (0xA7xx), which a later retry may overcome.
    pub fn is_out_of_resources(self) -> bool {
        self.0 & 0xFF00 == 0xA700
    }

    /// The standard meaning of this code, as far as it is the same for every service.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x0000 => "Success",
            0xFF00 => "Pending",
            0xFF01 => "Pending (optional keys not supported)",
            0xFE00 => "Cancelled",
            0x0001 => "Requested optional attributes are not supported",
            0x0107 => "Attribute list error",
            0x0116 => "Attribute value out of range",
            0xB000 => "Sub-operations complete, one or more failures or warnings",
            0xB006 => "Elements discarded",
            0xB007 => "Data set does not match SOP class",
            0x0110 => "Processing failure",
            0x0111 => "Duplicate SOP instance",
            0x0112 => "No such SOP instance",
            0x0117 => "Invalid object instance",
            0x0118 => "No such SOP class",
            0x0122 => "SOP class not supported",
            0x0124 => "Refused: not authorized",
            0x0210 => "Duplicate invocation",
            0x0211 => "Unrecognized operation",
            0x0212 => "Mistyped argument",
            0x0213 => "Resources limitation",
            0xA700 => "Out of resources",
            0xA701 => "Out of resources: unable to calculate number of matches",
            0xA702 => "Out of resources: unable to perform sub-operations",
            0xA801 => "Move destination unknown",
            0xA900 => "Identifier does not match SOP class",
            0xC000..=0xCFFF => "Unable to process",
            0xA000..=0xAFFF => "Refused or error",
            0xB001..=0xBFFF => "Warning",
            _ => "Failure",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04X} {}", self.0, self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_ps3_7_annex_c() {
        let cases = [
            (0x0000, StatusClass::Success),
            (0xFF00, StatusClass::Pending),
            (0xFF01, StatusClass::Pending),
            (0xFE00, StatusClass::Cancel),
            (0x0001, StatusClass::Warning),
            (0x0107, StatusClass::Warning),
            (0x0116, StatusClass::Warning),
            (0xB000, StatusClass::Warning),
            (0xB007, StatusClass::Warning),
            (0xA700, StatusClass::Failure),
            (0xA801, StatusClass::Failure),
            (0xC000, StatusClass::Failure),
            (0xC123, StatusClass::Failure),
            (0x0122, StatusClass::Failure),
            (0x0211, StatusClass::Failure),
        ];
        for (code, class) in cases {
            assert_eq!(Status(code).class(), class, "0x{code:04X}");
        }
        assert!(Status(0xB000).is_good());
        assert!(!Status(0xC000).is_good());
        assert!(Status(0xA702).is_out_of_resources());
        assert!(!Status(0xA801).is_out_of_resources());
    }

    #[test]
    fn displays_code_and_name() {
        assert_eq!(
            Status(0xA801).to_string(),
            "0xA801 Move destination unknown"
        );
        assert_eq!(Status(0xC2F1).to_string(), "0xC2F1 Unable to process");
        assert_eq!(Status::SUCCESS.to_string(), "0x0000 Success");
    }
}
