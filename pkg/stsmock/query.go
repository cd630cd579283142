package stsmock

import (
	"net/url"
	"strings"
)

// XML namespaces of the Query-protocol services.
const (
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// maxQueryBody bounds a Query-protocol request body. The largest legal
// parameter is a 131072-character policy document, URL-encoded.
const maxQueryBody = 1 << 20

// policyEscape URL-encodes a policy document the way IAM returns it: spaces
// as %20, because botocore decodes with unquote, not unquote_plus.
func policyEscape(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
