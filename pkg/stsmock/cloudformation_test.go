package stsmock

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CloudFormation answers that there are no stacks, and refuses the rest.
func TestCloudFormationHasNoStacks(t *testing.T) {
	f := newFixture(t)
	call := func(form url.Values) (int, string) {
		body := form.Encode()
		req, err := http.NewRequest(http.MethodPost, f.http.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		signRequest(t, req, []byte(body), "cloudformation", aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
		return do(t, req)
	}
	for name, form := range map[string]url.Values{
		"list":             {"Action": {"ListStacks"}, "Version": {"2010-05-15"}, "StackStatusFilter.member.1": {"CREATE_COMPLETE"}},
		"describe-all":     {"Action": {"DescribeStacks"}, "Version": {"2010-05-15"}},
		"describe-missing": {"Action": {"DescribeStacks"}, "Version": {"2010-05-15"}, "StackName": {"eksctl-demo-cluster"}},
		"create":           {"Action": {"CreateStack"}, "Version": {"2010-05-15"}, "StackName": {"x"}},
	} {
		t.Run(name, func(t *testing.T) {
			status, body := call(form)
			checkGolden(t, "cloudformation-"+name, status, body, nil)
		})
	}
}

// A role session needs cloudformation:ListStacks (or DescribeStacks), and
// an explicit deny wins.
func TestAuthzCloudFormation(t *testing.T) {
	f := newFixture(t)
	role := newAuthzRole(t, f)
	creds, err := role.creds.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"ListStacks", "DescribeStacks"} {
		t.Run(action, func(t *testing.T) {
			call := func() (int, string) {
				body := url.Values{"Action": {action}, "Version": {"2010-05-15"}}.Encode()
				req, err := http.NewRequest(http.MethodPost, f.http.URL, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				signRequest(t, req, []byte(body), "cloudformation", creds)
				return do(t, req)
			}
			grant := authzPerm{Action: "cloudformation:" + action, Resource: "*"}
			if status, body := call(); status != 403 || !strings.Contains(body, "not authorized to perform: cloudformation:"+action) {
				t.Fatalf("without the grant: %d %s", status, body)
			}
			role.setPolicy("grant", statement("Allow", grant))
			defer role.setPolicy("grant", "")
			if status, body := call(); status != 200 {
				t.Fatalf("with the grant: %d %s", status, body)
			}
			role.setPolicy("deny", statement("Deny", grant))
			defer role.setPolicy("deny", "")
			if status, _ := call(); status != 403 {
				t.Fatalf("denied explicitly: %d", status)
			}
		})
	}
}
