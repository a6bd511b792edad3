//! Flag and variable values that must be right before any request: ids, uids, lifetimes and
//! numbers of seconds. Each error names the flag or variable and says what would be right.

use std::time::Duration;

use crate::env::Env;
use crate::error::Error;

pub(crate) fn seconds(env: &Env, name: &str) -> Result<Option<Duration>, Error> {
    env.get(name)
        .map(|text| match text.trim().parse::<f64>() {
            Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Duration::from_secs_f64(secs)),
            _ => Err(Error::Usage(format!(
                "{name}={text:?} is not a number of seconds above 0 and at most 3600"
            ))),
        })
        .transpose()
}

/// A cluster or mesh id: a short run of `[A-Za-z0-9-]`. It becomes part of a URL path and of a
/// cache file name, so nothing else may pass.
pub(crate) fn validate_id(flag: &str, id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::Usage(format!(
            "{flag} {id:?} is not a valid id: expected up to 64 letters, digits and `-` \
             (e.g. c82e6987e2961451182edacd74faf0693)"
        )));
    }
    Ok(())
}

/// A RAM user's uid: digits.
pub(crate) fn validate_uid(uid: &str) -> Result<(), Error> {
    if uid.is_empty() || uid.len() > 32 || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Usage(format!(
            "--uid {uid:?} is not a valid uid: expected the RAM user's numeric id \
             (e.g. 272345678901234567)"
        )));
    }
    Ok(())
}

/// `--expiration`: `90m`, `3h` or `2d`, in minutes, within the API's 15..=4320.
pub(crate) fn parse_expiration(text: &str) -> Result<u32, Error> {
    let bad = |why: &str| {
        Error::Usage(format!(
            "--expiration {text:?} {why}: give a lifetime between 15m and 72h, such as 90m, 3h or 2d"
        ))
    };
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| bad("has no unit"))?;
    let (number, unit) = text.split_at(split);
    let number: u32 = number
        .parse()
        .map_err(|_| bad("is not a number with a unit"))?;
    let per_unit = match unit {
        "m" | "min" => 1,
        "h" => 60,
        "d" => 24 * 60,
        _ => return Err(bad("has an unknown unit")),
    };
    let minutes = number
        .checked_mul(per_unit)
        .ok_or_else(|| bad("is too long"))?;
    if !(15..=4320).contains(&minutes) {
        return Err(bad("is out of range"));
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_accepts_minutes_hours_days_in_range() {
        assert_eq!(parse_expiration("90m").unwrap(), 90);
        assert_eq!(parse_expiration("3h").unwrap(), 180);
        assert_eq!(parse_expiration("2d").unwrap(), 2880);
        assert_eq!(parse_expiration("15m").unwrap(), 15);
        assert_eq!(parse_expiration("72h").unwrap(), 4320);
        for bad in [
            "14m",
            "73h",
            "4d",
            "3",
            "h",
            "",
            "3x",
            "-3h",
            "99999999999d",
            "1h30m",
        ] {
            let error = parse_expiration(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn ids_and_uids_are_checked() {
        assert!(validate_id("--cluster-id", "c82e6987e2961451182edacd74faf0693").is_ok());
        assert!(validate_id("--cluster-id", "abc-123").is_ok());
        for bad in ["", "../x", "a/b", "a b", "c1?x=1", "é", &"a".repeat(65)] {
            assert!(validate_id("--cluster-id", bad).is_err(), "{bad}");
        }
        assert!(validate_uid("272345678901234567").is_ok());
        for bad in ["", "12a", "-1", "1 2"] {
            assert!(validate_uid(bad).is_err(), "{bad}");
        }
    }
}
