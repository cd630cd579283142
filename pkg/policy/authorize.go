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

// Side names which account's policies refused a cross-account request.
type Side int

const (
	// NoSide: the request was allowed, or denied by both sides.
	NoSide Side = iota
	// CallerSide: the caller's identity or session policies.
	CallerSide
	// ResourceSide: the resource-based policy of the owning account.
	ResourceSide
)

// CrossAccountResult is a cross-account decision and the side that refused.
type CrossAccountResult struct {
	Result
	Refused Side
}

// AuthorizeCrossAccount decides a request whose caller and resource belong
// to different accounts, as AWS does: an applicable Deny anywhere denies;
// otherwise the caller's identity policies (narrowed by its session
// policies, if any) must allow it, and so must the resource-based policy of
// the owning account, by a statement that names the caller, its role, its
// account or everyone. Nothing the owning account's identity policies say
// counts, and a resource policy naming the caller's account is enough on
// that side: the account has delegated, and its identity policies decide.
//
// Refused says which side failed first (the caller's when both do), so an
// explanation can say which account has to change a policy.
func AuthorizeCrossAccount(req Request, identity, session, resource []NamedDocument) CrossAccountResult {
	id := evaluate(&req, identity, false)
	hasSession := len(session) > 0
	var ss evaluation
	if hasSession {
		ss = evaluate(&req, session, false)
	}
	rs := evaluate(&req, resource, true)
	for i, e := range []evaluation{id, ss, rs} {
		if e.decision == ExplicitDeny {
			side := CallerSide
			if i == 2 {
				side = ResourceSide
			}
			return CrossAccountResult{Result{Decision: ExplicitDeny, Decider: e.decider, Reason: "explicitly denied by " + e.decider.String()}, side}
		}
	}
	var resourceGrant *StatementRef
	switch {
	case rs.decision == Allow:
		resourceGrant = rs.decider
	case rs.accountAllow != nil:
		resourceGrant = rs.accountAllow
	}
	callerOK := id.decision == Allow && (!hasSession || ss.decision == Allow)
	if !callerOK {
		var reason string
		switch {
		case id.decision == Allow:
			reason = "the caller's account refuses it: " + id.decider.String() + " allows " + req.Action + " but no session policy does; " + implicitDetail(&req, session, nil)
		default:
			near := nearMisses(&req, identity)
			reason = "the caller's account refuses it: no identity-based policy allows " + req.Action + " on " + req.Resource + "; " + implicitDetail(&req, identity, near)
		}
		if resourceGrant == nil {
			reason += "; and the resource's account refuses it too: no resource-based policy names the caller"
		}
		return CrossAccountResult{Result{Decision: ImplicitDeny, Reason: reason}, CallerSide}
	}
	if resourceGrant == nil {
		near := nearMisses(&req, resource)
		reason := "the resource's account refuses it: a cross-account call needs the resource-based policy to allow it, and " + implicitDetail(&req, resource, near)
		if len(resource) == 0 {
			reason = "the resource's account refuses it: a cross-account call needs a resource-based policy that allows it, and the resource has none"
		}
		return CrossAccountResult{Result{Decision: ImplicitDeny, Near: near, Reason: reason}, ResourceSide}
	}
	also := ""
	if hasSession {
		also = " and " + ss.decider.String()
	}
	return CrossAccountResult{Result{Decision: Allow, Decider: id.decider,
		Reason: "allowed across accounts by " + id.decider.String() + also + " in the caller's account and " + resourceGrant.String() + " in the resource's account"}, NoSide}
}
