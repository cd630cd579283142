package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// statement is one compiled statement.
type statement struct {
	sid  string
	deny bool
	// principals is nil when the statement names no principal (identity
	// policies).
	principals   *principalSet
	notPrincipal bool
	actions      []glob
	actionRaw    []string
	notAction    bool
	resources    []text // nil when the statement has no resource (trust policies)
	notResource  bool
	conditions   []condition
}

// rawStatement is a statement after the grammar check, before the rules that
// depend on Kind.
type rawStatement struct {
	sid                        string
	effect                     string
	principal                  []byte
	hasPrincipal, notPrincipal bool
	actions                    []string
	hasActions, notAction      bool
	resources                  []string
	hasResources, notResource  bool
	conditions                 []rawCondition
}

type rawCondition struct {
	op, key string
	values  []string
}

// Parse checks doc against the rules for kind and compiles it for
// evaluation. A refused document yields a *MalformedError carrying the text
// AWS would return; a kind that is not one of the Kind constants is a
// caller bug and yields a plain error. Parse does all the work that does
// not depend on a request, so that evaluation is cheap.
//
// The checks run in phases, each over all statements, so that a document
// with several problems reports the one AWS reports first: grammar, then
// Effect spelling and condition values, statement IDs, principals, actions,
// resources, resource format and action format.
func Parse(doc string, kind Kind) (*Document, error) {
	switch kind {
	case Identity, Trust, Resource:
	default:
		return nil, fmt.Errorf("parse policy: unknown kind %d", int(kind))
	}
	p := parser{kind: kind}
	d, err := p.parse(doc)
	if err != nil {
		return nil, err
	}
	return d, nil
}

type parser struct {
	kind Kind
}

// fail builds the error for a problem in statement stmt (-1 for the whole
// document); arg is what the AWS text quotes.
func (p *parser) fail(stmt int, pr problem, arg, detail string) *MalformedError {
	if stmt >= 0 {
		detail = "statement " + strconv.Itoa(stmt) + ": " + detail
	}
	return &MalformedError{Message: awsMessage(p.kind, pr, arg), Detail: detail, Statement: stmt}
}

func (p *parser) parse(doc string) (*Document, *MalformedError) {
	var probe any
	if err := json.Unmarshal([]byte(doc), &probe); err != nil {
		detail := "the document is not valid JSON"
		var se *json.SyntaxError
		if errors.As(err, &se) {
			detail += " (error at byte " + strconv.FormatInt(se.Offset, 10) + ")"
		}
		return nil, p.fail(-1, pInvalidJSON, "", detail)
	}
	if key, dup := duplicateKey([]byte(doc)); dup {
		// Readers disagree on which of two values wins, so a Deny followed
		// by an Allow under one key could become either: refuse it.
		return nil, p.fail(-1, pInvalidJSON, "", "the key "+strconv.Quote(key)+" appears twice in one object")
	}
	top, ok := decodeObject([]byte(doc))
	if !ok {
		return nil, p.fail(-1, pInvalidJSON, "", "the document is not a JSON object")
	}
	d := &Document{text: doc, kind: p.kind}
	var stmtRaw []byte
	for _, m := range top {
		switch m.name {
		case "Version":
			v, ok := decodeString(m.value)
			if !ok || (v != Version2012 && v != Version2008) {
				return nil, p.fail(-1, pBadVersion, "", `Version must be "2012-10-17" or "2008-10-17", got `+string(m.value))
			}
			d.version = v
		case "Id":
			v, ok := decodeString(m.value)
			if !ok {
				return nil, p.fail(-1, pBadType, "", "Id must be a string")
			}
			d.id = v
		case "Statement":
			stmtRaw = m.value
		default:
			return nil, p.fail(-1, pUnknownField, m.name, "unknown top-level field "+strconv.Quote(m.name))
		}
	}
	if stmtRaw == nil {
		return nil, p.fail(-1, pNoStatement, "", "the document has no Statement")
	}
	var items [][]byte
	switch jsonType(stmtRaw) {
	case '{':
		items = [][]byte{stmtRaw}
	case '[':
		arr, _ := decodeArray(stmtRaw)
		if len(arr) == 0 {
			return nil, p.fail(-1, pNoStatement, "", "Statement is an empty array")
		}
		for _, a := range arr {
			items = append(items, a)
		}
	default:
		return nil, p.fail(-1, pBadType, "", "Statement must be an object or an array of objects")
	}

	raws := make([]rawStatement, len(items))
	for i, item := range items {
		if err := p.readStatement(i, item, &raws[i]); err != nil {
			return nil, err
		}
	}
	vars := d.version == Version2012
	d.statements = make([]statement, len(raws))
	for _, check := range []func(int, *rawStatement, *statement) *MalformedError{
		func(i int, r *rawStatement, s *statement) *MalformedError { return p.checkEffect(i, r, s) },
		func(i int, r *rawStatement, s *statement) *MalformedError {
			return p.compileConditions(i, r, s, vars)
		},
		func(i int, r *rawStatement, s *statement) *MalformedError { return p.checkSid(i, r, s) },
	} {
		for i := range raws {
			if err := check(i, &raws[i], &d.statements[i]); err != nil {
				return nil, err
			}
		}
	}
	if err := p.checkSidsUnique(raws); err != nil {
		return nil, err
	}
	for _, check := range []func(int, *rawStatement, *statement) *MalformedError{
		p.checkPrincipal,
		p.checkActionsPresent,
		p.checkResourcesPresent,
		func(i int, r *rawStatement, s *statement) *MalformedError {
			return p.compileResources(i, r, s, vars)
		},
		p.compileActions,
	} {
		for i := range raws {
			if err := check(i, &raws[i], &d.statements[i]); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// readStatement checks the grammar of one statement: known fields, JSON
// types, no field together with its Not form, a known condition operator.
func (p *parser) readStatement(i int, raw []byte, r *rawStatement) *MalformedError {
	ms, ok := decodeObject(raw)
	if !ok {
		return p.fail(i, pBadType, "", "a statement must be a JSON object")
	}
	hasEffect := false
	for _, m := range ms {
		switch m.name {
		case "Sid":
			s, ok := decodeString(m.value)
			if !ok {
				return p.fail(i, pBadType, "", "Sid must be a string")
			}
			r.sid = s
		case "Effect":
			s, ok := decodeString(m.value)
			if !ok {
				return p.fail(i, pBadEffect, string(m.value), "Effect must be a string")
			}
			r.effect, hasEffect = s, true
		case "Principal", "NotPrincipal":
			if r.hasPrincipal {
				return p.fail(i, pBothPrincipals, "", "a statement cannot have both Principal and NotPrincipal")
			}
			r.principal, r.hasPrincipal, r.notPrincipal = m.value, true, m.name == "NotPrincipal"
		case "Action", "NotAction":
			if r.hasActions {
				return p.fail(i, pBothActions, "", "a statement cannot have both Action and NotAction")
			}
			vals, ok := decodeStrings(m.value)
			if !ok {
				return p.fail(i, pBadType, "", m.name+" must be a string or an array of strings")
			}
			r.actions, r.hasActions, r.notAction = vals, true, m.name == "NotAction"
		case "Resource", "NotResource":
			if r.hasResources {
				return p.fail(i, pBothResources, "", "a statement cannot have both Resource and NotResource")
			}
			vals, ok := decodeStrings(m.value)
			if !ok {
				return p.fail(i, pBadType, "", m.name+" must be a string or an array of strings")
			}
			r.resources, r.hasResources, r.notResource = vals, true, m.name == "NotResource"
		case "Condition":
			if err := p.readConditions(i, m.value, r); err != nil {
				return err
			}
		default:
			return p.fail(i, pUnknownField, m.name, "unknown field "+strconv.Quote(m.name))
		}
	}
	if !hasEffect {
		return p.fail(i, pNoEffect, "", "the statement has no Effect")
	}
	if !strings.EqualFold(r.effect, "Allow") && !strings.EqualFold(r.effect, "Deny") {
		return p.fail(i, pBadEffect, r.effect, `Effect must be "Allow" or "Deny", got `+strconv.Quote(r.effect))
	}
	return nil
}

func (p *parser) readConditions(i int, raw []byte, r *rawStatement) *MalformedError {
	ops, ok := decodeObject(raw)
	if !ok {
		return p.fail(i, pBadType, "", "Condition must be an object of operators")
	}
	for _, op := range ops {
		if _, _, _, known := parseOperator(op.name); !known {
			return p.fail(i, pUnknownOperator, op.name, "unknown condition operator "+strconv.Quote(op.name))
		}
		keys, ok := decodeObject(op.value)
		if !ok {
			return p.fail(i, pBadType, "", "condition "+op.name+" must be an object of condition keys")
		}
		for _, k := range keys {
			vals, ok := decodeScalars(k.value)
			if !ok {
				return p.fail(i, pBadType, "", "condition "+op.name+" on "+strconv.Quote(k.name)+
					" must be a string, number, boolean or an array of them")
			}
			r.conditions = append(r.conditions, rawCondition{op: op.name, key: k.name, values: vals})
		}
	}
	return nil
}

// checkEffect rejects an Effect in the wrong case, which IAM's grammar check
// lets through and its legacy parser then refuses.
func (p *parser) checkEffect(i int, r *rawStatement, s *statement) *MalformedError {
	switch r.effect {
	case "Allow":
	case "Deny":
		s.deny = true
	default:
		return p.fail(i, pEffectCase, r.effect, `Effect is case-sensitive: write "Allow" or "Deny", not `+strconv.Quote(r.effect))
	}
	s.sid = r.sid
	return nil
}

func (p *parser) compileConditions(i int, r *rawStatement, s *statement, vars bool) *MalformedError {
	for _, rc := range r.conditions {
		c, pr, detail := compileCondition(rc.op, rc.key, rc.values, vars)
		if detail != "" {
			return p.fail(i, pr, rc.op, detail)
		}
		s.conditions = append(s.conditions, c)
	}
	return nil
}

// checkSid applies IAM's statement ID alphabet. S3 bucket policies accept
// any Sid, spaces included.
func (p *parser) checkSid(i int, r *rawStatement, _ *statement) *MalformedError {
	if p.kind == Resource {
		return nil
	}
	for j := 0; j < len(r.sid); j++ {
		if c := r.sid[j]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return p.fail(i, pSidFormat, r.sid, "Sid "+strconv.Quote(r.sid)+" may contain only ASCII letters and digits")
		}
	}
	return nil
}

func (p *parser) checkSidsUnique(raws []rawStatement) *MalformedError {
	if p.kind == Resource {
		return nil
	}
	seen := make(map[string]int, len(raws))
	for i, r := range raws {
		if r.sid == "" {
			continue
		}
		if j, dup := seen[r.sid]; dup {
			return p.fail(i, pSidDuplicate, r.sid, "Sid "+strconv.Quote(r.sid)+" is already used by statement "+strconv.Itoa(j))
		}
		seen[r.sid] = i
	}
	return nil
}

func (p *parser) checkPrincipal(i int, r *rawStatement, s *statement) *MalformedError {
	field := "Principal"
	if r.notPrincipal {
		field = "NotPrincipal"
	}
	if p.kind == Identity {
		if r.hasPrincipal {
			return p.fail(i, pPrincipalForbidden, "", "identity and session policies cannot have "+field)
		}
		return nil
	}
	if !r.hasPrincipal {
		return p.fail(i, pPrincipalMissing, "", p.kind.String()+" policy statements need Principal or NotPrincipal")
	}
	ps, empty, perr := parsePrincipal(r.principal)
	if perr != nil {
		return p.fail(i, pPrincipalInvalid, perr.arg, perr.detail)
	}
	if empty {
		return p.fail(i, pPrincipalMissing, "", field+" names no principals")
	}
	s.principals, s.notPrincipal = &ps, r.notPrincipal
	return nil
}

func (p *parser) checkActionsPresent(i int, r *rawStatement, _ *statement) *MalformedError {
	if !r.hasActions || len(r.actions) == 0 {
		return p.fail(i, pNoActions, "", "the statement has no Action or NotAction")
	}
	return nil
}

func (p *parser) checkResourcesPresent(i int, r *rawStatement, _ *statement) *MalformedError {
	if p.kind == Trust {
		switch {
		case r.hasResources && r.notResource:
			return p.fail(i, pNotResourceProhibited, "", "trust policies cannot have NotResource")
		case r.hasResources:
			return p.fail(i, pResourceProhibited, "", "trust policies cannot have Resource")
		}
		return nil
	}
	if !r.hasResources || len(r.resources) == 0 {
		return p.fail(i, pNoResources, "", "the statement has no Resource or NotResource")
	}
	return nil
}

// compileResources checks that each resource is "*" or has the six parts of
// an ARN, and compiles it.
func (p *parser) compileResources(i int, r *rawStatement, s *statement, vars bool) *MalformedError {
	if p.kind == Trust {
		return nil
	}
	s.notResource = r.notResource
	s.resources = make([]text, 0, len(r.resources))
	for _, res := range r.resources {
		if res != "*" && (!strings.HasPrefix(res, "arn:") || resourcePartStart(res) < 0) {
			return p.fail(i, pResourceFormat, res, "resource "+strconv.Quote(res)+` is neither "*" nor an ARN with six parts`)
		}
		if res != "*" {
			if pr, detail := resourceWildcard(res); detail != "" {
				return p.fail(i, pr, res, detail)
			}
		}
		s.resources = append(s.resources, compileResource(res, vars))
	}
	return nil
}

// typedServices are services whose resource ARNs start with a resource
// type ("table/", "role/", "function:"). A wildcard there would match
// resources of other types, and IAM refuses it; in an S3, SQS or SNS ARN
// the same position is a name, where wildcards are fine.
var typedServices = map[string]bool{
	"iam": true, "sts": true, "dynamodb": true, "ec2": true, "kms": true, "lambda": true, "eks": true,
	"secretsmanager": true, "logs": true, "ecr": true, "rds": true, "cloudformation": true, "ssm": true,
	"states": true, "events": true, "elasticloadbalancing": true, "kinesis": true, "firehose": true,
}

// resourceWildcard reports a wildcard IAM does not accept in an ARN: in
// its service, or in the resource type of a service whose ARNs have one.
func resourceWildcard(arn string) (problem, string) {
	parts := strings.SplitN(arn, ":", 6)
	service := parts[2]
	if strings.ContainsAny(service, "*?") {
		return pResourceVendorWildcard, "the service " + strconv.Quote(service) + " of resource " + strconv.Quote(arn) + " has a wildcard"
	}
	if !typedServices[service] {
		return 0, ""
	}
	res := parts[5]
	end := strings.IndexAny(res, "/:")
	if end < 0 {
		return 0, ""
	}
	if typ := res[:end]; strings.ContainsAny(typ, "*?") {
		return pResourceFormat, "the resource type " + strconv.Quote(typ) + " of resource " + strconv.Quote(arn) + " has a wildcard"
	}
	return 0, ""
}

// compileActions checks the service:action shape of each action.
func (p *parser) compileActions(i int, r *rawStatement, s *statement) *MalformedError {
	s.actionRaw, s.notAction = r.actions, r.notAction
	s.actions = make([]glob, 0, len(r.actions))
	for _, a := range r.actions {
		if a != "*" {
			vendor, _, found := strings.Cut(a, ":")
			switch {
			case !found:
				return p.fail(i, pActionNoVendor, a, "action "+strconv.Quote(a)+" has no service prefix such as s3:")
			case strings.Count(a, ":") > 1:
				return p.fail(i, pActionColons, a, "action "+strconv.Quote(a)+" has more than one colon")
			case strings.ContainsAny(vendor, "*?"):
				return p.fail(i, pActionVendorWildcard, vendor, "action "+strconv.Quote(a)+" has a wildcard in its service prefix")
			case !validVendor(vendor):
				return p.fail(i, pActionVendorInvalid, vendor, "action "+strconv.Quote(a)+" has an invalid service prefix "+strconv.Quote(vendor))
			}
		}
		s.actions = append(s.actions, glob{s: a})
	}
	return nil
}

func validVendor(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
