//! The ROA and RPC V2 verifiers against the official vectors.

use super::*;

/// Vector `roa-python-core-v1` (aliyun-openapi-python-sdk, `test_roa_signature_composer.py`).
#[test]
fn verifier_matches_vector_roa_python_core_v1() {
    let headers = pairs(&[
        ("Date", "2018-12-04T03:55:31Z"),
        ("Accept", "application/octet-stream"),
        ("x-acs-signature-method", "HMAC-SHA1"),
        ("x-acs-signature-version", "1.0"),
    ]);
    let sts = roa_string_to_sign("GET", "/", &[], &headers);
    assert_eq!(
        sts,
        "GET\napplication/octet-stream\n\n\n2018-12-04T03:55:31Z\nx-acs-signature-method:HMAC-SHA1\nx-acs-signature-version:1.0\n/"
    );
    assert_eq!(
        format!(
            "acs access_key_id:{}",
            roa_signature("access_key_secret", &sts)
        ),
        "acs access_key_id:HKCpm41tJg6b3EYdtGMbNuwALZU="
    );
}

/// Vector `roa-go-sdk-v1-empty-body` (alibaba-cloud-sdk-go, `roa_signature_composer_test.go`).
#[test]
fn verifier_matches_vector_roa_go_sdk_v1_empty_body() {
    let headers = pairs(&[
        ("x-sdk-client", "golang/1.0.0"),
        ("x-sdk-invoke-type", "common"),
        ("Accept-Encoding", "identity"),
        ("x-acs-version", ""),
        ("x-acs-credentials-provider", "static_ak"),
        ("Date", "mock date"),
        ("x-acs-signature-method", "HMAC-SHA1"),
        ("x-acs-signature-version", "1.0"),
        ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
        ("Content-Type", "application/octet-stream"),
        ("Accept", "application/json"),
    ]);
    let sts = roa_string_to_sign("GET", "/users/:user", &[], &headers);
    assert_eq!(
        sts,
        "GET\napplication/json\n1B2M2Y8AsgTpgAmY7PhCfg==\napplication/octet-stream\nmock date\nx-acs-credentials-provider:static_ak\nx-acs-signature-method:HMAC-SHA1\nx-acs-signature-version:1.0\nx-acs-version:\n/users/:user"
    );
    assert_eq!(
        format!("acs accessKeyId:{}", roa_signature("accessKeySecret", &sts)),
        "acs accessKeyId:PPPSwv0LPoLvg6rGxp7dd4uPESo="
    );
}

/// Vector `roa-java-sdk-v1-string-to-sign` (aliyun-openapi-java-sdk, composeStringToSignTest):
/// sorted query, empty value as a bare key, non-x-acs headers left out.
#[test]
fn verifier_matches_vector_roa_java_sdk_v1_string_to_sign() {
    let query = pairs(&[
        ("queryKey1", "queryValue1"),
        ("queryKey2", "queryValue2"),
        ("queryKey3", ""),
        ("queryKey4", "queryValue4"),
    ]);
    let headers = pairs(&[
        ("headerKey1", "headerValue1"),
        ("headerKey2", "headerValue2"),
        ("Accept", "XML"),
        ("Content-MD5", "Content-MD5-Value"),
        ("Content-Type", "Content-Type-Value"),
        ("Date", "19910706"),
        ("x-acs-signature-version", "signature-version-value"),
    ]);
    assert_eq!(
        roa_string_to_sign("GET", "http://www.aliyun.com/pathValue1", &query, &headers),
        "GET\nXML\nContent-MD5-Value\nContent-Type-Value\n19910706\nx-acs-signature-version:signature-version-value\nhttp://www.aliyun.com/pathValue1?queryKey1=queryValue1&queryKey2=queryValue2&queryKey3&queryKey4=queryValue4"
    );
}

/// Vector `roa-java-sdk-v1-string-to-sign-raw-values`: query values are signed raw.
#[test]
fn verifier_matches_vector_roa_java_sdk_v1_raw_values() {
    let query = pairs(&[
        ("queryKey1", "queryValue1"),
        ("queryKey2", "http://www.test.com?queryKey21=queryValue21"),
        ("queryKey3", ""),
        ("queryKey5", "http://test.domain?key=value"),
    ]);
    let headers = pairs(&[
        ("headerKey1", "headerValue1"),
        ("headerKey2", "headerValue2"),
        ("x-acs-signature-version", "signature-version-value"),
    ]);
    assert_eq!(
        roa_string_to_sign("GET", "http://www.aliyun.com/pathValue1", &query, &headers),
        "GET\n\n\n\n\nx-acs-signature-version:signature-version-value\nhttp://www.aliyun.com/pathValue1?queryKey1=queryValue1&queryKey2=http://www.test.com?queryKey21=queryValue21&queryKey3&queryKey5=http://test.domain?key=value"
    );
}

/// Vectors `roa-python-core-v1-string-to-sign` and `roa-openapi-util-py-string-to-sign`:
/// only `x-acs-*` headers are signed, header names match case-insensitively.
#[test]
fn verifier_matches_vectors_python_and_openapi_util_string_to_sign() {
    let headers = pairs(&[
        ("Accept", "application/json"),
        ("Content-MD5", "hash"),
        ("Content-Type", "text/plain"),
        ("Date", "date str"),
        ("x-acs-test", "acs str"),
        ("xx-x-acs-test", "no sign"),
    ]);
    assert_eq!(
        roa_string_to_sign("GET", "/", &pairs(&[("key", "value")]), &headers),
        "GET\napplication/json\nhash\ntext/plain\ndate str\nx-acs-test:acs str\n/?key=value"
    );
    let headers = pairs(&[
        ("x-acs-meta", "user"),
        ("accept", "application/json"),
        ("content-md5", "md5"),
        ("content-type", "application/json"),
        ("date", "date"),
    ]);
    let query = pairs(&[("ccp", "ok"), ("test", "tests"), ("test1", "")]);
    assert_eq!(
        roa_string_to_sign("GET", "Pathname", &query, &headers),
        "GET\napplication/json\nmd5\napplication/json\ndate\nx-acs-meta:user\nPathname?ccp=ok&test=tests&test1"
    );
}

/// Vector `roa-openapi-util-empty-request` (darabonba-openapi-util `test_get_roa_signature`).
#[test]
fn verifier_matches_vector_roa_openapi_util_empty_request() {
    let sts = roa_string_to_sign("GET", "", &[], &[]);
    assert_eq!(sts, "GET\n\n\n\n\n");
    assert_eq!(
        roa_signature("secret", &sts),
        "XGXDWA78AEvx/wmfxKoVCq/afWw="
    );
}

// --- RPC V2 verifier: official vectors ----------------------------------------------------

/// Vector `rpc-doc-describededicatedhosts` (Alibaba Cloud docs, RPC mechanism, fixed values).
#[test]
fn rpc_verifier_matches_vector_doc_describededicatedhosts() {
    let params = pairs(&[
        ("AccessKeyId", "testid"),
        ("Action", "DescribeDedicatedHosts"),
        ("Format", "JSON"),
        ("RegionId", "cn-beijing"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2023-03-13T08:34:30Z"),
        ("Version", "2014-05-26"),
    ]);
    let sts = rpc_string_to_sign("GET", &params);
    assert_eq!(
        sts,
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeDedicatedHosts%26Format%3DJSON%26RegionId%3Dcn-beijing%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dedb2b34af0af9a6d14deaf7c1a5315eb%26SignatureVersion%3D1.0%26Timestamp%3D2023-03-13T08%253A34%253A30Z%26Version%3D2014-05-26"
    );
    assert_eq!(
        rpc_signature("testsecret", &sts),
        "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
    );
    // Order of the parameters as sent does not matter, and Signature is left out.
    let mut shuffled = params.clone();
    shuffled.reverse();
    shuffled.push(("Signature".into(), "9NaGiOspFP5UPcwX8Iwt2YJXXuk=".into()));
    assert_eq!(rpc_string_to_sign("GET", &shuffled), sts);
}

/// Vector `rpc-openapi-util-multi-lang` (darabonba-openapi-util, every language's test).
#[test]
fn rpc_verifier_matches_vector_openapi_util_query_and_body() {
    let params = pairs(&[("query", "test"), ("body", "test")]);
    let sts = rpc_string_to_sign("GET", &params);
    assert_eq!(sts, "GET&%2F&body%3Dtest%26query%3Dtest");
    assert_eq!(
        rpc_signature("secret", &sts),
        "XlUyV4sXjOuX5FnjUz9IF9tm5rU="
    );
}

/// Vectors `rpc-go-sdk-v1-ak` and `rpc-go-sdk-v1-sts-token` (alibaba-cloud-sdk-go): empty
/// values, a space (`%20`) in a value, `SecurityToken` signed like any other parameter.
#[test]
fn rpc_verifier_matches_vectors_go_sdk_v1() {
    let mut params = pairs(&[
        ("AccessKeyId", "accessKeyId"),
        ("Action", ""),
        ("Format", "JSON"),
        ("RegionId", "regionId"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "MOCK_UUID"),
        ("SignatureType", ""),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "mock date"),
        ("Version", ""),
    ]);
    assert_eq!(
        rpc_signature("accessKeySecret", &rpc_string_to_sign("GET", &params)),
        "7loPmFjvDnzOVnQeQNj85S6nFGY="
    );
    params.push(("SecurityToken".into(), "accessKeyStsToken".into()));
    assert_eq!(
        rpc_signature("accessKeySecret", &rpc_string_to_sign("GET", &params)),
        "5Nxdcler+ihqWqv0Hr2On4PsBf4="
    );
}

/// Vector `rpc-go-sdk-v1-string-to-sign-url-value`: values are encoded, then the whole
/// canonical query again (`%` becomes `%25`).
#[test]
fn rpc_verifier_matches_vector_go_sdk_v1_url_value() {
    let params = pairs(&[("key", "value"), ("q", "http://domain/?q=value&q2=value2")]);
    assert_eq!(
        rpc_string_to_sign("GET", &params),
        "GET&%2F&key%3Dvalue%26q%3Dhttp%253A%252F%252Fdomain%252F%253Fq%253Dvalue%2526q2%253Dvalue2"
    );
    assert_eq!(rpc_percent_encode("a b*~/+=é"), "a%20b%2A~%2F%2B%3D%C3%A9");
}

/// Vector `acs3-doc-runinstances` (the V3 documentation's example with fixed values): the
/// fake's own V3 canonical request, string to sign and signature.
#[test]
fn v3_verifier_matches_the_documentation_vector() {
    let query = pairs(&[
        (
            "ImageId",
            "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
        ),
        ("RegionId", "cn-shanghai"),
    ]);
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let headers = pairs(&[
        ("host", "ecs.cn-shanghai.aliyuncs.com"),
        ("x-acs-action", "RunInstances"),
        ("x-acs-content-sha256", empty),
        ("x-acs-date", "2023-10-26T10:22:32Z"),
        ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
        ("x-acs-version", "2014-05-26"),
    ]);
    let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    let canonical = v3_canonical_request("POST", "/", &query, &headers, &signed, empty);
    assert_eq!(
        canonical,
        "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n\
         host:ecs.cn-shanghai.aliyuncs.com\nx-acs-action:RunInstances\n\
         x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
         x-acs-date:2023-10-26T10:22:32Z\nx-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n\
         x-acs-version:2014-05-26\n\nhost;x-acs-action;x-acs-content-sha256;x-acs-date;\
         x-acs-signature-nonce;x-acs-version\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let to_sign = v3_string_to_sign(&canonical);
    assert_eq!(
        to_sign,
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    );
    assert_eq!(
        v3_signature("YourAccessKeySecret", &to_sign),
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    );
}

/// Vector `acs3-openapi-util-go` (openapi-util `Test_GetAuthorization`): an empty value is
/// `k=`, two headers of one name are joined, sorted, by `,`.
#[test]
fn v3_verifier_matches_the_go_sdk_vector() {
    let query = pairs(&[("test", "ok"), ("empty", "")]);
    let headers = pairs(&[("x-acs-test", "http"), ("x-acs-TEST", "https")]);
    let payload = "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23";
    let canonical =
        v3_canonical_request("", "/", &query, &headers, &["x-acs-test".into()], payload);
    assert_eq!(
        canonical,
        "\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n\
         55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"
    );
    assert_eq!(
        v3_signature("secret", &v3_string_to_sign(&canonical)),
        "4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3"
    );
}
