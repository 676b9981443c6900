//! The DICOM model: query levels, typed queries, results, client-side matching and node
//! descriptions.

mod attribute;
mod level;
mod matching;
mod node;
mod query;
mod result;
mod temporal;
mod value;
mod wildcard;

pub use attribute::Attribute;
pub use level::QueryLevel;
pub use matching::{MissingAttribute, matches, matches_with};
pub use node::{
    AeTitle, DicomWebServer, DimseCapabilities, DimseRetrieve, DimseServer, DimseTls, FindMethod,
    FindPlan, FolderNode, Node, NodeKind, QueryModel, RetrieveMethod, RetrievePlan, StoreMethod,
};
pub use query::{Query, QueryBuilder};
pub use result::QueryResult;
pub use value::QueryValue;
pub use wildcard::{has_wildcards, wildcard_match};

pub(crate) use result::{element_string, element_strings};
