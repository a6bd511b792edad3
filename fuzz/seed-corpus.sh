#!/usr/bin/env bash
# Writes a few well-formed seed inputs per fuzz target into fuzz/corpus/<target>/ (the corpora
# themselves are not committed: fuzz/corpus is in .gitignore). Needs only bash and coreutils.
#
#   fuzz/seed-corpus.sh            # from anywhere; existing corpus files are kept
#
# The secret fields hold PLANTEDSECRET (the key PEM's body, the CLI profile's secret, the
# security token in the server's string to sign): the targets fail if an error message ever
# quotes it.
set -euo pipefail

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus="$fuzz_dir/corpus"
cert_file="$fuzz_dir/../src/testdata/three-hours.pem"
secret=PLANTEDSECRET

cert_pem=$(cat "$cert_file")
key_pem=$(printf -- '-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----' "$secret")
cert_b64=$(base64 -w0 <"$cert_file")
key_b64=$(printf '%s\n' "$key_pem" | base64 -w0)
# The certificate's DER (the PEM body, decoded).
cert_der() { grep -v -- '-----' "$cert_file" | base64 -d; }
# Text as the contents of a JSON string (these samples hold no `"` or `\`).
json_text() { awk 'BEGIN { ORS = "" } { if (NR > 1) print "\\n"; print }'; }

mkdir -p "$corpus"/{kubeconfig,api_answer,cache_entry,exec_info,cli_config,error_body}

# --- kubeconfig -----------------------------------------------------------------------------
# What DescribeClusterUserKubeconfig returns: one cluster, one context, a certificate user.
ack_kubeconfig="apiVersion: v1
clusters:
- cluster:
    server: https://192.0.2.1:6443
    certificate-authority-data: $cert_b64
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: '2761'
  name: 2761-c1
current-context: 2761-c1
kind: Config
preferences: {}
users:
- name: '2761'
  user:
    client-certificate-data: $cert_b64
    client-key-data: $key_b64"
printf '%s\n' "$ack_kubeconfig" >"$corpus/kubeconfig/ack.yaml"

# Two clusters and users; the current context decides.
cat >"$corpus/kubeconfig/two-contexts.yaml" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: 'https://192.0.2.1:6443'}
- name: b
  cluster: {server: 'https://192.0.2.2:6443', certificate-authority-data: $cert_b64}
contexts:
- {name: ca, context: {cluster: a, user: ua}}
- {name: cb, context: {cluster: b, user: ub}}
current-context: cb
users:
- name: ua
  user: {token: $secret}
- name: ub
  user:
    client-certificate-data: |
      $(printf '%s\n%s\n' "$cert_pem" "$cert_pem" | base64 -w0)
    client-key-data: $key_b64
EOF

# A token user.
cat >"$corpus/kubeconfig/token.yaml" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: k, cluster: {server: 'https://192.0.2.1:6443'}}]
users: [{name: u, user: {token: '  $secret  '}}]
EOF

# Mode 0x01: the certificate's DER, wrapped in PEM and a kubeconfig by the target.
{ printf '\001'; cert_der; } >"$corpus/kubeconfig/der.bin"
# Mode 0x02: the key's PEM text (the target appends the secret).
printf '\002-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n' \
    >"$corpus/kubeconfig/key.bin"
printf '\002-----BEGIN RSA PRIVATE KEY-----\n' >"$corpus/kubeconfig/key-rsa.bin"

# --- api_answer -----------------------------------------------------------------------------
config_json=$(printf '%s\n' "$ack_kubeconfig" | json_text)
printf '{"config":"%s","expiration":"2026-01-02T03:04:05Z"}' "$config_json" \
    >"$corpus/api_answer/cs.json"
printf '{"RequestId":"5C1A-R","Kubeconfig":"%s","ExpireTime":"2026-01-02 03:04:05"}' \
    "$config_json" >"$corpus/api_answer/mesh.json"
printf '{"requestId":"R2","config":"%s","expiration":"2026-01-02T03:04:05+08:00"}' \
    "$config_json" >"$corpus/api_answer/cs-request-id.json"

# --- cache_entry ----------------------------------------------------------------------------
key='[\"ack-credential-plugin/cache-key/v1\",\"DescribeClusterUserKubeconfig\",\"c1\",null,false,180,\"https://cs.aliyuncs.com\",\"access-key:LTAI1\"]'
printf '{"format":1,"key":"%s","fetched_at":1767322800,"not_after":1767333600,"refresh_at":1767331440,"credential":{"clientCertificateData":"%s","clientKeyData":"%s"}}' \
    "$key" "$(printf '%s\n' "$cert_pem" | json_text)" "$(printf '%s\n' "$key_pem" | json_text)" \
    >"$corpus/cache_entry/certificate.json"
key_mesh='[\"ack-credential-plugin/cache-key/v1\",\"DescribeUserPermissions\",\"m1\",\"2761\",true,60,\"https://servicemesh.aliyuncs.com\",\"sts:STS.a\"]'
printf '{"format":1,"key":"%s","fetched_at":1,"not_after":3,"refresh_at":2,"credential":{"token":"%s"}}' \
    "$key_mesh" "$secret" >"$corpus/cache_entry/token.json"

# --- exec_info ------------------------------------------------------------------------------
printf '%s' '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}' \
    >"$corpus/exec_info/v1.json"
printf '%s' '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://192.0.2.1:6443","certificate-authority-data":"AAAA","config":null},"interactive":true}}' \
    >"$corpus/exec_info/v1beta1-cluster.json"
printf '%s' '{"kind":"ExecCredential","spec":{}}' >"$corpus/exec_info/no-version.json"

# --- cli_config -----------------------------------------------------------------------------
# As the aliyun CLI writes it: every field of every profile.
profile() { # name mode
    printf '{"name":"%s","mode":"%s","access_key_id":"LTAI1","access_key_secret":"%s","sts_token":"","sts_region":"","ram_role_name":"","ram_role_arn":"acs:ram::1:role/r","ram_session_name":"s","source_profile":"","private_key":"","key_pair_name":"","expired_seconds":900,"verified":"","region_id":"cn-hangzhou","output_format":"json","language":"en","site":"","retry_timeout":0,"connect_timeout":0,"retry_count":0,"process_command":"","credentials_uri":"","oidc_provider_arn":"","oidc_token_file":""}' \
        "$1" "$2" "$secret"
}
printf '{"current":"default","profiles":[%s],"meta_path":""}' "$(profile default AK)" \
    >"$corpus/cli_config/ak.json"
printf '{"current":"role","profiles":[%s,%s,%s]}' \
    "$(profile default AK)" "$(profile role RamRoleArn)" "$(profile sts StsToken)" \
    >"$corpus/cli_config/three-profiles.json"
printf '{"current":"x","profiles":[{"name":"x","mode":"External","process_command":"acs-sso login"}]}' \
    >"$corpus/cli_config/external.json"

# --- error_body -----------------------------------------------------------------------------
printf '{"RequestId":"R","HostId":"cs.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:GET\\n\\napplication/json\\n\\nx-acs-security-token:%s\\n/clusters/c1/user_config"}' \
    "$secret" >"$corpus/error_body/signature.json"
printf '%s' '{"code":"ErrorClusterNotFound","message":"cluster c1 not found","requestId":"R2","status":404}' \
    >"$corpus/error_body/cs-business.json"
printf '%s' '{"Code":"Throttling.User","Message":"Request was denied due to user flow control.","RequestId":"R3","request_id":"R4"}' \
    >"$corpus/error_body/throttling.json"

for target in "$corpus"/*/; do
    printf '%-12s %s files\n' "$(basename "$target")" "$(find "$target" -type f | wc -l)"
done
