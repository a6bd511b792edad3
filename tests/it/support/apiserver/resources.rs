//! What the fake API server serves: `/version`, discovery, the pods of `default` (a `PodList`,
//! or a `Table` when kubectl asks for one), `SelfSubjectReview`s, and Kubernetes `Status`
//! errors (401, 403, 404, 405).

use super::http::HttpRequest;
use super::tls::ClientIdentity;
use super::{POD_NAME, SERVER_GIT_VERSION, State, lock};

fn status_body(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
    .to_string()
}

/// The answer to one request, made with this verified client certificate (if any): (HTTP
/// status, JSON body).
pub(super) fn respond(
    state: &State,
    req: &HttpRequest,
    client: Option<&ClientIdentity>,
) -> (u16, String) {
    let Some(client) = client else {
        return (401, status_body(401, "Unauthorized", "Unauthorized"));
    };
    if lock(&state.revoked).contains(&client.serial) {
        return (401, status_body(401, "Unauthorized", "Unauthorized"));
    }
    let client_cn = client.cn.as_deref();
    if let Some(required) = lock(&state.required_cn).as_deref()
        && client_cn != Some(required)
    {
        let user = client_cn.unwrap_or("");
        let message = format!(
            "{} is forbidden: User \"{user}\" cannot {} path \"{}\"",
            req.path,
            req.method.to_ascii_lowercase(),
            req.path
        );
        return (403, status_body(403, "Forbidden", &message));
    }
    if let Some(version) = req
        .path
        .strip_prefix("/apis/authentication.k8s.io/")
        .and_then(|rest| rest.strip_suffix("/selfsubjectreviews"))
        && req.method == "POST"
    {
        if !lock(&state.review_versions).contains(&version) {
            let message = "the server could not find the requested resource";
            return (404, status_body(404, "NotFound", message));
        }
        let mut groups = client.organizations.clone();
        groups.push("system:authenticated".to_string());
        let review = serde_json::json!({
            "kind": "SelfSubjectReview",
            "apiVersion": format!("authentication.k8s.io/{version}"),
            "metadata": {"creationTimestamp": null},
            "status": {"userInfo": {"username": client_cn.unwrap_or(""), "groups": groups}},
        });
        return (201, review.to_string());
    }
    if req.method != "GET" {
        let message = format!("the server does not allow this method on {}", req.path);
        return (405, status_body(405, "MethodNotAllowed", &message));
    }
    let path = req.path.trim_end_matches('/');
    let wants_table = req.header("accept").is_some_and(|a| a.contains("as=Table"));
    let body = match path {
        "/version" => version_json(),
        "/api" => serde_json::json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [],
        }),
        "/apis" => serde_json::json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        "/api/v1" => api_v1_resources(),
        "/api/v1/namespaces/default/pods" if wants_table => pod_table(),
        "/api/v1/namespaces/default/pods" => serde_json::json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "1"},
            "items": [pod()],
        }),
        p if p == format!("/api/v1/namespaces/default/pods/{POD_NAME}") => pod(),
        _ => {
            let message = "the server could not find the requested resource";
            return (404, status_body(404, "NotFound", message));
        }
    };
    (200, body.to_string())
}

fn version_json() -> serde_json::Value {
    serde_json::json!({
        "major": "1",
        "minor": "31",
        "gitVersion": SERVER_GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-13T00:00:00Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn api_v1_resources() -> serde_json::Value {
    serde_json::json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": false,
                "kind": "Namespace",
                "verbs": ["get", "list"],
                "shortNames": ["ns"],
            },
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": true,
                "kind": "Pod",
                "verbs": ["get", "list"],
                "shortNames": ["po"],
                "categories": ["all"],
            },
        ],
    })
}

fn pod_metadata() -> serde_json::Value {
    serde_json::json!({
        "name": POD_NAME,
        "namespace": "default",
        "uid": "6f1c7a52-2d0e-4a55-9a57-000000000001",
        "resourceVersion": "1",
        "creationTimestamp": "2024-01-01T00:00:00Z",
        "labels": {"app": "hello"},
    })
}

fn pod() -> serde_json::Value {
    serde_json::json!({
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": pod_metadata(),
        "spec": {"containers": [{"name": "hello", "image": "registry.invalid/hello:1"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "hello",
                "ready": true,
                "restartCount": 0,
                "image": "registry.invalid/hello:1",
                "imageID": "",
                "state": {"running": {"startedAt": "2024-01-01T00:00:01Z"}},
            }],
        },
    })
}

fn pod_table() -> serde_json::Value {
    let column = |name: &str, format: &str, description: &str| {
        serde_json::json!({
            "name": name,
            "type": "string",
            "format": format,
            "description": description,
            "priority": 0,
        })
    };
    serde_json::json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": "1"},
        "columnDefinitions": [
            column("Name", "name", "Name must be unique within a namespace."),
            column("Ready", "", "The aggregate readiness state of this pod."),
            column("Status", "", "The aggregate status of the containers in this pod."),
            column("Restarts", "", "The number of times the containers have been restarted."),
            column("Age", "", "Time since the pod was created."),
        ],
        "rows": [{
            "cells": [POD_NAME, "1/1", "Running", "0", "1y"],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": pod_metadata(),
            },
        }],
    })
}
