//! STS's `AssumeRole` (signed by the caller) and `AssumeRoleWithOIDC` (unsigned: the OIDC
//! token is the proof): their parameters, who may assume which role, and the STS key granted.

use chrono::TimeDelta;
use serde_json::{Value, json};

use super::Principal;
use super::accounts::{AccessKey, issue_sts_key, random_alnum};
use super::http::{HttpRequest, Reply};
use super::log::{Outcome, StsGrant};
use super::state::Shared;
use super::sts::{
    ACTION_ASSUME_ROLE, ACTION_ASSUME_ROLE_WITH_OIDC, DEFAULT_DURATION_SECONDS,
    MAX_DURATION_SECONDS, MIN_DURATION_SECONDS, sts_error,
};

/// `acs:ram::<account>:role/<name>` → (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, name) = rest.split_once(":role/")?;
    let valid = !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    valid.then_some((account, name))
}

/// The business parameters common to AssumeRole and AssumeRoleWithOIDC.
struct RoleRequest {
    role_arn: String,
    account: String,
    role_name: String,
    session_name: Option<String>,
    duration_seconds: u64,
    policy: Option<String>,
}

fn role_request(
    request: &HttpRequest,
    request_id: &str,
    session_required: bool,
) -> Result<RoleRequest, Reply> {
    let fail =
        |status: u16, code: &str, message: String| sts_error(status, request_id, code, &message);
    let Some(role_arn) = request.param("RoleArn").filter(|a| !a.is_empty()) else {
        return Err(fail(
            400,
            "MissingRoleArn",
            "RoleArn is mandatory for this action.".to_string(),
        ));
    };
    let Some((account, role_name)) = parse_role_arn(role_arn) else {
        return Err(fail(
            400,
            "InvalidParameter.RoleArn",
            format!(
                "The parameter RoleArn {role_arn:?} is not a valid role ARN (acs:ram::<account>:role/<name>)."
            ),
        ));
    };
    let session_name = request.param("RoleSessionName").filter(|s| !s.is_empty());
    match session_name {
        None if session_required => {
            return Err(fail(
                400,
                "MissingRoleSessionName",
                "RoleSessionName is mandatory for this action.".to_string(),
            ));
        }
        Some(name)
            if !(2..=64).contains(&name.len())
                || !name.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@')
                }) =>
        {
            return Err(fail(
                400,
                "InvalidParameter.RoleSessionName",
                format!(
                    "The parameter RoleSessionName {name:?} is invalid: 2 to 64 of A-Z a-z 0-9 . @ - _."
                ),
            ));
        }
        _ => {}
    }
    let duration_seconds = match request.param("DurationSeconds") {
        None => DEFAULT_DURATION_SECONDS,
        Some(raw) => match raw.parse::<u64>() {
            Ok(d) if (MIN_DURATION_SECONDS..=MAX_DURATION_SECONDS).contains(&d) => d,
            _ => {
                return Err(fail(
                    400,
                    "InvalidParameter.DurationSeconds",
                    format!(
                        "The parameter DurationSeconds {raw:?} is invalid: {MIN_DURATION_SECONDS} to {MAX_DURATION_SECONDS} seconds."
                    ),
                ));
            }
        },
    };
    let policy = request.param("Policy").filter(|p| !p.is_empty());
    if let Some(policy) = policy
        && serde_json::from_str::<Value>(policy).is_err()
    {
        return Err(fail(
            400,
            "InvalidParameter.PolicyGrammar",
            "The parameter Policy is not a valid policy document (JSON).".to_string(),
        ));
    }
    Ok(RoleRequest {
        role_arn: role_arn.to_string(),
        account: account.to_string(),
        role_name: role_name.to_string(),
        session_name: session_name.map(str::to_string),
        duration_seconds,
        policy: policy.map(str::to_string),
    })
}

pub(super) fn assume_role(
    shared: &Shared,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
    caller: &AccessKey,
) -> Result<Reply, Reply> {
    let asked = role_request(request, request_id, true)?;
    let role_principal = {
        let state = shared.lock();
        let Some(role) = state.roles.roles.get(&asked.role_arn) else {
            return Err(sts_error(
                404,
                request_id,
                "EntityNotExist.Role",
                &format!("The role {} does not exist.", asked.role_arn),
            ));
        };
        if role
            .allowed
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&caller.principal.uid))
        {
            return Err(sts_error(
                403,
                request_id,
                "NoPermission",
                &format!(
                    "You are not authorized to do this action. You should be authorized by RAM. ({} may not assume {})",
                    caller.principal.uid, asked.role_arn
                ),
            ));
        }
        role.principal.clone()
    };
    let external_id = request
        .param("ExternalId")
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    Ok(grant_role(
        shared,
        seq,
        request_id,
        ACTION_ASSUME_ROLE,
        &asked,
        &role_principal,
        external_id,
        None,
        Some(caller),
    ))
}

pub(super) fn assume_role_with_oidc(
    shared: &Shared,
    seq: usize,
    request: &HttpRequest,
    request_id: &str,
) -> Result<Reply, Reply> {
    let fail =
        |status: u16, code: &str, message: String| sts_error(status, request_id, code, &message);
    let asked = role_request(request, request_id, false)?;
    let Some(provider) = request.param("OIDCProviderArn").filter(|p| !p.is_empty()) else {
        return Err(fail(
            400,
            "MissingOIDCProviderArn",
            "OIDCProviderArn is mandatory for this action.".to_string(),
        ));
    };
    let Some(token) = request.param("OIDCToken").filter(|t| !t.is_empty()) else {
        return Err(fail(
            400,
            "MissingOIDCToken",
            "OIDCToken is mandatory for this action.".to_string(),
        ));
    };
    let role_principal = {
        let state = shared.lock();
        let Some(accepted) = state.roles.oidc_providers.get(provider) else {
            return Err(fail(
                404,
                "EntityNotExist.OIDCProvider",
                format!("The OIDC provider {provider} does not exist."),
            ));
        };
        if accepted != token {
            return Err(fail(
                400,
                "AuthenticationFail.OIDCToken.Invalid",
                "The OIDC token is invalid (not the one the provider issued, or expired)."
                    .to_string(),
            ));
        }
        let Some(role) = state.roles.roles.get(&asked.role_arn) else {
            return Err(fail(
                404,
                "EntityNotExist.Role",
                format!("The role {} does not exist.", asked.role_arn),
            ));
        };
        role.principal.clone()
    };
    Ok(grant_role(
        shared,
        seq,
        request_id,
        ACTION_ASSUME_ROLE_WITH_OIDC,
        &asked,
        &role_principal,
        None,
        Some(provider.to_string()),
        None,
    ))
}

#[allow(clippy::too_many_arguments)]
fn grant_role(
    shared: &Shared,
    seq: usize,
    request_id: &str,
    action: &str,
    asked: &RoleRequest,
    role_principal: &Principal,
    external_id: Option<String>,
    oidc_provider_arn: Option<String>,
    caller: Option<&AccessKey>,
) -> Reply {
    let lifetime = TimeDelta::seconds(i64::try_from(asked.duration_seconds).unwrap_or(3600));
    let (key, expiration) = issue_sts_key(shared, role_principal, lifetime);
    let session = asked
        .session_name
        .clone()
        .unwrap_or_else(|| format!("oidc-{}", random_alnum(8)));
    shared.lock().grants.push(StsGrant {
        seq,
        action: action.to_string(),
        role: asked.role_arn.clone(),
        role_session_name: asked.session_name.clone(),
        duration_seconds: Some(asked.duration_seconds),
        external_id,
        policy: asked.policy.clone(),
        oidc_provider_arn,
        caller_key_id: caller.map(|k| k.id.clone()),
        caller_uid: caller.map(|k| k.principal.uid.clone()),
        key: key.clone(),
        expiration: expiration.clone(),
    });
    let mut body = json!({
        "RequestId": request_id,
        "Credentials": {
            "AccessKeyId": key.id,
            "AccessKeySecret": key.secret,
            "SecurityToken": key.security_token,
            "Expiration": expiration,
        },
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{}:assumed-role/{}/{session}", asked.account, asked.role_name),
            "AssumedRoleId": format!("{}:{session}", role_principal.uid),
        },
    });
    if action == ACTION_ASSUME_ROLE_WITH_OIDC {
        body["OIDCTokenInfo"] = json!({ "Issuer": "https://oidc.fake", "Subject": "system:serviceaccount:default:fake" });
    }
    Reply::json(200, body, Outcome::Granted)
}
