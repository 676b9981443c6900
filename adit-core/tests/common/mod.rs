//! Synthetic test data and test doubles shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use adit_core::instance::Instance;
use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;

/// Description of one synthetic instance.
#[derive(Debug, Clone)]
pub struct Spec {
    pub patient_id: String,
    pub study_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub series_uid: String,
    pub series_number: Option<i32>,
    pub series_description: Option<String>,
    pub modality: String,
    pub sop_uid: String,
    pub pixel_bytes: usize,
}

impl Spec {
    /// Instance `n` of a CT series in study `1.2.826.0.1.3680043.10.1`.
    pub fn new(n: usize) -> Self {
        Self {
            patient_id: "SYN-0001".into(),
            study_uid: "2.25.100".into(),
            study_date: "20190604".into(),
            study_time: "182823.5".into(),
            series_uid: "2.25.100.1".into(),
            series_number: Some(1),
            series_description: Some("Kopf nativ".into()),
            modality: "CT".into(),
            sop_uid: format!("2.25.100.1.{n}"),
            pixel_bytes: 64,
        }
    }

    pub fn modality(mut self, modality: &str) -> Self {
        self.modality = modality.into();
        self
    }

    pub fn series(mut self, uid: &str, number: Option<i32>, description: Option<&str>) -> Self {
        self.series_uid = uid.into();
        self.series_number = number;
        self.series_description = description.map(Into::into);
        self
    }

    pub fn study(mut self, uid: &str) -> Self {
        self.study_uid = uid.into();
        self
    }

    pub fn patient(mut self, id: &str) -> Self {
        self.patient_id = id.into();
        self
    }

    pub fn object(&self) -> InMemDicomObject {
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, self.sop_uid.as_str()),
            DataElement::new(tags::STUDY_DATE, VR::DA, self.study_date.as_str()),
            DataElement::new(tags::STUDY_TIME, VR::TM, self.study_time.as_str()),
            DataElement::new(tags::MODALITY, VR::CS, self.modality.as_str()),
            DataElement::new(tags::PATIENT_NAME, VR::PN, "SYNTHETIC^PATIENT"),
            DataElement::new(tags::PATIENT_ID, VR::LO, self.patient_id.as_str()),
            DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, self.study_uid.as_str()),
            DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, self.series_uid.as_str()),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(8_u16)),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::U8((0..self.pixel_bytes).map(|i| i as u8).collect()),
            ),
        ]);
        if let Some(n) = self.series_number {
            obj.put(DataElement::new(tags::SERIES_NUMBER, VR::IS, n.to_string()));
        }
        if let Some(d) = &self.series_description {
            obj.put(DataElement::new(
                tags::SERIES_DESCRIPTION,
                VR::LO,
                d.as_str(),
            ));
        }
        obj
    }

    pub fn instance(&self) -> Instance {
        Instance::from_dataset_object(self.object(), uids::EXPLICIT_VR_LITTLE_ENDIAN).unwrap()
    }

    pub fn part10(&self) -> Bytes {
        self.instance().to_part10().unwrap()
    }

    /// An undecoded instance whose bytes count themselves in `alive` while they exist.
    pub fn tracked_instance(&self, alive: &Alive) -> Instance {
        let dataset = self.instance().dataset_bytes().unwrap().to_vec();
        let bytes = Bytes::from_owner(Tracked::new(dataset, alive));
        Instance::from_dataset(
            bytes,
            uids::CT_IMAGE_STORAGE,
            &self.sop_uid,
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        )
    }
}

/// Counts live instances and remembers the peak.
#[derive(Debug, Clone, Default)]
pub struct Alive {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Alive {
    pub fn now(&self) -> usize {
        self.now.load(Ordering::SeqCst)
    }

    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

struct Tracked {
    data: Vec<u8>,
    alive: Alive,
}

impl Tracked {
    fn new(data: Vec<u8>, alive: &Alive) -> Self {
        let now = alive.now.fetch_add(1, Ordering::SeqCst) + 1;
        alive.peak.fetch_max(now, Ordering::SeqCst);
        Self {
            data,
            alive: alive.clone(),
        }
    }
}

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.now.fetch_sub(1, Ordering::SeqCst);
    }
}
