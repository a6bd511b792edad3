//! Endpoint overrides and regions: what may be named as a base URL, and what is a region id.

use std::net::IpAddr;

/// An endpoint override: an `https://` base URL, or `http://` for a loopback host only, since
/// the requests carry signatures and tokens. Returned without a trailing slash.
pub(crate) fn validate(text: &str) -> Result<String, String> {
    let bad = |why: &str| format!("endpoint {text:?} cannot be used: {why}");
    let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad(
            "expected a base URL such as https://cs.cn-hangzhou.aliyuncs.com",
        ));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(bad(
                "plain http:// is only allowed for loopback addresses; use https://",
            ));
        }
        _ => return Err(bad("the scheme must be https://")),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// A URL's `host[:port]`, the port only when it is not the scheme's default: what a `Host`
/// header carries. `None` for a URL without a host.
pub(crate) fn authority(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

/// A URL's `scheme://host[:port]`, without the path, query or user info that may carry a
/// token. `None` for a URL without a host.
pub(crate) fn origin(url: &reqwest::Url) -> Option<String> {
    Some(format!("{}://{}", url.scheme(), authority(url)?))
}

/// `localhost` or a loopback address.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A region id (`cn-hangzhou`): it becomes part of a host name, so nothing else may pass.
pub(crate) fn validate_region(region: &str) -> Result<(), String> {
    if region.is_empty()
        || region.len() > 32
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "region {region:?} is not a valid region id (e.g. cn-hangzhou)"
        ));
    }
    Ok(())
}

/// The endpoint of `product` in `region`, its VPC endpoint with `vpc`:
/// `https://{product}[-vpc].{region}.aliyuncs.com`. The region is checked first, since it
/// becomes part of the host name.
pub(crate) fn regional(product: &str, region: &str, vpc: bool) -> Result<String, String> {
    validate_region(region)?;
    let vpc = if vpc { "-vpc" } else { "" };
    Ok(format!("https://{product}{vpc}.{region}.aliyuncs.com"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_only_for_loopback() {
        assert_eq!(
            validate("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(validate("http://[::1]:1").is_ok());
        assert!(validate("http://localhost:1").is_ok());
        assert_eq!(
            validate("https://cs.cn-hangzhou.aliyuncs.com").unwrap(),
            "https://cs.cn-hangzhou.aliyuncs.com"
        );
        for bad in [
            "http://cs.aliyuncs.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "cs.aliyuncs.com",
            "https://cs.aliyuncs.com/?x=1",
            "https://user@cs.aliyuncs.com",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_are_ids() {
        assert!(validate_region("cn-hangzhou").is_ok());
        for bad in ["", "cn hangzhou/", "CN", &"a".repeat(33)] {
            assert!(validate_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regional_endpoints_are_checked_and_may_be_vpc() {
        assert_eq!(
            regional("cs", "cn-hangzhou", true).unwrap(),
            "https://cs-vpc.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            regional("adcp", "cn-beijing", false).unwrap(),
            "https://adcp.cn-beijing.aliyuncs.com"
        );
        assert!(regional("sts", "cn hangzhou/", false).is_err());
    }
}
