//! The chain's order, and CloudSSO and OAuth profiles.

#[allow(
    clippy::wildcard_imports,
    reason = "the suite's shared helpers and imports"
)]
use super::*;

pub(super) fn chain_order() -> Vec<Check> {
    let fixture = load("chain-order.json");
    let order = fixture["sdk_chains"]["credentials-go providers/default.go"]["order"]
        .as_array()
        .map_or(0, Vec::len);
    // Everything configured at once; take each winner away in turn.
    let all = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ENV"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/r"),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "p"),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/t"),
        ("ALIBABA_CLOUD_ECS_METADATA", "ecs-role"),
        ("ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/c"),
    ];
    let run = |skip: &[&str], files: bool| {
        let mut world = World::new();
        for (k, v) in all {
            if !skip.contains(&k) {
                world = world.var(k, v);
            }
        }
        if files {
            world.file(".aliyun/config.json", AK_CONFIG);
            world.file(".alibabacloud/credentials", AK_INI);
        }
        world.discover(None)["identity"].clone()
    };
    let env_keys = [
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    ];
    let rrsa = [
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    ];
    let no_env: Vec<&str> = env_keys.to_vec();
    let no_rrsa: Vec<&str> = env_keys.iter().chain(&rrsa).copied().collect();
    let no_ecs: Vec<&str> = no_rrsa
        .iter()
        .copied()
        .chain(["ALIBABA_CLOUD_ECS_METADATA"])
        .collect();
    let winners = [
        run(&[], true)["type"].clone(),
        run(&no_env, true)["type"].clone(),
        run(&no_rrsa, true)["id"].clone(),
        run(&no_rrsa, false)["type"].clone(),
        run(&no_ecs, false)["type"].clone(),
    ];
    let ini_when_no_cli = {
        let world = World::new();
        world.file(".alibabacloud/credentials", AK_INI);
        world.discover(None)["identity"]["id"].clone()
    };
    let got = json!([
        winners[0],
        winners[1],
        winners[2],
        ini_when_no_cli,
        winners[3],
        winners[4]
    ]);
    let want = json!([
        "access-key",
        "oidc",
        "FIRST",
        "INI",
        "ecs-ram-role",
        "credentials-uri"
    ]);
    let order_result = if order == 6 && got == want {
        Ok(())
    } else {
        Err(format!("order {got}, the SDKs' {want} ({order} steps)"))
    };

    // The SDKs go on past a broken source; the plugin stops there.
    let world = World::new();
    world.file(
        ".aliyun/config.json",
        r#"{"current": "broken", "profiles": [{"name": "broken", "mode": "AK", "access_key_id": "x"}]}"#,
    );
    world.file(".alibabacloud/credentials", AK_INI);
    let fallthrough = id_is(&world.discover(None), "INI");

    // Off ECS (no firmware, no role named) the instance role comes after the credentials URI.
    let world = World::new().var("ALIBABA_CLOUD_CREDENTIALS_URI", "http://127.0.0.1:1/c");
    let placement = matches(
        &json!({"identity": {"type": "ecs-ram-role"}}),
        &world.discover(None),
    );
    vec![
        check("chain-order.json#order", order_result),
        check("chain-order.json#fallthrough", fallthrough),
        check("chain-order.json#ecs-placement", placement),
    ]
}

pub(super) fn cloud_sso_oauth() -> Vec<Check> {
    let fixture = load("cloudsso-oauth.json");
    let mut checks = Vec::new();
    for (site_type, want) in fixture["OAuth"]["site_map"].as_object().unwrap() {
        let result = match oauth::site(site_type) {
            Some(site)
                if want == &json!({"sign_in_url": site.url, "client_id": site.client_id}) =>
            {
                Ok(())
            }
            other => Err(format!("{other:?}, the SDKs {want}")),
        };
        checks.push(check(
            format!("cloudsso-oauth.json#OAuth.site_map.{site_type}"),
            result,
        ));
    }
    // CloudSSO: an expired or empty token is an error that says to sign in again.
    let profile = |extra: Value| {
        let mut p = json!({"name": "sso", "mode": "CloudSSO",
            "cloud_sso_sign_in_url": "https://signin-cn-shanghai.alibabacloudsso.com/d-1/login",
            "cloud_sso_account_id": "123", "cloud_sso_access_config": "ac-1"});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"current": "sso", "profiles": [p]}).to_string()
    };
    let sso = |extra: Value| {
        let world = World::new();
        world.file(".aliyun/config.json", &profile(extra));
        world.with(|ctx| match chain::discover(ctx, None, None) {
            Ok(provider) => match provider.credentials(&client()) {
                Ok(_) => json!({"credentials": true}),
                Err(e) => json!({"error": e.to_string()}),
            },
            Err(e) => json!({"error": e.to_string()}),
        })
    };
    let again = "sign in again with `aliyun configure --profile sso --mode CloudSSO`";
    let expired = sso(json!({"access_token": "t", "cloud_sso_access_token_expire": 10}));
    let empty =
        sso(json!({"access_token": "", "cloud_sso_access_token_expire": 9_999_999_999_i64}));
    let result = matches(&json!({"error_contains": again}), &expired)
        .and_then(|()| matches(&json!({"error_contains": again}), &empty));
    checks.push(check("cloudsso-oauth.json#CloudSSO.errors", result));
    // OAuth: a bad site type is a clear error.
    let world = World::new();
    world.fixture(
        "cli-config/credentials-java.config.json",
        ".aliyun/config.json",
    );
    let result = matches(
        &json!({"error_contains": "has oauth_site_type \"INVALID\"; it must be CN or INTL"}),
        &world.discover(Some("OAuthInvalid")),
    );
    checks.push(check("cloudsso-oauth.json#OAuth.errors", result));
    // Every mode of the CLI today: supported, or a listed difference.
    let modes = &fixture["other_modes_in_aliyun_cli_today"]["modes"];
    for mode in modes.as_array().unwrap() {
        let mode = mode.as_str().unwrap().split(' ').next().unwrap();
        let world = World::new();
        world.file(
            ".aliyun/config.json",
            &json!({"current": "p", "profiles": [{"name": "p", "mode": mode}]}).to_string(),
        );
        let observed = world.discover(None);
        let text = observed["error"].as_str().unwrap_or("");
        let result = if text.contains("does not support") {
            Err(format!("mode {mode} is not supported"))
        } else {
            Ok(())
        };
        checks.push(check(format!("cloudsso-oauth.json#modes:{mode}"), result));
    }
    checks
}
