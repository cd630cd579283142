package actions

import (
	"context"
	"strings"
)

// snsTopicOps act on the topic named by TopicArn.
var snsTopicOps = set("DeleteTopic", "GetTopicAttributes", "SetTopicAttributes", "Subscribe",
	"ListSubscriptionsByTopic", "AddPermission", "RemovePermission", "ConfirmSubscription",
	"PublishBatch", "GetDataProtectionPolicy", "PutDataProtectionPolicy")

// snsSubscriptionOps act on a subscription, which IAM authorizes as its
// topic.
var snsSubscriptionOps = set("Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes")

var snsTagOps = set("TagResource", "UntagResource", "ListTagsForResource")

// snsPlatformOps are the mobile push operations, and the parameter that
// names the application or endpoint they act on.
var snsPlatformOps = map[string]string{
	"GetPlatformApplicationAttributes":   "PlatformApplicationArn",
	"SetPlatformApplicationAttributes":   "PlatformApplicationArn",
	"DeletePlatformApplication":          "PlatformApplicationArn",
	"ListEndpointsByPlatformApplication": "PlatformApplicationArn",
	"CreatePlatformEndpoint":             "PlatformApplicationArn",
	"GetEndpointAttributes":              "EndpointArn",
	"SetEndpointAttributes":              "EndpointArn",
	"DeleteEndpoint":                     "EndpointArn",
}

var snsPolicyOps = set("CreateTopic", "DeleteTopic", "SetTopicAttributes", "AddPermission", "RemovePermission")

func snsModel(_ context.Context, p *parsed, _ Resolver) error {
	op := p.call.Operation
	action := "sns:" + op
	if op == "PublishBatch" {
		action = "sns:Publish"
	}
	p.call.Changes = snsPolicyOps[op]
	topic := func(arn string) {
		p.call.Params["topicArn"] = arn
		keys := map[string][]string{}
		if op == "Subscribe" {
			if v := p.str("Protocol"); v != "" {
				keys["sns:Protocol"] = []string{v}
			}
			if v := p.str("Endpoint"); v != "" {
				keys["sns:Endpoint"] = []string{v}
			}
		}
		p.add(action, arn, keys)
	}
	switch {
	case snsTopicOps[op]:
		arn, err := p.need("TopicArn")
		if err != nil {
			return err
		}
		topic(arn)
	case op == "Publish":
		// A topic, an endpoint (TargetArn), or an SMS to a phone number,
		// which has no resource.
		switch {
		case p.str("TopicArn") != "":
			topic(p.str("TopicArn"))
		case p.str("TargetArn") != "":
			topic(p.str("TargetArn"))
		case p.str("PhoneNumber") != "":
			p.add(action, "*", nil)
		default:
			return &Error{Code: "InvalidParameter", Message: "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"}
		}
	case op == "CreateTopic":
		name, err := p.need("Name")
		if err != nil {
			return err
		}
		topic(p.arn("sns", name))
	case snsSubscriptionOps[op]:
		sub, err := p.need("SubscriptionArn")
		if err != nil {
			return err
		}
		// arn:aws:sns:region:account:topic:subscription-id
		i := strings.LastIndexByte(sub, ':')
		if i < 0 || strings.Count(sub, ":") != 6 {
			return &Error{Code: "InvalidParameter", Message: "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not " + sub}
		}
		p.call.Params["subscriptionArn"] = sub
		p.add(action, sub[:i], nil)
	case snsTagOps[op]:
		arn, err := p.need("ResourceArn")
		if err != nil {
			return err
		}
		topic(arn)
	case snsPlatformOps[op] != "":
		arn, err := p.need(snsPlatformOps[op])
		if err != nil {
			return err
		}
		p.add(action, arn, nil)
	case op == "CreatePlatformApplication" || op == "ListPlatformApplications":
		p.add(action, "*", nil)
	case op == "ListTopics" || op == "ListSubscriptions" || op == "CheckIfPhoneNumberIsOptedOut" ||
		op == "ListPhoneNumbersOptedOut" || op == "GetSMSAttributes" || op == "SetSMSAttributes":
		p.add(action, "*", nil)
	default:
		return p.unmodeled()
	}
	return nil
}
