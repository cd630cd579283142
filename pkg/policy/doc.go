// Package policy parses and evaluates IAM policy documents: identity
// policies, role trust policies, session policies and bucket policies.
// Every decision carries an explanation of the statement or condition that
// produced it.
//
// Documents are parsed once, when they are written, by Parse. Parse applies
// the rules of the document's Kind and refuses what AWS refuses with a
// *MalformedError whose Message is the text AWS returns; its Detail names
// the exact problem. Parsing compiles everything that does not depend on a
// request, so evaluation only matches strings.
//
// Evaluate answers one question against documents that play the same part,
// such as a role's trust policy for AssumeRoleWithWebIdentity or its
// identity policies: an applicable Deny wins, then an applicable Allow, else
// the request is implicitly denied. Authorize combines identity, session
// and resource policies for a request made with a role session. A Result
// names the deciding statement, and for an implicit deny lists the Allow
// statements that came closest with the resource or condition that failed
// and the value the request had.
//
// A parsed Document is immutable and the package keeps no mutable state, so
// documents can be evaluated from many goroutines at once.
package policy
