// Package stsmock is irsa-local's AWS endpoint: one HTTP handler that
// serves IAM, STS, S3 and EKS (the cluster description, and its tags) to
// real AWS clients, behind SigV4, on an emulator clock, with every decision
// recorded in a CloudTrail-shaped trail.
//
// STS validates web-identity tokens as AWS does (issuer discovery and JWKS
// over HTTPS, signature, claims, the registered OIDC provider and its
// client IDs) and decides the role's trust policy with pkg/policy. Calls
// made with the resulting sessions are authorized by the same engine:
// identity policies intersected with session policies, plus the bucket
// policy for S3, explicit deny first. The admin credentials act as the
// account root. A small admin API (/_irsa-local/...) moves the clock and
// resets state for tests.
//
// The files follow the resources: sts.go (token validation and
// AssumeRoleWithWebIdentity), iam_providers.go, iam_roles.go,
// iam_policies.go and iam_tags.go, s3*.go, eks.go, authz.go (every
// authorization decision), server.go (routing, the admin API), and
// query.go (the Query protocol's codec and errors).
package stsmock
