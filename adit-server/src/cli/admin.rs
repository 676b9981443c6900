//! `adit admin ...`: accounts, grants, tokens and nodes, straight on the database (works with
//! the server running or not; migrations are applied first, so a fresh database works too).

use std::num::{NonZeroU16, NonZeroU32};
use std::path::PathBuf;

use adit_core::model::{AeTitle, DicomWebServer, DimseServer, FolderNode, Node, NodeKind};
use chrono::{Duration, Utc};
use clap::{Args, Subcommand, ValueEnum};

use crate::Config;
use crate::accounts::{self, NewUser, Permission};
use crate::admin::{self, Grant};
use crate::db::{Db, migrate};
use crate::error::{Error, Result};
use crate::nodes;

/// `adit admin ...`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a user account.
    CreateUser {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Password (only its Argon2id hash is stored).
        #[arg(long, env = "ADIT_NEW_USER_PASSWORD")]
        password: String,
        /// Email address.
        #[arg(long, default_value = "")]
        email: String,
        /// Staff: sees every job, may verify, restart and kill.
        #[arg(long)]
        staff: bool,
        /// Superuser: every permission and every node.
        #[arg(long)]
        superuser: bool,
    },
    /// Create a group, optionally with members (their first group becomes their active one).
    CreateGroup {
        /// Group name.
        #[arg(long)]
        name: String,
        /// Comma-separated user names.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
    },
    /// Grant a group access to a node, or a permission.
    #[command(group(clap::ArgGroup::new("what").required(true).args(["node", "permission"])))]
    Grant {
        /// The group.
        #[arg(long)]
        group: String,
        /// A node the group may use (with --source and/or --destination).
        #[arg(long)]
        node: Option<String>,
        /// The node may be used as a source.
        #[arg(long, requires = "node")]
        source: bool,
        /// The node may be used as a destination.
        #[arg(long, requires = "node")]
        destination: bool,
        /// A permission codename (e.g. can_process_urgently), or `all`.
        #[arg(long)]
        permission: Option<String>,
    },
    /// Create an API token; the token is printed alone on the last line, once.
    CreateToken {
        /// The token's owner.
        #[arg(long)]
        username: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
        /// Free text to recognize the token by.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Add a DICOM server (capabilities detected by probing unless --no-probe).
    AddServer(AddServerArgs),
    /// Add a folder node.
    AddFolder {
        /// Node name.
        #[arg(long)]
        name: String,
        /// The directory (made absolute; created when missing).
        #[arg(long)]
        path: PathBuf,
    },
    /// List users, groups, nodes or tokens (tokens are never shown, only their first 4
    /// characters).
    List {
        /// What to list.
        what: Listing,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Listing {
    Users,
    Groups,
    Nodes,
    Tokens,
}

#[derive(Debug, Args)]
struct AddServerArgs {
    /// Node name.
    #[arg(long)]
    name: String,
    /// The server's AE title.
    #[arg(long)]
    ae_title: String,
    /// Host name or address.
    #[arg(long)]
    host: String,
    /// DIMSE port.
    #[arg(long)]
    port: u16,
    /// DICOMweb root URL: also adds a DICOMweb node named `<name>-web` for the same PACS.
    #[arg(long)]
    dicomweb_root: Option<String>,
    /// `Authorization` header sent to the DICOMweb server.
    #[arg(long, requires = "dicomweb_root")]
    dicomweb_authorization: Option<String>,
    /// Associations ADIT may open to the server at once.
    #[arg(long)]
    max_associations: Option<NonZeroU16>,
    /// Results above which a search counts as truncated.
    #[arg(long)]
    max_search_results: Option<NonZeroU32>,
    /// Do not contact the server; capabilities are off unless set by the flags below.
    #[arg(long)]
    no_probe: bool,
    /// Override: Patient Root FIND.
    #[arg(long)]
    patient_root_find: Option<bool>,
    /// Override: Patient Root GET.
    #[arg(long)]
    patient_root_get: Option<bool>,
    /// Override: Patient Root MOVE.
    #[arg(long)]
    patient_root_move: Option<bool>,
    /// Override: Study Root FIND.
    #[arg(long)]
    study_root_find: Option<bool>,
    /// Override: Study Root GET.
    #[arg(long)]
    study_root_get: Option<bool>,
    /// Override: Study Root MOVE.
    #[arg(long)]
    study_root_move: Option<bool>,
    /// Override: accepts C-STORE.
    #[arg(long)]
    store: Option<bool>,
}

/// Runs `adit admin ...`; output goes to stdout, errors are returned.
pub async fn run(args: AdminArgs, config: &Config) -> Result<()> {
    let database = Db::connect(config).await?;
    let result = async {
        migrate::run(&database).await?;
        execute(&database, args.command, config).await
    }
    .await;
    database.close().await;
    result
}

async fn execute(database: &Db, command: AdminCommand, config: &Config) -> Result<()> {
    match command {
        AdminCommand::CreateUser {
            username,
            password,
            email,
            staff,
            superuser,
        } => {
            let user = accounts::users::create(
                database,
                &NewUser {
                    username,
                    password,
                    email,
                    is_staff: staff,
                    is_superuser: superuser,
                },
            )
            .await?;
            println!(
                "created user {} (id {}{}{})",
                user.username,
                user.id.0,
                if user.is_staff { ", staff" } else { "" },
                if user.is_superuser { ", superuser" } else { "" }
            );
        }
        AdminCommand::CreateGroup { name, members } => {
            let members: Vec<String> = members
                .into_iter()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            let group = admin::create_group(database, &name, &members).await?;
            println!(
                "created group {} (id {}) with {} member(s)",
                group.name,
                group.id.0,
                members.len()
            );
        }
        AdminCommand::Grant {
            group,
            node,
            source,
            destination,
            permission,
        } => {
            let grant = match (node, permission) {
                (Some(node), _) => Grant::Node {
                    node,
                    source,
                    destination,
                },
                (None, Some(p)) if p == "all" => Grant::AllPermissions,
                (None, Some(p)) => Grant::Permission(p.parse::<Permission>()?),
                (None, None) => {
                    return Err(Error::Invalid {
                        what: "grant",
                        reason: "give --node or --permission".into(),
                    });
                }
            };
            admin::grant(database, &group, &grant).await?;
            println!("granted {} to group {group}", describe(&grant));
        }
        AdminCommand::CreateToken {
            username,
            expires_days,
            description,
        } => {
            let user = accounts::users::by_name(database, &username).await?;
            let expires = expires_days.map(|d| Utc::now() + Duration::days(i64::from(d)));
            let token = accounts::tokens::create(database, &user, &description, expires).await?;
            match token.info.expires {
                Some(t) => println!("token for {username}, expires {}:", t.to_rfc3339()),
                None => println!("token for {username}, never expires:"),
            }
            println!("{}", token.token);
        }
        AdminCommand::AddServer(args) => add_server(database, args, config).await?,
        AdminCommand::AddFolder { name, path } => {
            let path = std::path::absolute(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            std::fs::create_dir_all(&path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let node = nodes::add(database, &Node::folder(&name, FolderNode::new(&path))).await?;
            println!(
                "added folder {} at {} (id {})",
                node.node.name,
                path.display(),
                node.id.0
            );
        }
        AdminCommand::List { what } => list(database, what).await?,
    }
    Ok(())
}

async fn add_server(database: &Db, args: AddServerArgs, config: &Config) -> Result<()> {
    let ae_title = AeTitle::new(&args.ae_title).map_err(|e| Error::Invalid {
        what: "AE title",
        reason: e.to_string(),
    })?;
    let port = NonZeroU16::new(args.port).ok_or_else(|| Error::Invalid {
        what: "port",
        reason: "must be 1 to 65535".into(),
    })?;
    let mut server = DimseServer::new(ae_title, &args.host, port);
    if let Some(max) = args.max_associations {
        server.max_associations = max;
    }
    if let Some(max) = args.max_search_results {
        server.max_search_results = max;
    }
    if !args.no_probe {
        println!("probing {} ...", server.peer_name());
        server.capabilities = admin::probe(&server, &config.calling_ae).await?;
    }
    let c = &mut server.capabilities;
    let overrides = [
        (&mut c.patient_root_find, args.patient_root_find),
        (&mut c.patient_root_get, args.patient_root_get),
        (&mut c.patient_root_move, args.patient_root_move),
        (&mut c.study_root_find, args.study_root_find),
        (&mut c.study_root_get, args.study_root_get),
        (&mut c.study_root_move, args.study_root_move),
        (&mut c.store, args.store),
    ];
    for (flag, value) in overrides {
        if let Some(value) = value {
            *flag = value;
        }
    }
    let capabilities = capability_list(&server);
    let node = nodes::add(database, &Node::dimse(&args.name, server)).await?;
    println!(
        "added server {} (id {}): {}",
        node.node.name, node.id.0, capabilities
    );
    if let Some(root) = args.dicomweb_root {
        let mut web = DicomWebServer::new(root);
        web.authorization = args.dicomweb_authorization;
        let web = nodes::add(database, &Node::dicomweb(format!("{}-web", args.name), web)).await?;
        println!(
            "added DICOMweb server {} (id {}): QIDO-RS, WADO-RS, STOW-RS",
            web.node.name, web.id.0
        );
    }
    Ok(())
}

fn capability_list(server: &DimseServer) -> String {
    let c = &server.capabilities;
    let names: Vec<&str> = [
        (c.study_root_find, "study-root FIND"),
        (c.study_root_get, "study-root GET"),
        (c.study_root_move, "study-root MOVE"),
        (c.patient_root_find, "patient-root FIND"),
        (c.patient_root_get, "patient-root GET"),
        (c.patient_root_move, "patient-root MOVE"),
        (c.store, "STORE"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if names.is_empty() {
        "no services".into()
    } else {
        names.join(", ")
    }
}

fn describe(grant: &Grant) -> String {
    match grant {
        Grant::Node {
            node,
            source,
            destination,
        } => {
            let how = match (source, destination) {
                (true, true) => "source and destination",
                (true, false) => "source",
                _ => "destination",
            };
            format!("node {node} as {how}")
        }
        Grant::Permission(p) => format!("permission {p}"),
        Grant::AllPermissions => "every permission".into(),
    }
}

async fn list(database: &Db, what: Listing) -> Result<()> {
    match what {
        Listing::Users => {
            let groups = accounts::groups::list(database).await?;
            println!(
                "{:<24} {:<6} {:<6} {:<10} {:<20} groups",
                "username", "staff", "super", "active", "active group"
            );
            for user in accounts::users::list(database).await? {
                let member_of: Vec<&str> = groups
                    .iter()
                    .filter(|g| g.members.contains(&user.username))
                    .map(|g| g.group.name.as_str())
                    .collect();
                let active_group = groups
                    .iter()
                    .find(|g| Some(g.group.id) == user.active_group)
                    .map_or("-", |g| g.group.name.as_str());
                println!(
                    "{:<24} {:<6} {:<6} {:<10} {:<20} {}",
                    user.username,
                    yes_no(user.is_staff),
                    yes_no(user.is_superuser),
                    yes_no(user.is_active),
                    active_group,
                    member_of.join(",")
                );
            }
        }
        Listing::Groups => {
            println!("{:<24} {:<30} permissions", "group", "members");
            for g in accounts::groups::list(database).await? {
                println!(
                    "{:<24} {:<30} {}",
                    g.group.name,
                    g.members.join(","),
                    g.permissions.join(",")
                );
            }
        }
        Listing::Nodes => {
            let access = nodes::access_list(database).await?;
            println!("{:<20} {:<9} {:<40} access", "node", "kind", "address");
            for stored in nodes::list(database).await? {
                let node = &stored.node;
                let address = match &node.kind {
                    NodeKind::Dimse(s) => format!("{} [{}]", s.peer_name(), capability_list(s)),
                    NodeKind::DicomWeb(w) => w.root_url.clone(),
                    NodeKind::Folder(f) => f.path.display().to_string(),
                    _ => String::new(),
                };
                let grants: Vec<String> = access
                    .iter()
                    .filter(|a| a.node == node.name)
                    .map(|a| {
                        let how = match (a.source, a.destination) {
                            (true, true) => "src+dst",
                            (true, false) => "src",
                            (false, true) => "dst",
                            (false, false) => "none",
                        };
                        format!("{}:{how}", a.group)
                    })
                    .collect();
                println!(
                    "{:<20} {:<9} {:<40} {}",
                    node.name,
                    nodes::kind_name(node),
                    address,
                    grants.join(",")
                );
            }
        }
        Listing::Tokens => {
            println!(
                "{:<6} {:<20} {:<8} {:<26} {:<26} {:<26} description",
                "id", "user", "token", "created", "expires", "last used"
            );
            for t in accounts::tokens::list(database, None).await? {
                let time = |t: Option<chrono::DateTime<Utc>>, none: &str| {
                    t.map_or_else(
                        || none.to_owned(),
                        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    )
                };
                println!(
                    "{:<6} {:<20} {:<8} {:<26} {:<26} {:<26} {}",
                    t.id,
                    t.username,
                    format!("{}…", t.fraction),
                    time(Some(t.created), ""),
                    time(t.expires, "never"),
                    time(t.last_used, "never"),
                    t.description
                );
            }
        }
    }
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
