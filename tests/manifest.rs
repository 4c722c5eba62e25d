//! The Slack app manifest offers what chief's code handles.

fn manifest() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.yml"))
        .expect("manifest.yml")
}

#[test]
fn the_manifest_declares_the_shortcut_command_home_and_events() {
    let m = manifest();
    for needle in [
        "callback_id: explain_in_context",
        "command: /chief",
        "home_tab_enabled: true",
        "messages_tab_enabled: true",
        "/slack/events",
        "/slack/interactions",
        "/slack/commands",
        "socket_mode_enabled:",
    ] {
        assert!(m.contains(needle), "manifest.yml lacks {needle}");
    }
    for event in [
        "message.channels",
        "message.groups",
        "reaction_added",
        "reaction_removed",
        "member_joined_channel",
        "member_left_channel",
        "channel_rename",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
    ] {
        assert!(
            m.contains(&format!("- {event}\n")),
            "manifest.yml does not subscribe to {event}"
        );
    }
    for scope in [
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "users:read",
        "chat:write",
        "im:write",
        "reactions:read",
        "commands",
    ] {
        assert!(
            m.contains(&format!("- {scope}\n")),
            "manifest.yml lacks scope {scope}"
        );
    }
}
