//! DICOM PS3.15 Table E.1-1 (Application Level Confidentiality Profile Attributes) as data.
//!
//! One row per attribute of the standard's table, in tag order: the Basic Profile action and
//! the action of every option column that names the attribute. Transcribed from the DICOM
//! standard, release 2024b; regenerate rather than edit by hand when the standard changes.

use super::table::{
    C, D, Entry, K, N, U, X, X_D, X_Z, X_Z_D, X_Z_U, Y, Z, Z_D, e, masked, private,
};

/// The 617 rows of Table E.1-1 that name one tag, sorted by tag.
pub(super) static EXACT: [Entry; 617] = [
    e(0x0000_1000, "Affected SOP Instance UID", N, X).uids(K),
    e(0x0000_1001, "Requested SOP Instance UID", N, U).uids(K),
    e(0x0002_0003, "Media Storage SOP Instance UID", N, U).uids(K),
    e(0x0004_1511, "Referenced SOP Instance UID in File", N, U).uids(K),
    e(0x0008_0012, "Instance Creation Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0013, "Instance Creation Time", Y, X_Z_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0014, "Instance Creator UID", Y, U).uids(K),
    e(0x0008_0015, "Instance Coercion DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0017, "Acquisition UID", Y, U).uids(K),
    e(0x0008_0018, "SOP Instance UID", Y, U).uids(K),
    e(0x0008_0019, "Pyramid UID", Y, U).uids(K),
    e(0x0008_0020, "Study Date", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0021, "Series Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0022, "Acquisition Date", Y, X_Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0023, "Content Date", Y, Z_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0024, "Overlay Date", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0025, "Curve Date", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_002A, "Acquisition DateTime", Y, X_Z_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0030, "Study Time", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0031, "Series Time", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0032, "Acquisition Time", Y, X_Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0033, "Content Time", Y, Z_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0034, "Overlay Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0035, "Curve Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0050, "Accession Number", Y, Z),
    e(0x0008_0054, "Retrieve AE Title", Y, X).device(C),
    e(0x0008_0055, "Station AE Title", Y, X).device(C),
    e(0x0008_0058, "Failed SOP Instance UID List", N, U).uids(K),
    e(0x0008_0080, "Institution Name", Y, X_Z_D).institution(K),
    e(0x0008_0081, "Institution Address", Y, X).institution(K),
    e(0x0008_0082, "Institution Code Sequence", Y, X_Z_D).institution(K),
    e(0x0008_0090, "Referring Physician's Name", Y, Z),
    e(0x0008_0092, "Referring Physician's Address", N, X),
    e(0x0008_0094, "Referring Physician's Telephone Numbers", N, X),
    e(
        0x0008_0096,
        "Referring Physician Identification Sequence",
        Y,
        X,
    ),
    e(0x0008_009C, "Consulting Physician's Name", Y, Z),
    e(
        0x0008_009D,
        "Consulting Physician Identification Sequence",
        Y,
        X,
    ),
    e(0x0008_0106, "Context Group Version", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0107, "Context Group Local Version", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_0201, "Timezone Offset From UTC", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0008_1000, "Network ID", N, X).device(C),
    e(0x0008_1010, "Station Name", Y, X_Z_D).device(K),
    e(0x0008_1030, "Study Description", Y, X).descriptors(C),
    e(0x0008_103E, "Series Description", Y, X).descriptors(C),
    e(0x0008_1040, "Institutional Department Name", Y, X).institution(K),
    e(
        0x0008_1041,
        "Institutional Department Type Code Sequence",
        Y,
        X,
    )
    .institution(K),
    e(0x0008_1048, "Physician(s) of Record", Y, X),
    e(
        0x0008_1049,
        "Physician(s) of Record Identification Sequence",
        Y,
        X,
    ),
    e(0x0008_1050, "Performing Physician's Name", Y, X),
    e(
        0x0008_1052,
        "Performing Physician Identification Sequence",
        Y,
        X,
    ),
    e(0x0008_1060, "Name of Physician(s) Reading Study", Y, X),
    e(
        0x0008_1062,
        "Physician(s) Reading Study Identification Sequence",
        Y,
        X,
    ),
    e(0x0008_1070, "Operators' Name", Y, X_Z_D),
    e(0x0008_1072, "Operator Identification Sequence", Y, X_D),
    e(0x0008_1080, "Admitting Diagnoses Description", Y, X).descriptors(C),
    e(0x0008_1084, "Admitting Diagnoses Code Sequence", Y, X).descriptors(C),
    e(0x0008_1088, "Pyramid Description", Y, X).descriptors(C),
    e(0x0008_1110, "Referenced Study Sequence", Y, X_Z).uids(K),
    e(
        0x0008_1111,
        "Referenced Performed Procedure Step Sequence",
        Y,
        X_Z_D,
    )
    .uids(K),
    e(0x0008_1120, "Referenced Patient Sequence", Y, X).uids(K),
    e(0x0008_1140, "Referenced Image Sequence", Y, X_Z_U).uids(K),
    e(0x0008_1155, "Referenced SOP Instance UID", Y, U).uids(K),
    e(0x0008_1195, "Transaction UID", N, U).uids(K),
    e(0x0008_2111, "Derivation Description", Y, X).descriptors(C),
    e(0x0008_2112, "Source Image Sequence", Y, X_Z_U).uids(K),
    e(0x0008_3010, "Irradiation Event UID", Y, U).uids(K),
    e(0x0008_4000, "Identifying Comments", N, X).descriptors(C),
    e(0x0010_0010, "Patient's Name", Y, Z),
    e(0x0010_0020, "Patient ID", Y, Z_D),
    e(0x0010_0021, "Issuer of Patient ID", Y, X),
    e(0x0010_0030, "Patient's Birth Date", Y, Z),
    e(0x0010_0032, "Patient's Birth Time", Y, X),
    e(0x0010_0040, "Patient's Sex", Y, Z).patient_chars(K),
    e(0x0010_0050, "Patient's Insurance Plan Code Sequence", Y, X),
    e(
        0x0010_0101,
        "Patient's Primary Language Code Sequence",
        Y,
        X,
    ),
    e(
        0x0010_0102,
        "Patient's Primary Language Modifier Code Sequence",
        Y,
        X,
    ),
    e(0x0010_1000, "Other Patient IDs", Y, X),
    e(0x0010_1001, "Other Patient Names", Y, X),
    e(0x0010_1002, "Other Patient IDs Sequence", Y, X),
    e(0x0010_1005, "Patient's Birth Name", N, X),
    e(0x0010_1010, "Patient's Age", Y, X).patient_chars(K),
    e(0x0010_1020, "Patient's Size", Y, X).patient_chars(K),
    e(0x0010_1030, "Patient's Weight", Y, X).patient_chars(K),
    e(0x0010_1040, "Patient's Address", N, X),
    e(0x0010_1050, "Insurance Plan Identification", N, X),
    e(0x0010_1060, "Patient's Mother's Birth Name", N, X),
    e(0x0010_1080, "Military Rank", N, X),
    e(0x0010_1081, "Branch of Service", N, X),
    e(0x0010_1090, "Medical Record Locator", N, X),
    e(0x0010_1100, "Referenced Patient Photo Sequence", Y, X),
    e(0x0010_2000, "Medical Alerts", N, X).descriptors(C),
    e(0x0010_2110, "Allergies", N, X)
        .patient_chars(C)
        .descriptors(C),
    e(0x0010_2150, "Country of Residence", N, X),
    e(0x0010_2152, "Region of Residence", N, X),
    e(0x0010_2154, "Patient's Telephone Numbers", N, X),
    e(0x0010_2155, "Patient's Telecom Information", N, X),
    e(0x0010_2160, "Ethnic Group", Y, X).patient_chars(K),
    e(0x0010_2180, "Occupation", Y, X).descriptors(C),
    e(0x0010_21A0, "Smoking Status", N, X).patient_chars(K),
    e(0x0010_21B0, "Additional Patient History", Y, X).descriptors(C),
    e(0x0010_21C0, "Pregnancy Status", N, X).patient_chars(K),
    e(0x0010_21D0, "Last Menstrual Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0010_21F0, "Patient's Religious Preference", N, X),
    e(0x0010_2203, "Patient's Sex Neutered", Y, X_Z).patient_chars(K),
    e(0x0010_2297, "Responsible Person", Y, X),
    e(0x0010_2299, "Responsible Organization", Y, X),
    e(0x0010_4000, "Patient Comments", Y, X).descriptors(C),
    e(0x0012_0010, "Clinical Trial Sponsor Name", Y, D),
    e(0x0012_0020, "Clinical Trial Protocol ID", Y, D),
    e(0x0012_0021, "Clinical Trial Protocol Name", Y, Z),
    e(0x0012_0022, "Issuer of Clinical Trial Protocol ID", Y, X),
    e(
        0x0012_0023,
        "Other Clinical Trial Protocol IDs Sequence",
        Y,
        X,
    ),
    e(0x0012_0030, "Clinical Trial Site ID", Y, Z).institution(K),
    e(0x0012_0031, "Clinical Trial Site Name", Y, Z).institution(K),
    e(0x0012_0032, "Issuer of Clinical Trial Site ID", Y, X),
    e(0x0012_0040, "Clinical Trial Subject ID", Y, D),
    e(0x0012_0041, "Issuer of Clinical Trial Subject ID", Y, X),
    e(0x0012_0042, "Clinical Trial Subject Reading ID", Y, D),
    e(
        0x0012_0043,
        "Issuer of Clinical Trial Subject Reading ID",
        Y,
        X,
    ),
    e(0x0012_0050, "Clinical Trial Time Point ID", Y, Z),
    e(0x0012_0051, "Clinical Trial Time Point Description", Y, X).descriptors(C),
    e(0x0012_0055, "Issuer of Clinical Trial Time Point ID", Y, X),
    e(0x0012_0060, "Clinical Trial Coordinating Center Name", Y, Z).institution(K),
    e(0x0012_0071, "Clinical Trial Series ID", Y, X),
    e(0x0012_0072, "Clinical Trial Series Description", Y, X).descriptors(C),
    e(0x0012_0073, "Issuer of Clinical Trial Series ID", Y, X),
    e(
        0x0012_0081,
        "Clinical Trial Protocol Ethics Committee Name",
        Y,
        D,
    )
    .institution(K),
    e(
        0x0012_0082,
        "Clinical Trial Protocol Ethics Committee Approval Number",
        Y,
        X,
    ),
    e(
        0x0012_0086,
        "Ethics Committee Approval Effectiveness Start Date",
        Y,
        X,
    )
    .full_dates(K)
    .modified_dates(C),
    e(
        0x0012_0087,
        "Ethics Committee Approval Effectiveness End Date",
        Y,
        X,
    )
    .full_dates(K)
    .modified_dates(C),
    e(0x0014_407C, "Calibration Time", N, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0014_407E, "Calibration Date", N, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0016_002B, "Maker Note", Y, X).descriptors(C),
    e(0x0016_004B, "Device Setting Description", Y, X).descriptors(C),
    e(0x0016_004D, "Camera Owner Name", Y, X),
    e(0x0016_004E, "Lens Specification", Y, X).device(K),
    e(0x0016_004F, "Lens Make", Y, X).device(K),
    e(0x0016_0050, "Lens Model", Y, X).device(K),
    e(0x0016_0051, "Lens Serial Number", Y, X).device(K),
    e(0x0016_0070, "GPS Version ID", Y, X),
    e(0x0016_0071, "GPS Latitude Ref", Y, X),
    e(0x0016_0072, "GPS Latitude", Y, X),
    e(0x0016_0073, "GPS Longitude Ref", Y, X),
    e(0x0016_0074, "GPS Longitude", Y, X),
    e(0x0016_0075, "GPS Altitude Ref", Y, X),
    e(0x0016_0076, "GPS Altitude", Y, X),
    e(0x0016_0077, "GPS Time Stamp", Y, X),
    e(0x0016_0078, "GPS Satellites", Y, X),
    e(0x0016_0079, "GPS Status", Y, X),
    e(0x0016_007A, "GPS Measure Mode", Y, X),
    e(0x0016_007B, "GPS DOP", Y, X),
    e(0x0016_007C, "GPS Speed Ref", Y, X),
    e(0x0016_007D, "GPS Speed", Y, X),
    e(0x0016_007E, "GPS Track Ref", Y, X),
    e(0x0016_007F, "GPS Track", Y, X),
    e(0x0016_0080, "GPS Img Direction Ref", Y, X),
    e(0x0016_0081, "GPS Img Direction", Y, X),
    e(0x0016_0082, "GPS Map Datum", Y, X),
    e(0x0016_0083, "GPS Dest Latitude Ref", Y, X),
    e(0x0016_0084, "GPS Dest Latitude", Y, X),
    e(0x0016_0085, "GPS Dest Longitude Ref", Y, X),
    e(0x0016_0086, "GPS Dest Longitude", Y, X),
    e(0x0016_0087, "GPS Dest Bearing Ref", Y, X),
    e(0x0016_0088, "GPS Dest Bearing", Y, X),
    e(0x0016_0089, "GPS Dest Distance Ref", Y, X),
    e(0x0016_008A, "GPS Dest Distance", Y, X),
    e(0x0016_008B, "GPS Processing Method", Y, X),
    e(0x0016_008C, "GPS Area Information", Y, X),
    e(0x0016_008D, "GPS Date Stamp", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0016_008E, "GPS Differential", Y, X),
    e(0x0018_0010, "Contrast/Bolus Agent", Y, Z_D).descriptors(C),
    e(0x0018_0027, "Intervention Drug Stop Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_0035, "Intervention Drug Start Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1000, "Device Serial Number", Y, X_Z_D).device(K),
    e(0x0018_1002, "Device UID", Y, U).uids(K).device(K),
    e(0x0018_1004, "Plate ID", Y, X).device(K),
    e(0x0018_1005, "Generator ID", Y, X).device(K),
    e(0x0018_1007, "Cassette ID", Y, X).device(K),
    e(0x0018_1008, "Gantry ID", Y, X).device(K),
    e(0x0018_1009, "Unique Device Identifier", Y, X).device(K),
    e(0x0018_100A, "UDI Sequence", Y, X).device(K),
    e(0x0018_100B, "Manufacturer's Device Class UID", Y, U)
        .uids(K)
        .device(K),
    e(0x0018_1012, "Date of Secondary Capture", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1014, "Time of Secondary Capture", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1030, "Protocol Name", Y, X_D).descriptors(C),
    e(0x0018_1042, "Contrast/Bolus Start Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1043, "Contrast/Bolus Stop Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1072, "Radiopharmaceutical Start Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1073, "Radiopharmaceutical Stop Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1078, "Radiopharmaceutical Start DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1079, "Radiopharmaceutical Stop DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_11BB, "Acquisition Field Of View Label", Y, D).descriptors(C),
    e(0x0018_1200, "Date of Last Calibration", Y, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1201, "Time of Last Calibration", Y, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1202, "DateTime of Last Calibration", N, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1203, "Calibration DateTime", Y, Z)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1204, "Date of Manufacture", Y, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_1205, "Date of Installation", Y, X)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(
        0x0018_1400,
        "Acquisition Device Processing Description",
        Y,
        X_D,
    )
    .descriptors(C),
    e(0x0018_2042, "Target UID", Y, U).uids(K),
    e(0x0018_4000, "Acquisition Comments", N, X).descriptors(C),
    e(0x0018_5011, "Transducer Identification Sequence", Y, X).device(K),
    e(0x0018_700A, "Detector ID", Y, X_D).device(K),
    e(0x0018_700C, "Date of Last Detector Calibration", Y, X_D)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_700E, "Time of Last Detector Calibration", Y, X_D)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9074, "Frame Acquisition DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9151, "Frame Reference DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(
        0x0018_9185,
        "Respiratory Motion Compensation Technique Description",
        Y,
        X,
    )
    .descriptors(C),
    e(0x0018_9367, "X-Ray Source ID", Y, D).device(K),
    e(0x0018_9369, "Source Start DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_936A, "Source End DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9371, "X-Ray Detector ID", Y, D).device(K),
    e(0x0018_9373, "X-Ray Detector Label", Y, X).device(K),
    e(0x0018_937B, "Multi-energy Acquisition Description", Y, X).descriptors(C),
    e(0x0018_937F, "Decomposition Description", Y, X).descriptors(C),
    e(0x0018_9424, "Acquisition Protocol Description", Y, X).descriptors(C),
    e(0x0018_9516, "Start Acquisition DateTime", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9517, "End Acquisition DateTime", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9623, "Functional Sync Pulse", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9701, "Decay Correction DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9804, "Exclusion Start DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9919, "Instruction Performed DateTime", Y, Z_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_9937, "Requested Series Description", Y, X).descriptors(C),
    e(0x0018_A002, "Contribution DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0018_A003, "Contribution Description", Y, X).descriptors(C),
    e(0x0020_000D, "Study Instance UID", Y, U).uids(K),
    e(0x0020_000E, "Series Instance UID", Y, U).uids(K),
    e(0x0020_0010, "Study ID", Y, Z),
    e(0x0020_0027, "Pyramid Label", Y, X).descriptors(C),
    e(0x0020_0052, "Frame of Reference UID", Y, U).uids(K),
    e(0x0020_0200, "Synchronization Frame of Reference UID", Y, U).uids(K),
    e(0x0020_3401, "Modifying Device ID", N, X).device(K),
    e(0x0020_3403, "Modified Image Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0020_3405, "Modified Image Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0020_3406, "Modified Image Description", N, X),
    e(0x0020_4000, "Image Comments", Y, X).descriptors(C),
    e(0x0020_9158, "Frame Comments", Y, X).descriptors(C),
    e(0x0020_9161, "Concatenation UID", Y, U).uids(K),
    e(0x0020_9164, "Dimension Organization UID", Y, U).uids(K),
    e(0x0028_1199, "Palette Color Lookup Table UID", Y, U).uids(K),
    e(0x0028_1214, "Large Palette Color Lookup Table UID", N, U).uids(K),
    e(0x0028_4000, "Image Presentation Comments", N, X),
    e(0x0032_0012, "Study ID Issuer", N, X),
    e(0x0032_0032, "Study Verified Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_0033, "Study Verified Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_0034, "Study Read Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_0035, "Study Read Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1000, "Scheduled Study Start Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1001, "Scheduled Study Start Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1010, "Scheduled Study Stop Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1011, "Scheduled Study Stop Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1020, "Scheduled Study Location", N, X).device(K),
    e(0x0032_1021, "Scheduled Study Location AE Title", N, X).device(C),
    e(0x0032_1030, "Reason for Study", N, X).descriptors(C),
    e(0x0032_1032, "Requesting Physician", N, X),
    e(0x0032_1033, "Requesting Service", N, X),
    e(0x0032_1040, "Study Arrival Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1041, "Study Arrival Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1050, "Study Completion Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1051, "Study Completion Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0032_1060, "Requested Procedure Description", Y, X_Z).descriptors(C),
    e(0x0032_1066, "Reason for Visit", Y, X).descriptors(C),
    e(0x0032_1067, "Reason for Visit Code Sequence", Y, X).descriptors(C),
    e(0x0032_1070, "Requested Contrast Agent", N, X).descriptors(C),
    e(0x0032_4000, "Study Comments", N, X).descriptors(C),
    e(0x0034_0001, "Flow Identifier Sequence", Y, D),
    e(0x0034_0002, "Flow Identifier", Y, D),
    e(0x0034_0005, "Source Identifier", Y, D),
    e(0x0034_0007, "Frame Origin Timestamp", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_0004, "Referenced Patient Alias Sequence", N, X),
    e(0x0038_0010, "Admission ID", Y, X),
    e(0x0038_0011, "Issuer of Admission ID", Y, X),
    e(0x0038_0014, "Issuer of Admission ID Sequence", Y, X),
    e(0x0038_001A, "Scheduled Admission Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_001B, "Scheduled Admission Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_001C, "Scheduled Discharge Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_001D, "Scheduled Discharge Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_001E, "Scheduled Patient Institution Residence", N, X),
    e(0x0038_0020, "Admitting Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_0021, "Admitting Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_0030, "Discharge Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_0032, "Discharge Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0038_0040, "Discharge Diagnosis Description", N, X).descriptors(C),
    e(0x0038_0050, "Special Needs", N, X).patient_chars(C),
    e(0x0038_0060, "Service Episode ID", Y, X),
    e(0x0038_0061, "Issuer of Service Episode ID", Y, X),
    e(0x0038_0062, "Service Episode Description", Y, X).descriptors(C),
    e(0x0038_0064, "Issuer of Service Episode ID Sequence", Y, X),
    e(0x0038_0300, "Current Patient Location", N, X),
    e(0x0038_0400, "Patient's Institution Residence", N, X),
    e(0x0038_0500, "Patient State", N, X)
        .patient_chars(C)
        .descriptors(C),
    e(0x0038_4000, "Visit Comments", N, X).descriptors(C),
    e(0x003A_0310, "Multiplex Group UID", Y, U).uids(K),
    e(0x003A_0314, "Impedance Measurement DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x003A_0329, "Waveform Filter Description", Y, X).descriptors(C),
    e(0x003A_032B, "Filter Lookup Table Description", Y, X).descriptors(C),
    e(0x0040_0001, "Scheduled Station AE Title", N, X).device(C),
    e(0x0040_0002, "Scheduled Procedure Step Start Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0003, "Scheduled Procedure Step Start Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0004, "Scheduled Procedure Step End Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0005, "Scheduled Procedure Step End Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0006, "Scheduled Performing Physician's Name", N, X),
    e(0x0040_0007, "Scheduled Procedure Step Description", Y, X).descriptors(C),
    e(0x0040_0009, "Scheduled Procedure Step ID", Y, X),
    e(
        0x0040_000B,
        "Scheduled Performing Physician Identification Sequence",
        N,
        X,
    ),
    e(0x0040_0010, "Scheduled Station Name", N, X).device(K),
    e(0x0040_0011, "Scheduled Procedure Step Location", N, X).device(K),
    e(0x0040_0012, "Pre-Medication", N, X).patient_chars(C),
    e(0x0040_0241, "Performed Station AE Title", N, X).device(C),
    e(0x0040_0242, "Performed Station Name", N, X).device(K),
    e(0x0040_0243, "Performed Location", N, X),
    e(0x0040_0244, "Performed Procedure Step Start Date", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0245, "Performed Procedure Step Start Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0250, "Performed Procedure Step End Date", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0251, "Performed Procedure Step End Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_0253, "Performed Procedure Step ID", Y, X),
    e(0x0040_0254, "Performed Procedure Step Description", Y, X).descriptors(C),
    e(0x0040_0275, "Request Attributes Sequence", Y, X).descriptors(C),
    e(
        0x0040_0280,
        "Comments on the Performed Procedure Step",
        Y,
        X,
    )
    .descriptors(C),
    e(0x0040_0310, "Comments on Radiation Dose", Y, X).descriptors(C),
    e(0x0040_050A, "Specimen Accession Number", N, X),
    e(0x0040_0512, "Container Identifier", Y, D),
    e(
        0x0040_0513,
        "Issuer of the Container Identifier Sequence",
        Y,
        Z,
    ),
    e(0x0040_051A, "Container Description", Y, X).descriptors(C),
    e(0x0040_0551, "Specimen Identifier", Y, D),
    e(0x0040_0554, "Specimen UID", Y, U).uids(K),
    e(0x0040_0555, "Acquisition Context Sequence", Y, X_Z).structured_content(C),
    e(
        0x0040_0562,
        "Issuer of the Specimen Identifier Sequence",
        Y,
        Z,
    ),
    e(0x0040_0600, "Specimen Short Description", Y, X).descriptors(C),
    e(0x0040_0602, "Specimen Detailed Description", Y, X).descriptors(C),
    e(0x0040_0610, "Specimen Preparation Sequence", Y, Z).structured_content(C),
    e(0x0040_06FA, "Slide Identifier", N, X),
    e(0x0040_1001, "Requested Procedure ID", N, X),
    e(0x0040_1002, "Reason for the Requested Procedure", Y, X).descriptors(C),
    e(0x0040_1004, "Patient Transport Arrangements", N, X),
    e(0x0040_1005, "Requested Procedure Location", N, X),
    e(
        0x0040_100A,
        "Reason for Requested Procedure Code Sequence",
        Y,
        X,
    )
    .descriptors(C),
    e(0x0040_1010, "Names of Intended Recipients of Results", N, X),
    e(
        0x0040_1011,
        "Intended Recipients of Results Identification Sequence",
        N,
        X,
    ),
    e(0x0040_1101, "Person Identification Code Sequence", Y, D),
    e(0x0040_1102, "Person's Address", Y, X),
    e(0x0040_1103, "Person's Telephone Numbers", Y, X),
    e(0x0040_1104, "Person's Telecom Information", Y, X),
    e(0x0040_1400, "Requested Procedure Comments", N, X).descriptors(C),
    e(0x0040_2001, "Reason for the Imaging Service Request", N, X).descriptors(C),
    e(0x0040_2004, "Issue Date of Imaging Service Request", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_2005, "Issue Time of Imaging Service Request", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_2008, "Order Entered By", N, X),
    e(0x0040_2009, "Order Enterer's Location", N, X),
    e(0x0040_2010, "Order Callback Phone Number", N, X),
    e(0x0040_2011, "Order Callback Telecom Information", N, X),
    e(
        0x0040_2016,
        "Placer Order Number / Imaging Service Request",
        Y,
        Z,
    ),
    e(
        0x0040_2017,
        "Filler Order Number / Imaging Service Request",
        Y,
        Z,
    ),
    e(0x0040_2400, "Imaging Service Request Comments", N, X).descriptors(C),
    e(
        0x0040_3001,
        "Confidentiality Constraint on Patient Data Description",
        N,
        X,
    ),
    e(0x0040_4005, "Scheduled Procedure Step Start DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(
        0x0040_4008,
        "Scheduled Procedure Step Expiration DateTime",
        N,
        X,
    )
    .full_dates(K)
    .modified_dates(C),
    e(
        0x0040_4010,
        "Scheduled Procedure Step Modification DateTime",
        N,
        X,
    )
    .full_dates(K)
    .modified_dates(C),
    e(0x0040_4011, "Expected Completion DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(
        0x0040_4023,
        "Referenced General Purpose Scheduled Procedure Step Transaction UID",
        N,
        U,
    )
    .uids(K),
    e(0x0040_4025, "Scheduled Station Name Code Sequence", N, X).device(K),
    e(
        0x0040_4027,
        "Scheduled Station Geographic Location Code Sequence",
        N,
        X,
    )
    .device(K),
    e(0x0040_4028, "Performed Station Name Code Sequence", N, X).device(K),
    e(
        0x0040_4030,
        "Performed Station Geographic Location Code Sequence",
        N,
        X,
    )
    .device(K),
    e(0x0040_4034, "Scheduled Human Performers Sequence", N, X),
    e(0x0040_4035, "Actual Human Performers Sequence", N, X),
    e(0x0040_4036, "Human Performer's Organization", N, X),
    e(0x0040_4037, "Human Performer's Name", N, X),
    e(0x0040_4050, "Performed Procedure Step Start DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_4051, "Performed Procedure Step End DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_4052, "Procedure Step Cancellation DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A023, "Findings Group Recording Date (Trial)", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A024, "Findings Group Recording Time (Trial)", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A027, "Verifying Organization", Y, D),
    e(0x0040_A030, "Verification DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A032, "Observation DateTime", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A033, "Observation Start DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A073, "Verifying Observer Sequence", Y, D),
    e(0x0040_A075, "Verifying Observer Name", Y, D),
    e(0x0040_A078, "Author Observer Sequence", Y, X),
    e(0x0040_A07A, "Participant Sequence", Y, X),
    e(0x0040_A07C, "Custodial Organization Sequence", Y, X),
    e(0x0040_A082, "Participation DateTime", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(
        0x0040_A088,
        "Verifying Observer Identification Code Sequence",
        Y,
        Z,
    ),
    e(
        0x0040_A110,
        "Date of Document or Verbal Transaction (Trial)",
        N,
        X,
    )
    .full_dates(K)
    .modified_dates(C),
    e(
        0x0040_A112,
        "Time of Document Creation or Verbal Transaction (Trial)",
        N,
        X,
    )
    .full_dates(K)
    .modified_dates(C),
    e(0x0040_A120, "DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A121, "Date", Y, D).full_dates(K).modified_dates(C),
    e(0x0040_A122, "Time", Y, D).full_dates(K).modified_dates(C),
    e(0x0040_A123, "Person Name", Y, D),
    e(0x0040_A124, "UID", Y, U),
    e(0x0040_A13A, "Referenced DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A171, "Observation UID", Y, U).uids(K),
    e(0x0040_A172, "Referenced Observation UID (Trial)", N, U).uids(K),
    e(0x0040_A192, "Observation Date (Trial)", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A193, "Observation Time (Trial)", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_A307, "Current Observer (Trial)", N, X),
    e(0x0040_A352, "Verbal Source (Trial)", N, X),
    e(0x0040_A353, "Address (Trial)", N, X),
    e(0x0040_A354, "Telephone Number (Trial)", N, X),
    e(
        0x0040_A358,
        "Verbal Source Identifier Code Sequence (Trial)",
        N,
        X,
    ),
    e(0x0040_A402, "Observation Subject UID (Trial)", N, U).uids(K),
    e(0x0040_A730, "Content Sequence", Y, D).structured_content(C),
    e(0x0040_DB06, "Template Version", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_DB07, "Template Local Version", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0040_DB0C, "Template Extension Organization UID", N, U).uids(K),
    e(0x0040_DB0D, "Template Extension Creator UID", N, U).uids(K),
    e(0x0040_E004, "HL7 Document Effective Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0042_0011, "Encapsulated Document", Y, D),
    e(0x0044_0004, "Approval Status DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0044_000B, "Product Expiration DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0044_0010, "Substance Administration DateTime", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0044_0104, "Assertion DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0044_0105, "Assertion Expiration DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0050_001B, "Container Component ID", Y, X),
    e(0x0050_0020, "Device Description", Y, X).device(K),
    e(0x0050_0021, "Long Device Description", Y, X).descriptors(C),
    e(0x0062_0021, "Tracking UID", Y, U).uids(K),
    e(0x0064_0003, "Source Frame of Reference UID", Y, U).uids(K),
    e(0x0068_6226, "Effective DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0068_6270, "Information Issue DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x006A_0003, "Annotation Group UID", Y, D).uids(K),
    e(0x006A_0005, "Annotation Group Label", Y, D).descriptors(C),
    e(0x006A_0006, "Annotation Group Description", Y, X).descriptors(C),
    e(0x0070_0001, "Graphic Annotation Sequence", Y, D).graphics(C),
    e(0x0070_0082, "Presentation Creation Date", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0070_0083, "Presentation Creation Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0070_0084, "Content Creator's Name", Y, Z_D),
    e(
        0x0070_0086,
        "Content Creator's Identification Code Sequence",
        Y,
        X,
    ),
    e(0x0070_031A, "Fiducial UID", Y, U).uids(K),
    e(0x0070_1101, "Presentation Display Collection UID", Y, U).uids(K),
    e(0x0070_1102, "Presentation Sequence Collection UID", Y, U).uids(K),
    e(0x0072_000A, "Hanging Protocol Creation DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0072_005E, "Selector AE Value", Y, D).device(C),
    e(0x0072_005F, "Selector AS Value", Y, D).patient_chars(K),
    e(0x0072_0061, "Selector DA Value", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0072_0063, "Selector DT Value", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0072_0065, "Selector OB Value", Y, D),
    e(0x0072_0066, "Selector LO Value", Y, D).descriptors(C),
    e(0x0072_0068, "Selector LT Value", Y, D).descriptors(C),
    e(0x0072_006A, "Selector PN Value", Y, D),
    e(0x0072_006B, "Selector TM Value", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0072_006C, "Selector SH Value", Y, D).descriptors(C),
    e(0x0072_006D, "Selector UN Value", Y, D),
    e(0x0072_006E, "Selector ST Value", Y, D).descriptors(C),
    e(0x0072_0070, "Selector UT Value", Y, D).descriptors(C),
    e(0x0072_0071, "Selector UR Value", Y, D),
    e(0x0074_1234, "Receiving AE", N, X).device(C),
    e(0x0074_1236, "Requesting AE", N, X).device(C),
    e(0x0088_0140, "Storage Media File-set UID", Y, U).uids(K),
    e(
        0x0088_0200,
        "Icon Image Sequence

(see Note 11)",
        Y,
        X,
    ),
    e(0x0088_0904, "Topic Title", N, X),
    e(0x0088_0906, "Topic Subject", N, X),
    e(0x0088_0910, "Topic Author", N, X),
    e(0x0088_0912, "Topic Keywords", N, X),
    e(0x0100_0420, "SOP Authorization DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0400_0100, "Digital Signature UID", Y, U),
    e(0x0400_0105, "Digital Signature DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0400_0115, "Certificate of Signer", Y, D),
    e(0x0400_0310, "Certified Timestamp", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x0400_0402, "Referenced Digital Signature Sequence", Y, X),
    e(0x0400_0403, "Referenced SOP Instance MAC Sequence", Y, X),
    e(0x0400_0404, "MAC", Y, X),
    e(0x0400_0550, "Modified Attributes Sequence", N, X),
    e(
        0x0400_0551,
        "Nonconforming Modified Attributes Sequence",
        N,
        X,
    ),
    e(0x0400_0552, "Nonconforming Data Element Value", N, X),
    e(0x0400_0561, "Original Attributes Sequence", Y, X),
    e(0x0400_0562, "Attribute Modification DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x0400_0563, "Modifying System", Y, D).device(K),
    e(0x0400_0564, "Source of Previous Values", Y, Z).institution(K),
    e(0x0400_0565, "Reason for the Attribute Modification", Y, D).descriptors(C),
    e(0x0400_0600, "Instance Origin Status", Y, X),
    e(0x2030_0020, "Text String", N, X),
    e(0x2100_0040, "Creation Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x2100_0050, "Creation Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x2100_0070, "Originator", N, X).device(C),
    e(0x2100_0140, "Destination AE", Y, D).device(C),
    e(0x2200_0002, "Label Text", Y, X_Z).descriptors(C),
    e(0x2200_0005, "Barcode Value", Y, X_Z),
    e(0x3002_0121, "Position Acquisition Template Name", Y, X).descriptors(C),
    e(
        0x3002_0123,
        "Position Acquisition Template Description",
        Y,
        X,
    )
    .descriptors(C),
    e(0x3006_0002, "Structure Set Label", Y, D).descriptors(C),
    e(0x3006_0004, "Structure Set Name", Y, X).descriptors(C),
    e(0x3006_0006, "Structure Set Description", Y, X).descriptors(C),
    e(0x3006_0008, "Structure Set Date", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x3006_0009, "Structure Set Time", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x3006_0024, "Referenced Frame of Reference UID", Y, U).uids(K),
    e(0x3006_0026, "ROI Name", Y, Z).descriptors(C),
    e(0x3006_0028, "ROI Description", Y, X).descriptors(C),
    e(0x3006_002D, "ROI DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x3006_002E, "ROI Observation DateTime", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x3006_0038, "ROI Generation Description", Y, X).descriptors(C),
    e(0x3006_004D, "ROI Creator Sequence", Y, X),
    e(0x3006_004E, "ROI Interpreter Sequence", Y, X),
    e(0x3006_0085, "ROI Observation Label", Y, X).descriptors(C),
    e(0x3006_0088, "ROI Observation Description", Y, X).descriptors(C),
    e(0x3006_00A6, "ROI Interpreter", Y, Z),
    e(0x3006_00C2, "Related Frame of Reference UID", N, U).uids(K),
    e(0x3008_0024, "Treatment Control Point Date", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0025, "Treatment Control Point Time", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0054, "First Treatment Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0056, "Most Recent Treatment Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0105, "Source Serial Number", Y, X_Z).device(K),
    e(0x3008_0162, "Safe Position Exit Date", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0164, "Safe Position Exit Time", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0166, "Safe Position Return Date", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0168, "Safe Position Return Time", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0250, "Treatment Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3008_0251, "Treatment Time", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_0002, "RT Plan Label", Y, D).descriptors(C),
    e(0x300A_0003, "RT Plan Name", Y, X).descriptors(C),
    e(0x300A_0004, "RT Plan Description", Y, X).descriptors(C),
    e(0x300A_0006, "RT Plan Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_0007, "RT Plan Time", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_000B, "Treatment Sites", N, X).descriptors(C),
    e(0x300A_000E, "Prescription Description", Y, X).descriptors(C),
    e(0x300A_0013, "Dose Reference UID", Y, U).uids(K),
    e(0x300A_0016, "Dose Reference Description", Y, X).descriptors(C),
    e(0x300A_0072, "Fraction Group Description", Y, X).descriptors(C),
    e(0x300A_0083, "Referenced Dose Reference UID", Y, U).uids(K),
    e(0x300A_00B2, "Treatment Machine Name", Y, X_Z).device(K),
    e(0x300A_00C3, "Beam Description", Y, X).descriptors(C),
    e(0x300A_00DD, "Bolus Description", Y, X).descriptors(C),
    e(0x300A_0196, "Fixation Device Description", Y, X).descriptors(C),
    e(0x300A_01A6, "Shielding Device Description", Y, X).descriptors(C),
    e(0x300A_01B2, "Setup Technique Description", Y, X).descriptors(C),
    e(0x300A_0216, "Source Manufacturer", Y, X).device(K),
    e(0x300A_022C, "Source Strength Reference Date", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_022E, "Source Strength Reference Time", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_02EB, "Compensator Description", Y, X).descriptors(C),
    e(0x300A_0608, "Treatment Position Group Label", Y, D).descriptors(C),
    e(0x300A_0609, "Treatment Position Group UID", Y, U).uids(K),
    e(0x300A_0611, "RT Accessory Holder Slot ID", Y, Z),
    e(0x300A_0615, "RT Accessory Device Slot ID", Y, Z),
    e(0x300A_0619, "Radiation Dose Identification Label", Y, D).descriptors(C),
    e(
        0x300A_0623,
        "Radiation Dose In-Vivo Measurement Label",
        Y,
        D,
    )
    .descriptors(C),
    e(0x300A_062A, "RT Tolerance Set Label", Y, D).descriptors(C),
    e(0x300A_0650, "Patient Setup UID", N, U).uids(K),
    e(
        0x300A_0676,
        "Equipment Frame of Reference Description",
        Y,
        X,
    )
    .descriptors(C),
    e(0x300A_067C, "Radiation Generation Mode Label", Y, D).descriptors(C),
    e(0x300A_067D, "Radiation Generation Mode Description", Y, Z).descriptors(C),
    e(0x300A_0700, "Treatment Session UID", Y, U).uids(K),
    e(
        0x300A_0734,
        "Treatment Tolerance Violation Description",
        Y,
        D,
    )
    .descriptors(C),
    e(0x300A_0736, "Treatment Tolerance Violation DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_073A, "Recorded RT Control Point DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_0741, "Interlock DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_0742, "Interlock Description", Y, D).descriptors(C),
    e(0x300A_0760, "Override DateTime", Y, D)
        .full_dates(K)
        .modified_dates(C),
    e(0x300A_0783, "Interlock Origin Description", Y, D).descriptors(C),
    e(0x300A_0785, "Referenced Treatment Position Group UID", Y, U).uids(K),
    e(
        0x300A_078E,
        "Patient Treatment Preparation Procedure Parameter Description",
        Y,
        X,
    )
    .descriptors(C),
    e(
        0x300A_0792,
        "Patient Treatment Preparation Method Description",
        Y,
        X,
    )
    .descriptors(C),
    e(0x300A_0794, "Patient Setup Photo Description", Y, X).descriptors(C),
    e(0x300A_079A, "Displacement Reference Label", Y, X).descriptors(C),
    e(0x300C_0113, "Reason for Omission Description", Y, X).descriptors(C),
    e(0x300C_0127, "Beam Hold Transition DateTime", Y, D)
        .device(K)
        .full_dates(K)
        .modified_dates(C),
    e(0x300E_0004, "Review Date", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x300E_0005, "Review Time", Y, Z)
        .full_dates(K)
        .modified_dates(C),
    e(0x300E_0008, "Reviewer Name", Y, X_Z),
    e(0x3010_0006, "Conceptual Volume UID", Y, U).uids(K),
    e(0x3010_000B, "Referenced Conceptual Volume UID", Y, U).uids(K),
    e(
        0x3010_000F,
        "Conceptual Volume Combination Description",
        Y,
        Z,
    )
    .descriptors(C),
    e(0x3010_0013, "Constituent Conceptual Volume UID", Y, U).uids(K),
    e(0x3010_0015, "Source Conceptual Volume UID", Y, U).uids(K),
    e(0x3010_0017, "Conceptual Volume Description", Y, Z).descriptors(C),
    e(0x3010_001B, "Device Alternate Identifier", Y, Z),
    e(0x3010_002D, "Device Label", Y, D).device(K),
    e(0x3010_0031, "Referenced Fiducials UID", Y, U).uids(K),
    e(0x3010_0033, "User Content Label", Y, D).descriptors(C),
    e(0x3010_0034, "User Content Long Label", Y, D).descriptors(C),
    e(0x3010_0035, "Entity Label", Y, D).descriptors(C),
    e(0x3010_0036, "Entity Name", Y, X).descriptors(C),
    e(0x3010_0037, "Entity Description", Y, X).descriptors(C),
    e(0x3010_0038, "Entity Long Label", Y, D).descriptors(C),
    e(0x3010_003B, "RT Treatment Phase UID", Y, U).uids(K),
    e(0x3010_0043, "Manufacturer's Device Identifier", Y, Z).device(K),
    e(0x3010_004C, "Intended Phase Start Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3010_004D, "Intended Phase End Date", Y, X_D)
        .full_dates(K)
        .modified_dates(C),
    e(0x3010_0054, "RT Prescription Label", Y, D).descriptors(C),
    e(0x3010_0056, "RT Treatment Approach Label", Y, X_D).descriptors(C),
    e(0x3010_005A, "RT Physician Intent Narrative", Y, Z).descriptors(C),
    e(0x3010_005C, "Reason for Superseding", Y, Z).descriptors(C),
    e(0x3010_0061, "Prior Treatment Dose Description", Y, X).descriptors(C),
    e(0x3010_006E, "Dosimetric Objective UID", Y, U).uids(K),
    e(0x3010_006F, "Referenced Dosimetric Objective UID", Y, U).uids(K),
    e(0x3010_0077, "Treatment Site", Y, X_D).descriptors(C),
    e(0x3010_007A, "Treatment Technique Notes", Y, Z).descriptors(C),
    e(0x3010_007B, "Prescription Notes", Y, Z).descriptors(C),
    e(0x3010_007F, "Fractionation Notes", Y, Z).descriptors(C),
    e(0x3010_0081, "Prescription Notes Sequence", Y, Z).descriptors(C),
    e(0x3010_0085, "Intended Fraction Start Time", Y, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4000_0010, "Arbitrary", N, X),
    e(0x4000_4000, "Text Comments", N, X),
    e(0x4008_0040, "Results ID", N, X),
    e(0x4008_0042, "Results ID Issuer", N, X),
    e(0x4008_0100, "Interpretation Recorded Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4008_0101, "Interpretation Recorded Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4008_0102, "Interpretation Recorder", N, X),
    e(0x4008_0108, "Interpretation Transcription Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4008_0109, "Interpretation Transcription Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4008_010A, "Interpretation Transcriber", N, X),
    e(0x4008_010B, "Interpretation Text", N, X).descriptors(C),
    e(0x4008_010C, "Interpretation Author", N, X),
    e(0x4008_0111, "Interpretation Approver Sequence", N, X),
    e(0x4008_0112, "Interpretation Approval Date", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4008_0113, "Interpretation Approval Time", N, X)
        .full_dates(K)
        .modified_dates(C),
    e(0x4008_0114, "Physician Approving Interpretation", N, X),
    e(0x4008_0115, "Interpretation Diagnosis Description", N, X).descriptors(C),
    e(0x4008_0118, "Results Distribution List Sequence", N, X),
    e(0x4008_0119, "Distribution Name", N, X),
    e(0x4008_011A, "Distribution Address", N, X),
    e(0x4008_0200, "Interpretation ID", N, X),
    e(0x4008_0202, "Interpretation ID Issuer", N, X),
    e(0x4008_0300, "Impressions", N, X).descriptors(C),
    e(0x4008_4000, "Results Comments", N, X).descriptors(C),
    e(0xFFFA_FFFA, "Digital Signatures Sequence", Y, X),
    e(0xFFFC_FFFC, "Data Set Trailing Padding", Y, X),
];

/// The 4 rows that match a tag pattern: curves, overlays, private attributes.
pub(super) static PATTERNS: [Entry; 4] = [
    masked(0x5000_0000, 0xFF00_0000, "Curve Data", N, X).graphics(C),
    masked(0x6000_4000, 0xFF00_FFFF, "Overlay Comments", N, X).graphics(C),
    masked(0x6000_3000, 0xFF00_FFFF, "Overlay Data", Y, X).graphics(C),
    private("Private Attributes", N, X).safe_private(C),
];
