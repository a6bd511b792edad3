//! Which source wins: the environment over profiles, `--profile` over `ALIBABA_CLOUD_PROFILE`
//! over `current`, and `--profile` even over environment keys.

use super::*;

#[test]
fn environment_beats_the_cli_profile() {
    let (fake, _) = cloud();
    let (plugin, _) = three_profiles(&fake);
    let env = fake.add_access_key("LTAIenvWins0001", "env-wins-secret");

    let run = plugin
        .access_key("LTAIenvWins0001", "env-wins-secret")
        .run_ok();

    assert_cn(&run, &env, "the environment key");
}

#[test]
fn profile_flag_beats_alibaba_cloud_profile_beats_current() {
    let (fake, _) = cloud();
    let (plugin, [alpha, beta, gamma]) = three_profiles(&fake);

    let run = plugin.clone().run_ok();
    assert_cn(&run, &gamma, "the current profile");

    let run = plugin.clone().env("ALIBABA_CLOUD_PROFILE", "beta").run_ok();
    assert_cn(&run, &beta, "the ALIBABA_CLOUD_PROFILE profile");

    let run = plugin
        .clone()
        .env("ALIBABA_CLOUD_PROFILE", "beta")
        .args(["--profile", "alpha"])
        .run_ok();
    assert_cn(&run, &alpha, "the --profile profile");
}

#[test]
fn profile_flag_forces_the_profile_even_with_environment_keys() {
    let (fake, _) = cloud();
    let (plugin, [alpha, _, _]) = three_profiles(&fake);
    fake.add_access_key("LTAIenvIgnored1", "env-ignored-secret");

    let run = plugin
        .access_key("LTAIenvIgnored1", "env-ignored-secret")
        .args(["--profile", "alpha", "-v"])
        .run_ok();

    assert_cn(&run, &alpha, "the --profile profile");
    assert_source(
        &run,
        "AccessKey LTAIalpha000001 from aliyun CLI profile `alpha` (AK) in [home]/.aliyun/config.json",
    );
}
