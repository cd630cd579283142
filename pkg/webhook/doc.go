// Package webhook is an EKS-compatible pod identity mutating webhook: a pure
// patch builder that mirrors amazon-eks-pod-identity-webhook's web-identity
// mutation, and the HTTPS admission server around it.
//
// The pieces, each usable alone:
//
//   - Mutator / BuildPatch: pod + service account + options in, JSON-patch
//     operations out, no I/O. With default options the patch is the one
//     upstream returns: the projected aws-iam-token volume, the token mount,
//     AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and, when configured,
//     AWS_STS_REGIONAL_ENDPOINTS, AWS_DEFAULT_REGION and AWS_REGION.
//   - WithEmulator: an opt-in extension that also injects AWS_ENDPOINT_URL
//     (and AWS_ENDPOINT_URL_STS, which aws-sdk-go-v2's web-identity
//     provider reads instead)
//     and, for an https endpoint, a CA bundle (AWS_CA_BUNDLE plus a volume
//     from a ConfigMap), so SDKs in the pod talk to a local emulator.
//   - ServiceAccountCache: an informer-backed ServiceAccountGetter that
//     waits a grace period (3s by default; upstream's default is 0) for a
//     service account created just before its pod.
//   - CAPublisher: keeps the emulator CA ConfigMap in every namespace, as
//     kube-controller-manager does for kube-root-ca.crt.
//   - Server: the /mutate and /healthz HTTPS endpoints. It always allows;
//     with WithCAPublisher it also ensures the CA ConfigMap exists in a
//     pod's namespace before returning a patch that mounts it.
//   - Configuration: the MutatingWebhookConfiguration registering Server.
//   - Run: cache, publisher and server together, for a ready-made webhook.
//
// Out of scope: upstream's EKS Pod Identity (container-credentials) variant,
// its ConfigMap mode (--watch-config-map), --compose-role-arn, and its
// CSR-based certificate handling. The serving certificate is the caller's.
package webhook
