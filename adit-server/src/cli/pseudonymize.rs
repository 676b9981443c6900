//! `adit pseudonymize IN OUT`: de-identify files or folders with a thin call into
//! [`adit_core::pseudonymize::pseudonymize_tree`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use adit_core::pseudonymize::{
    DateHandling, Profile, ProfileOptions, Pseudonymizer, PseudonymizerConfig, Secret, TreeLayout,
    TreeOptions, pseudonymize_tree,
};
use clap::{Args, ValueEnum};

/// `adit pseudonymize IN OUT --secret S [...]`.
#[derive(Debug, Args)]
pub struct PseudonymizeArgs {
    /// A DICOM file or a folder (processed recursively).
    pub input: PathBuf,
    /// The output folder (or file, for a single input file with `--keep-paths`).
    pub output: PathBuf,
    /// Keys UIDs, date shifts and derived pseudonyms: the same secret gives the same results.
    #[arg(long, env = "ADIT_PSEUDONYMIZE_SECRET", hide_env_values = true)]
    pub secret: String,
    /// PatientID and PatientName of every output file; without it each patient gets one
    /// derived from the secret and the original PatientID.
    #[arg(long)]
    pub pseudonym: Option<String>,
    /// Rule set: the PS3.15 Basic Profile, or ADIT's preset (study dates kept, other dates
    /// shifted, patient characteristics and cleaned descriptions kept).
    #[arg(long, value_enum, default_value_t = ProfileArg::Basic)]
    pub profile: ProfileArg,
    /// Keep all dates unchanged (Retain Longitudinal Temporal Information, Full Dates).
    #[arg(long, conflicts_with = "shift_dates")]
    pub keep_dates: bool,
    /// Shift dates per patient by a keyed number of days (Modified Dates).
    #[arg(long)]
    pub shift_dates: bool,
    /// Keep sex, age, size, weight and the like.
    #[arg(long)]
    pub retain_patient_characteristics: bool,
    /// Keep station names, serial numbers and other device identifiers.
    #[arg(long)]
    pub retain_device_identity: bool,
    /// Keep institution names and addresses.
    #[arg(long)]
    pub retain_institution_identity: bool,
    /// Keep all UIDs unchanged.
    #[arg(long)]
    pub retain_uids: bool,
    /// Keep descriptions with identifying words removed.
    #[arg(long)]
    pub clean_descriptors: bool,
    /// ClinicalTrialProtocolID to set.
    #[arg(long)]
    pub trial_id: Option<String>,
    /// ClinicalTrialProtocolName to set.
    #[arg(long)]
    pub trial_name: Option<String>,
    /// Write files under the input's relative paths instead of ADIT's layout
    /// (`<pseudonym>/<date>-<time>-<modality>/<series>/<SOPInstanceUID>.dcm`). Input names
    /// are kept as they are, so they must not be identifying.
    #[arg(long)]
    pub keep_paths: bool,
    /// Worker threads (default: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// The `--profile` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// PS3.15 Basic Application Level Confidentiality Profile.
    Basic,
    /// ADIT's preset.
    Adit,
}

impl PseudonymizeArgs {
    /// The pseudonymizer configuration these arguments describe.
    pub fn config(&self) -> adit_core::Result<PseudonymizerConfig> {
        let secret = Secret::new(&self.secret)?;
        let mut config = match self.profile {
            ProfileArg::Basic => PseudonymizerConfig::basic(secret),
            ProfileArg::Adit => PseudonymizerConfig::adit(secret),
        };
        let defaults = config.options;
        config.options = ProfileOptions {
            dates: if self.keep_dates {
                DateHandling::Keep
            } else if self.shift_dates {
                DateHandling::Shift
            } else {
                defaults.dates
            },
            retain_patient_characteristics: defaults.retain_patient_characteristics
                || self.retain_patient_characteristics,
            retain_device_identity: defaults.retain_device_identity || self.retain_device_identity,
            retain_institution_identity: defaults.retain_institution_identity
                || self.retain_institution_identity,
            retain_uids: defaults.retain_uids || self.retain_uids,
            clean_descriptors: defaults.clean_descriptors || self.clean_descriptors,
        };
        config.pseudonym = self.pseudonym.clone();
        config.trial_id = self.trial_id.clone();
        config.trial_name = self.trial_name.clone();
        Ok(config)
    }
}

/// Runs the command: prints a summary and every skipped or failed file. Exit code 0 when
/// every DICOM file was written, 1 when some failed, 2 for unusable arguments or folders.
pub fn run(args: &PseudonymizeArgs) -> ExitCode {
    let pseudonymizer = match args.config().and_then(Pseudonymizer::new) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("adit pseudonymize: {e}");
            return ExitCode::from(2);
        }
    };
    let options = TreeOptions {
        layout: if args.keep_paths {
            TreeLayout::Mirror
        } else {
            TreeLayout::Adit
        },
        threads: args.threads,
    };
    let started = Instant::now();
    let report = match pseudonymize_tree(&args.input, &args.output, &pseudonymizer, &options) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("adit pseudonymize: {e}");
            return ExitCode::from(2);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    for skipped in &report.skipped {
        println!("skipped {}: {}", skipped.path.display(), skipped.reason);
    }
    for failed in &report.failed {
        eprintln!("failed  {}: {}", failed.path.display(), failed.reason);
    }
    let profile = match pseudonymizer.config().profile {
        Profile::Basic => "basic",
        Profile::Adit => "adit",
    };
    println!(
        "adit pseudonymize ({profile}): {} files, {} in {seconds:.2} s ({:.0} files/s)",
        report.files,
        report.summary(),
        report.written as f64 / seconds.max(1e-9)
    );
    if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
