package stsmock

import (
	"io"
	"net/http"
	"strings"

	"github.com/irsa-local/irsa-local/internal/awsquery"
)

// CloudFormation: irsa-local manages no stacks, but tools look for theirs
// before they act (eksctl lists its stacks before it touches a Pod Identity
// association). ListStacks and DescribeStacks answer truthfully that there
// are none; every other action is refused with a message that says so.

const cfnNamespace = "http://cloudformation.amazonaws.com/doc/2010-05-15/"

type listStacksResult struct {
	StackSummaries struct{} `xml:"StackSummaries"`
}

type describeStacksResult struct {
	Stacks struct{} `xml:"Stacks"`
}

func (s *Server) serveCloudFormation(w http.ResponseWriter, req *request) {
	fail := func(e *awsquery.Error) { awsquery.WriteError(w, cfnNamespace, e, req.id) }
	body, err := awsquery.ReadBody(req.r, maxQueryBody)
	if err != nil {
		fail(err.(*awsquery.Error))
		return
	}
	req.r.Body = io.NopCloser(strings.NewReader(string(body)))
	p, perr := awsquery.ReadParams(req.r, body)
	if perr != nil {
		fail(perr.(*awsquery.Error))
		return
	}
	c, aerr := s.authenticate(req.r)
	if aerr != nil {
		fail(aerr)
		return
	}
	action := p.Get("Action")
	switch action {
	case "ListStacks", "DescribeStacks":
	default:
		fail(awsquery.Errorf(400, "InvalidAction", "irsa-local serves only CloudFormation's ListStacks and DescribeStacks, to tell tools it manages no stacks; %s is not served", awsquery.Truncate(action, awsquery.MaxEchoed)))
		return
	}
	if c.session != nil {
		if res := s.authorizeSession(c.session, "cloudformation:"+action, "*", nil, nil); !res.Allowed() {
			fail(awsquery.Errorf(403, "AccessDenied", "User: %s is not authorized to perform: cloudformation:%s on resource: * because %s", c.session.assumedRoleARN(), action, res.Reason))
			return
		}
	}
	if action == "ListStacks" {
		awsquery.WriteResult(w, cfnNamespace, action, &listStacksResult{}, req.id)
		return
	}
	if name := p.Get("StackName"); name != "" {
		fail(awsquery.Errorf(400, "ValidationError", "Stack with id %s does not exist", awsquery.Truncate(name, awsquery.MaxEchoed)))
		return
	}
	awsquery.WriteResult(w, cfnNamespace, action, &describeStacksResult{}, req.id)
}
