//! The names of the API actions whose refusal [`super::hints`] words by name. They live in this
//! leaf so that the products' modules, which send them, and the hints, which read them, both
//! depend on it rather than on each other (answers go through the hints, and every product
//! module through the client that reads answers).

/// adcp: an ACK One fleet's hub cluster kubeconfig.
pub(crate) const HUB_CLUSTER_KUBECONFIG: &str = "DescribeHubClusterKubeconfig";
/// cs: the clusters an identity can see. RAM calls its permission `cs:GetClusters`.
pub(crate) const LIST_CLUSTERS: &str = "DescribeClustersV1";
/// servicemesh: a mesh's kubeconfig.
pub(crate) const SERVICE_MESH_KUBECONFIG: &str = "DescribeServiceMeshKubeconfig";
/// servicemesh: the meshes an identity can see.
pub(crate) const LIST_SERVICE_MESHES: &str = "DescribeServiceMeshes";
/// STS.
pub(crate) const ASSUME_ROLE: &str = "AssumeRole";
/// STS, with an OIDC token (RRSA).
pub(crate) const ASSUME_ROLE_WITH_OIDC: &str = "AssumeRoleWithOIDC";
