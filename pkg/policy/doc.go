// Package policy parses and evaluates IAM policy documents: identity
// policies, role trust policies, session policies and bucket policies.
// Every decision carries an explanation of the statement or condition that
// produced it.
package policy
