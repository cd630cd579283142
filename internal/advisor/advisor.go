// Package advisor turns what a role's sessions did into the least-privilege
// policy that allows exactly that: from the audit trail's authorization
// checks (each call's IAM action and resource, allowed or refused) it
// builds a policy with the exact resource ARNs the calls named, and
// compares it with the role's current policies — grants never used,
// wildcards broader than the use, statements missing for refused calls.
package advisor

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/irsa-local/irsa-local/internal/trail"
	"github.com/irsa-local/irsa-local/pkg/policy"
)

// Call is one authorization a role's sessions needed: an action on a
// resource, with how often it was allowed and refused.
type Call struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Allowed  int    `json:"allowed"`
	Refused  int    `json:"refused"`
}

// Calls gathers the authorizations of the sessions of roleARN in records,
// made at or after since, in the order first seen.
func Calls(records []trail.Record, roleARN string, since time.Time) []Call {
	var out []Call
	index := map[[2]string]int{}
	for _, r := range records {
		if r.IrsaLocal == nil || r.EventTime.Before(since) || !sessionOf(r.UserIdentity, roleARN) {
			continue
		}
		for _, c := range r.IrsaLocal.Checks {
			k := [2]string{c.Action, c.Resource}
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, Call{Action: c.Action, Resource: c.Resource})
			}
			if c.Allowed {
				out[i].Allowed++
			} else {
				out[i].Refused++
			}
		}
	}
	return out
}

// sessionOf reports whether a call was made with a session of roleARN.
func sessionOf(u trail.UserIdentity, roleARN string) bool {
	return u.Type == "AssumedRole" && u.SessionContext != nil && u.SessionContext.SessionIssuer.ARN == roleARN
}

// Policy is an IAM policy document as the advisor writes it.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one Allow statement of a suggested policy.
type Statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// JSON is the document, indented as people read it.
func (p Policy) JSON() string {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		panic(err) // only strings
	}
	return string(b)
}

// Suggest is the least-privilege policy for calls: every action on exactly
// the resources the calls named ("*" only for an action the trail recorded
// on "*", such as s3:ListAllMyBuckets). Actions on the same resources
// share a statement; no pair is in two statements, so removing any
// statement refuses a call it allowed.
func Suggest(calls []Call) Policy {
	resources := map[string][]string{}
	var actions []string
	for _, c := range calls {
		if _, ok := resources[c.Action]; !ok {
			actions = append(actions, c.Action)
		}
		if !slices.Contains(resources[c.Action], c.Resource) {
			resources[c.Action] = append(resources[c.Action], c.Resource)
		}
	}
	type group struct {
		actions   []string
		resources []string
	}
	var groups []*group
	byResources := map[string]*group{}
	for _, a := range actions {
		rs := resources[a]
		if slices.Contains(rs, "*") {
			rs = []string{"*"}
		}
		slices.Sort(rs)
		key := strings.Join(rs, "\n")
		g, ok := byResources[key]
		if !ok {
			g = &group{resources: rs}
			byResources[key] = g
			groups = append(groups, g)
		}
		g.actions = append(g.actions, a)
	}
	p := Policy{Version: "2012-10-17", Statement: []Statement{}}
	seen := map[string]int{}
	for _, g := range groups {
		slices.Sort(g.actions)
		p.Statement = append(p.Statement, Statement{Sid: sid(g.actions[0], seen), Effect: "Allow", Action: g.actions, Resource: g.resources})
	}
	return p
}

// sid names a statement after its service: S3, S3b, S3c...
func sid(action string, seen map[string]int) string {
	svc, _, _ := strings.Cut(action, ":")
	var b strings.Builder
	for _, part := range strings.FieldsFunc(svc, func(r rune) bool { return r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	name := b.String()
	n := seen[name]
	seen[name]++
	if n == 0 {
		return name
	}
	return fmt.Sprintf("%s%c", name, 'a'+rune(n))
}

// Grant is a statement of the role's current policies, as the comparison
// reports it.
type Grant struct {
	Policy    string   `json:"policy"`
	Statement int      `json:"statement"`
	Sid       string   `json:"sid,omitempty"`
	Action    []string `json:"action"`
	Resource  []string `json:"resource"`
	// Used lists the recorded calls the statement covers, as
	// "action on resource".
	Used []string `json:"used,omitempty"`
}

// Comparison sets the role's current policies against what its sessions
// did.
type Comparison struct {
	// Unused are Allow statements no recorded call needed.
	Unused []Grant `json:"unused"`
	// Broader are Allow statements with a wildcard (or NotAction,
	// NotResource) that cover more than the calls they allowed.
	Broader []Grant `json:"broader"`
	// Missing are the refused calls no current statement allows, and
	// Add the statements that would allow them.
	Missing []Call  `json:"missing"`
	Add     *Policy `json:"add,omitempty"`
}

// Compare judges the current identity policies (documents as IAM returns
// them) against calls.
func Compare(current []policy.NamedDocument, calls []Call) Comparison {
	out := Comparison{Unused: []Grant{}, Broader: []Grant{}, Missing: []Call{}}
	for _, nd := range current {
		for i, st := range nd.Doc.Statements() {
			if st.Effect != "Allow" {
				continue
			}
			g := Grant{Policy: nd.Name, Statement: i, Sid: st.Sid, Action: st.Action, Resource: st.Resource}
			if st.NotAction {
				g.Action = []string{"NotAction: " + strings.Join(st.Action, ", ")}
			}
			if st.NotResource {
				g.Resource = []string{"NotResource: " + strings.Join(st.Resource, ", ")}
			}
			for _, c := range calls {
				if covers(st, c) {
					g.Used = append(g.Used, c.Action+" on "+c.Resource)
				}
			}
			switch {
			case len(g.Used) == 0:
				out.Unused = append(out.Unused, g)
			case st.NotAction || st.NotResource || wild(st.Action) || wild(st.Resource):
				out.Broader = append(out.Broader, g)
			}
		}
	}
	for _, c := range calls {
		if c.Refused > 0 && c.Allowed == 0 {
			out.Missing = append(out.Missing, c)
		}
	}
	if len(out.Missing) > 0 {
		add := Suggest(out.Missing)
		out.Add = &add
	}
	return out
}

// covers reports whether the statement's Action and Resource match the
// call, its conditions aside: a statement whose condition held for none of
// the calls is still the one meant for them.
func covers(st policy.Statement, c Call) bool {
	actionKey, resourceKey := "Action", "Resource"
	if st.NotAction {
		actionKey = "NotAction"
	}
	if st.NotResource {
		resourceKey = "NotResource"
	}
	b, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{{
		"Effect": "Allow", actionKey: st.Action, resourceKey: st.Resource,
	}}})
	if err != nil {
		return false
	}
	doc, err := policy.Parse(string(b), policy.Identity)
	if err != nil {
		return false
	}
	res := policy.Evaluate(policy.Request{Action: c.Action, Resource: c.Resource, Context: policy.NewContext()}, policy.NamedDocument{Name: "statement", Doc: doc})
	return res.Decision == policy.Allow
}

func wild(patterns []string) bool {
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?") {
			return true
		}
	}
	return false
}
