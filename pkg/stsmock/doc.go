// Package stsmock is irsa-local's AWS endpoint: IAM, STS (with AWS-exact web
// identity token validation) and, later, S3 and EKS, behind SigV4.
package stsmock
