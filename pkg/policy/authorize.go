package policy

// Authorize decides a request made with a role session against the role's
// identity policies, the session's policies and the resource's policy, the
// way AWS combines them for access within one account:
//
//  1. An applicable Deny in any identity, session or resource policy denies
//     (checked in that order to pick the Decider).
//  2. Otherwise the request is allowed if either
//     a. an identity policy allows it, and a session policy allows it too
//     or no session policy was given (session policies only narrow); or
//     b. a resource policy statement allows it naming the session ARN as
//     principal, in which case session policies do not limit it; or
//     c. a resource policy statement allows it naming the role ARN (or
//     "*"), and the session policies (if any) allow it as in (a).
//  3. Otherwise it is implicitly denied.
//
// A resource policy statement that names the caller only through its
// account ("123456789012", "arn:aws:iam::123456789012:root") grants nothing
// by itself: it delegates to the account, so the identity policies must
// allow, as in (a). Its Deny still denies.
//
// Pass nil or empty session when the session has no session policies: that
// is different from session policies that allow nothing.
func Authorize(req Request, identity, session, resource []NamedDocument) Result {
	id := evaluate(&req, identity, false)
	hasSession := len(session) > 0
	var ss evaluation
	if hasSession {
		ss = evaluate(&req, session, false)
	}
	rs := evaluate(&req, resource, true)

	for _, e := range []evaluation{id, ss, rs} {
		if e.decision == ExplicitDeny {
			return Result{Decision: ExplicitDeny, Decider: e.decider, Reason: "explicitly denied by " + e.decider.String()}
		}
	}
	sessionAllows := !hasSession || ss.decision == Allow
	also := ""
	if hasSession && ss.decision == Allow {
		also = " and " + ss.decider.String()
	}
	switch {
	case id.decision == Allow && sessionAllows:
		return Result{Decision: Allow, Decider: id.decider, Reason: "allowed by " + id.decider.String() + also}
	case rs.sessionAllow != nil:
		return Result{Decision: Allow, Decider: rs.sessionAllow,
			Reason: "allowed by " + rs.sessionAllow.String() + ", which names the role session, so session policies do not limit it"}
	case rs.decision == Allow && sessionAllows:
		return Result{Decision: Allow, Decider: rs.decider, Reason: "allowed by " + rs.decider.String() + also}
	}

	if id.decision == Allow || rs.decision == Allow {
		// Something grants the request; the session policies take it away.
		grant := id.decider
		if grant == nil {
			grant = rs.decider
		}
		near := nearMisses(&req, session)
		reason := "implicitly denied: " + grant.String() + " allows " + req.Action +
			" but no session policy does"
		if len(near) > 0 {
			reason += "; " + missDetail(&req, near[0])
		} else {
			reason += "; " + implicitDetail(&req, session, nil)
		}
		return Result{Decision: ImplicitDeny, Near: near, Reason: reason}
	}
	granting := make([]NamedDocument, 0, len(identity)+len(resource))
	granting = append(append(granting, identity...), resource...)
	near := nearMisses(&req, granting)
	reason := "implicitly denied: " + implicitDetail(&req, granting, near)
	if rs.accountAllow != nil {
		reason += "; " + rs.accountAllow.String() + " names the account, which delegates to the account's identity policies rather than granting"
	}
	if hasSession && ss.decision == Allow {
		reason += "; " + ss.decider.String() + " allows it, but session policies only narrow what other policies grant"
	}
	return Result{Decision: ImplicitDeny, Near: near, Reason: reason}
}
