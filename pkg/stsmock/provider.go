package stsmock

import "strings"

// arnAccountResource splits "arn:aws:iam::ACCOUNT:RESOURCE". ok is false for
// anything else.
func arnAccountResource(arn, service string) (account, resource string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != service || parts[3] != "" {
		return "", "", false
	}
	return parts[4], parts[5], true
}
