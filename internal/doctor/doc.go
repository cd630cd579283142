// Package doctor walks every link of the IRSA chain of a cluster and an AWS
// endpoint and says which one is broken and how to mend it: the cluster, the
// apiserver's issuer, the issuer's discovery document and keys, the IAM OIDC
// provider, the service account's role annotation, the pod identity webhook,
// the role's trust policy against the token a pod would get, and the role's
// permissions.
//
// Checks are data (Check: name, status, detail, fix), so the command line
// prints them as text or JSON and tests compare them. Run performs them in
// chain order against a Target; the pure parts, DiagnoseTrust and
// DiagnosePermissions, evaluate policies with pkg/policy on exactly the
// requests the AWS endpoint builds (pkg/stsmock), so a verdict here is the
// verdict AssumeRoleWithWebIdentity and S3 would give.
package doctor
