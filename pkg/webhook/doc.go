// Package webhook is an EKS-compatible pod identity mutating webhook: a pure
// patch builder that mirrors amazon-eks-pod-identity-webhook's web-identity
// mutation, and the HTTPS admission server around it.
package webhook
