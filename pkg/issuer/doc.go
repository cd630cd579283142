// Package issuer is the self-hosted OIDC issuer of an irsa-local environment:
// the service-account signing keys (stored as the PEM files kube-apiserver
// reads, with kids computed as kube-apiserver computes them), their rotation,
// the discovery document and JWKS in EKS's shape, the environment's CA and
// serving certificates, and token minting for the no-cluster mode.
package issuer
