package doctor

import (
	"strings"
	"testing"
)

const readOnly = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}`

func TestDiagnosePermissions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policies []NamedPolicy
		action   string
		resource string
		want     Status
		contains []string
	}{
		{name: "allowed by a managed policy", action: "s3:ListBucket", resource: "arn:aws:s3:::demo-bucket", want: OK,
			policies: []NamedPolicy{{Name: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", Document: readOnly}},
			contains: []string{"allowed by statement 0 of arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}},
		{name: "no policy", action: "s3:ListBucket", resource: "arn:aws:s3:::demo-bucket", want: Fail,
			contains: []string{
				"role s3-reader-role has no policy, so nothing allows it",
				`{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::demo-bucket"}`,
				"aws iam put-role-policy --role-name s3-reader-role --policy-name allow-s3-ListBucket --policy-document '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::demo-bucket\"}]}'",
			}},
		{name: "no statement allows the action", action: "s3:PutObject", resource: "arn:aws:s3:::demo-bucket/k", want: Fail,
			policies: []NamedPolicy{{Name: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", Document: readOnly}},
			contains: []string{"no statement of arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess allows it"}},
		{name: "another resource", action: "s3:ListBucket", resource: "arn:aws:s3:::demo-bucket", want: Fail,
			policies: []NamedPolicy{{Name: "inline policy other", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::other"}]}`}},
			contains: []string{"statement 0 of inline policy other allows s3:ListBucket, but not on arn:aws:s3:::demo-bucket"}},
		{name: "explicit deny wins", action: "s3:ListBucket", resource: "arn:aws:s3:::demo-bucket", want: Fail,
			policies: []NamedPolicy{
				{Name: "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", Document: readOnly},
				{Name: "inline policy fence", Document: `{"Version":"2012-10-17","Statement":[{"Sid":"Fence","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::demo-bucket"}]}`},
			},
			contains: []string{`explicitly denied by statement 0 ("Fence") of inline policy fence`, "an explicit Deny wins"}},
		{name: "the web-identity keys of the session count", action: "s3:ListBucket", resource: "arn:aws:s3:::demo-bucket", want: OK,
			policies: []NamedPolicy{{Name: "inline policy by-sub", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*",
				"Condition":{"StringEquals":{"127.0.0.1/id/ABC:sub":"system:serviceaccount:demo:s3-reader","aws:PrincipalType":"AssumedRole"}}}]}`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DiagnosePermissions(PermissionInput{
				RoleARN: testRole, RoleID: "AROAEXAMPLE", Policies: tc.policies,
				Action: tc.action, Resource: tc.resource,
				Token: podToken(), ProviderARN: testProvider, Region: "us-east-1", Now: testNow,
			})
			if c.Status != tc.want {
				t.Fatalf("got %s: %s", c.Status, c.Detail)
			}
			text := render(c)
			for _, s := range tc.contains {
				if !strings.Contains(text, s) {
					t.Errorf("report lacks %s:\n%s", s, text)
				}
			}
		})
	}
}
