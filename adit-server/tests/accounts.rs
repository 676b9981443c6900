//! Accounts on both backends: users, groups and the active group, permissions, tokens, and
//! node access through the active group.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::num::NonZeroU16;

use adit_core::model::{AeTitle, DimseServer, FolderNode, Node};
use adit_server::Error;
use adit_server::accounts::{self, AuthError, NewUser, Permission, User};
use adit_server::db::Db;
use adit_server::db_dispatch;
use adit_server::nodes::{self, Access};
use chrono::{Duration, Utc};
use common::TestDb;

async fn user(db: &Db, name: &str) -> User {
    accounts::users::create(
        db,
        &NewUser {
            username: name.into(),
            password: format!("{name}-pw"),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn reload(db: &Db, u: &User) -> User {
    accounts::users::by_id(db, u.id).await.unwrap().unwrap()
}

async fn users_and_passwords(t: TestDb) {
    let db = t.db().await;
    let alice = user(&db, "alice").await;
    assert!(alice.is_active && !alice.is_staff && !alice.is_superuser);
    assert!(matches!(
        accounts::users::create(
            &db,
            &NewUser {
                username: "alice".into(),
                password: "x".into(),
                ..Default::default()
            }
        )
        .await,
        Err(Error::AlreadyExists { what: "user", .. })
    ));
    assert!(matches!(
        accounts::users::create(
            &db,
            &NewUser {
                username: "with space".into(),
                password: "x".into(),
                ..Default::default()
            }
        )
        .await,
        Err(Error::Invalid { .. })
    ));
    let hash: String = db_dispatch!(&db, pool => sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE username = 'alice'")
        .fetch_one(pool).await.unwrap());
    assert!(hash.starts_with("$argon2id$") && !hash.contains("alice-pw"));
    let ok = accounts::users::check_password(&db, "alice", "alice-pw")
        .await
        .unwrap();
    assert_eq!(ok.map(|u| u.id), Some(alice.id));
    assert!(
        accounts::users::check_password(&db, "alice", "nope")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        accounts::users::check_password(&db, "nobody", "x")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        accounts::users::by_name(&db, "nobody").await,
        Err(Error::NotFound { what: "user", .. })
    ));
    accounts::users::set_active(&db, alice.id, false)
        .await
        .unwrap();
    assert!(
        accounts::users::check_password(&db, "alice", "alice-pw")
            .await
            .unwrap()
            .is_none()
    );
}

async fn first_group_becomes_active_and_grants_follow_it(t: TestDb) {
    let db = t.db().await;
    let bob = user(&db, "bob").await;
    assert!(
        accounts::users::permissions(&db, &bob)
            .await
            .unwrap()
            .is_empty()
    );
    let radiology = accounts::groups::create(&db, "radiology").await.unwrap();
    let research = accounts::groups::create(&db, "research").await.unwrap();
    assert!(matches!(
        accounts::groups::create(&db, "research").await,
        Err(Error::AlreadyExists { what: "group", .. })
    ));
    accounts::groups::add_member(&db, radiology.id, bob.id)
        .await
        .unwrap();
    accounts::groups::add_member(&db, research.id, bob.id)
        .await
        .unwrap();
    accounts::groups::add_member(&db, research.id, bob.id)
        .await
        .unwrap();
    let bob = reload(&db, &bob).await;
    assert_eq!(
        bob.active_group,
        Some(radiology.id),
        "the first group is active"
    );
    let groups = accounts::users::groups_of(&db, bob.id).await.unwrap();
    assert_eq!(groups.len(), 2);

    accounts::groups::grant(&db, research.id, Permission::CanProcessUrgently)
        .await
        .unwrap();
    accounts::groups::grant(&db, radiology.id, Permission::CanQuery)
        .await
        .unwrap();
    let perms = accounts::users::permissions(&db, &bob).await.unwrap();
    assert_eq!(
        perms.into_iter().collect::<Vec<_>>(),
        vec![Permission::CanQuery]
    );

    accounts::users::set_active_group(&db, &bob, research.id)
        .await
        .unwrap();
    let bob = reload(&db, &bob).await;
    assert!(
        accounts::users::has_permission(&db, &bob, Permission::CanProcessUrgently)
            .await
            .unwrap()
    );
    assert!(
        !accounts::users::has_permission(&db, &bob, Permission::CanQuery)
            .await
            .unwrap()
    );

    let other = accounts::groups::create(&db, "other").await.unwrap();
    assert!(
        accounts::users::set_active_group(&db, &bob, other.id)
            .await
            .is_err()
    );

    accounts::groups::remove_member(&db, research.id, bob.id)
        .await
        .unwrap();
    let bob = reload(&db, &bob).await;
    assert_eq!(
        bob.active_group,
        Some(radiology.id),
        "falls back to a remaining group"
    );

    let root = accounts::users::create(
        &db,
        &NewUser {
            username: "root".into(),
            password: "pw".into(),
            is_superuser: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        accounts::users::permissions(&db, &root)
            .await
            .unwrap()
            .len(),
        Permission::ALL.len()
    );
    let listed = accounts::groups::list(&db).await.unwrap();
    let radiology_info = listed.iter().find(|g| g.group.name == "radiology").unwrap();
    assert_eq!(radiology_info.members, vec!["bob".to_owned()]);
    assert_eq!(radiology_info.permissions, vec!["can_query".to_owned()]);
}

async fn tokens_authenticate_expire_and_are_stored_hashed(t: TestDb) {
    let db = t.db().await;
    let carol = user(&db, "carol").await;
    let new = accounts::tokens::create(&db, &carol, "script", None)
        .await
        .unwrap();
    assert_eq!(new.token.len(), 40);
    assert!(
        new.token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let stored: Vec<String> = db_dispatch!(&db, pool => sqlx::query_scalar(
        "SELECT token_sha256 FROM api_tokens").fetch_all(pool).await.unwrap());
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], new.token);
    assert_eq!(stored[0].len(), 64);

    let who = accounts::tokens::authenticate(&db, &new.token)
        .await
        .unwrap();
    assert_eq!(who.id, carol.id);
    let listed = accounts::tokens::list(&db, Some(carol.id)).await.unwrap();
    assert!(listed[0].last_used.is_some(), "last_used is updated");
    assert_eq!(listed[0].fraction, &new.token[..4]);

    assert!(matches!(
        accounts::tokens::authenticate(&db, "nope").await,
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        accounts::tokens::authenticate(&db, &new.token.to_uppercase()).await,
        Err(AuthError::Malformed)
    ));
    assert!(matches!(
        accounts::tokens::authenticate(&db, &"0".repeat(40)).await,
        Err(AuthError::Unknown)
    ));

    let expired =
        accounts::tokens::create(&db, &carol, "", Some(Utc::now() - Duration::seconds(1)))
            .await
            .unwrap();
    assert!(matches!(
        accounts::tokens::authenticate(&db, &expired.token).await,
        Err(AuthError::Expired(_))
    ));
    let later = accounts::tokens::create(&db, &carol, "", Some(Utc::now() + Duration::days(1)))
        .await
        .unwrap();
    accounts::tokens::authenticate(&db, &later.token)
        .await
        .unwrap();

    accounts::users::set_active(&db, carol.id, false)
        .await
        .unwrap();
    assert!(matches!(
        accounts::tokens::authenticate(&db, &new.token).await,
        Err(AuthError::InactiveUser(name)) if name == "carol"
    ));
    assert!(accounts::tokens::delete(&db, new.info.id).await.unwrap());
    assert!(matches!(
        accounts::tokens::authenticate(&db, &new.token).await,
        Err(AuthError::Unknown)
    ));
}

async fn node_access_uses_the_active_group(t: TestDb) {
    let db = t.db().await;
    let pacs = DimseServer::new(
        AeTitle::new("PACS1").unwrap(),
        "127.0.0.1",
        NonZeroU16::new(11112).unwrap(),
    );
    let pacs = nodes::add(&db, &Node::dimse("PACS1", pacs)).await.unwrap();
    let folder = nodes::add(&db, &Node::folder("Downloads", FolderNode::new("/tmp/d")))
        .await
        .unwrap();
    assert!(matches!(
        nodes::add(&db, &Node::folder("Downloads", FolderNode::new("/x"))).await,
        Err(Error::AlreadyExists { .. })
    ));
    assert_eq!(nodes::by_name(&db, "PACS1").await.unwrap(), pacs);
    assert_eq!(
        nodes::by_ae_title(&db, "PACS1").await.unwrap(),
        Some(pacs.clone())
    );
    assert_eq!(nodes::list(&db).await.unwrap().len(), 2);

    let dave = user(&db, "dave").await;
    let a = accounts::groups::create(&db, "a").await.unwrap();
    let b = accounts::groups::create(&db, "b").await.unwrap();
    accounts::groups::add_member(&db, a.id, dave.id)
        .await
        .unwrap();
    accounts::groups::add_member(&db, b.id, dave.id)
        .await
        .unwrap();
    let dave = reload(&db, &dave).await;
    assert!(
        !nodes::can_use(&db, &dave, pacs.id, Access::Source)
            .await
            .unwrap()
    );

    nodes::grant(&db, a.id, pacs.id, true, false).await.unwrap();
    nodes::grant(&db, b.id, folder.id, false, true)
        .await
        .unwrap();
    assert!(
        nodes::can_use(&db, &dave, pacs.id, Access::Source)
            .await
            .unwrap()
    );
    assert!(
        !nodes::can_use(&db, &dave, pacs.id, Access::Destination)
            .await
            .unwrap()
    );
    assert!(
        !nodes::can_use(&db, &dave, folder.id, Access::Destination)
            .await
            .unwrap(),
        "group b's grant does not apply while a is active"
    );
    assert!(
        nodes::can_use_any_group(&db, &dave, folder.id, Access::Destination)
            .await
            .unwrap()
    );
    let sources = nodes::accessible(&db, &dave, Access::Source).await.unwrap();
    assert_eq!(
        sources
            .iter()
            .map(|n| n.node.name.as_str())
            .collect::<Vec<_>>(),
        ["PACS1"]
    );

    accounts::users::set_active_group(&db, &dave, b.id)
        .await
        .unwrap();
    let dave = reload(&db, &dave).await;
    assert!(
        !nodes::can_use(&db, &dave, pacs.id, Access::Source)
            .await
            .unwrap()
    );
    assert!(
        nodes::can_use(&db, &dave, folder.id, Access::Destination)
            .await
            .unwrap()
    );

    // Grants add up.
    nodes::grant(&db, b.id, folder.id, true, false)
        .await
        .unwrap();
    assert!(
        nodes::can_use(&db, &dave, folder.id, Access::Source)
            .await
            .unwrap()
    );
    assert!(
        nodes::can_use(&db, &dave, folder.id, Access::Destination)
            .await
            .unwrap()
    );

    let root = accounts::users::create(
        &db,
        &NewUser {
            username: "root".into(),
            password: "pw".into(),
            is_superuser: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        nodes::can_use(&db, &root, pacs.id, Access::Destination)
            .await
            .unwrap()
    );
    accounts::users::set_active(&db, dave.id, false)
        .await
        .unwrap();
    let dave = reload(&db, &dave).await;
    assert!(
        !nodes::can_use(&db, &dave, folder.id, Access::Source)
            .await
            .unwrap()
    );
}

both_backends! {
    users_and_passwords => users_and_passwords_sqlite, users_and_passwords_postgres;
    first_group_becomes_active_and_grants_follow_it => first_group_becomes_active_sqlite, first_group_becomes_active_postgres;
    tokens_authenticate_expire_and_are_stored_hashed => tokens_sqlite, tokens_postgres;
    node_access_uses_the_active_group => node_access_sqlite, node_access_postgres;
}
