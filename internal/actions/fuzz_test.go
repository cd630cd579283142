package actions

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzParse feeds any target and body to every model: it must never
// panic, and it must either refuse the request with an *Error (or a
// lookup error) or name at least one check, each with an action of the
// service and a resource.
func FuzzParse(f *testing.F) {
	for service, calls := range tables {
		for _, c := range calls {
			f.Add(service, c.op, c.body)
		}
	}
	f.Add("sqs", "SendMessage", `{"QueueUrl":"http://x/../../000000000000/q"}`)
	f.Add("dynamodb", "TransactWriteItems", `{"TransactItems":[{"Put":null},{"":{}}]}`)
	f.Add("kms", "CreateAlias", `{"AliasName":"alias/a","TargetKeyId":{}}`)
	f.Fuzz(func(t *testing.T, service, op, body string) {
		if !Modeled(service) {
			service = "sqs"
		}
		h := http.Header{}
		if op != "" {
			h.Set("X-Amz-Target", targetPrefixes[service]+op)
		}
		call, err := Parse(context.Background(), Request{Service: service, Header: h, Query: url.Values{}, Body: []byte(body), Account: account, Region: "us-east-1"}, backend{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) && !errors.Is(err, errResolve) {
				t.Fatalf("error of an unexpected kind: %T %v", err, err)
			}
			return
		}
		if len(call.Checks) == 0 {
			t.Fatal("no check and no error")
		}
		for _, c := range call.Checks {
			if !strings.HasPrefix(c.Action, service+":") || c.Resource == "" {
				t.Fatalf("check %+v of a %s call", c, service)
			}
		}
	})
}
